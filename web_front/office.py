"""The supervision office's pages (电子监察室): the warning board by department with the warnings
themselves and their 督办 (instruct, see the reply and a late reply), a case's whole record, the
faults seen in cases (两头受理, late transfers, decisions without legal basis), the rectification
ledger with its follow-up calls and appeals to review, and the complaint register (a phone or
letter complaint registered for a person, its clock, its answer).

Every act goes to the supervision API with the officer's own credential; the API records who did
it and decides what may be done, these pages what to offer and how to explain it."""
from __future__ import annotations

import uuid
from collections import Counter
from urllib.parse import parse_qsl, urlencode

from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.staff import PostKind

from . import forms
from .apis import ApiError
from .app import expired_form, posted, render
from .oversight import Period, name_of, period_of
from .staff import Person, signed_in_at

OFFICERS = {PostKind.SUPERVISION_OFFICER.value}
PAGE_SIZE = 50
MOST_WARNINGS = 5000  # warnings of a period counted for the board, at most
COLOURS = {"yellow": spb.YELLOW, "red": spb.RED}
CHANNELS = {"phone": spb.PHONE, "letter": spb.LETTER, "mailbox": spb.MAILBOX}
RESOLUTION_NAMES = {spb.FIXED: "fixed", spb.LEDGER: "ledger", spb.EXPLAINED: "explained", spb.VOIDED: "voided"}
FIELD_ERRORS = {
    "instruction": "请写明督办要求（1000字以内）",
    "reply_days": "答复期限为1至30个工作日；不填按默认期限",
    "outcome": "请写明回访结果（1000字以内）",
    "upheld": "请选择申诉是否成立",
    "note": "请写明复核意见（1000字以内）",
    "channel": "请选择投诉渠道",
    "case_number": "办件编号为15位数字；不涉及具体办件可不填",
    "department": "请填写办件编号或选择被投诉的部门",
    "text": "请写明投诉的事情和经过（2000字以内）",
    "contact_name": "姓名不超过50字",
    "contact_phone": "请填写正确的联系电话",
    "contact_email": "请填写正确的电子邮箱",
}
_API_FIELDS = {"instruction": "instruction", "reply_days": "reply_days", "outcome": "outcome", "note": "note",
               "channel": "channel", "case_number": "case_number", "department": "department", "text": "text",
               "contact_name": "contact_name", "contact_phone": "contact_phone", "contact_email": "contact_email"}


async def _officer(request: Request) -> Person | Response:
    return await signed_in_at(request, OFFICERS, "本页面供电子监察人员使用",
                              "督办、差评整改复核和投诉登记由电子监察室办理。您登录的岗位不能使用本页面。")


def _errors(error: ApiError, values: dict) -> dict:
    found = {}
    for path, _ in error.fields:
        name = _API_FIELDS.get(path.rpartition(".")[2].partition("[")[0])
        if name in values or name in FIELD_ERRORS:
            found.setdefault(name, FIELD_ERRORS[name])
    return found


# --- the warning board --------------------------------------------------------------------------

def warning_state(w: spb.Warning) -> str:
    """Where a warning stands: withdrawn (the step ended in time), answered, awaiting the reply,
    instructed, or open (nobody has instructed yet)."""
    if w.withdrawn_on:
        return "withdrawn"
    if w.replied_on:
        return "late_reply" if w.reply_by and w.replied_on > w.reply_by else "replied"
    if w.instructed_on:
        return "awaiting_reply"
    return "open"


async def _warnings(person: Person, period: Period, department: str = "", colour: int = 0) -> list:
    warnings, token = [], ""
    while len(warnings) < MOST_WARNINGS:
        reply = await person.call(person.front.apis.supervision.ListWarnings, spb.ListWarningsRequest(
            period=period.message, department=department, colour=colour, page_size=500, page_token=token))
        warnings += reply.warnings
        token = reply.next_page_token
        if not token:
            break
    return warnings


def board_rows(org, warnings: list) -> list[dict]:
    """The board's table: per department, its yellow and red warnings, those instructed and not yet
    answered, and the replies that came late; the reddest first."""
    rows: dict[str, Counter] = {}
    for w in warnings:
        counts = rows.setdefault(w.department, Counter())
        counts["yellow" if w.colour == spb.YELLOW else "red"] += 1
        state = warning_state(w)
        counts[state] += 1
    return sorted(({"department": d, "name": name_of(org, d), **c} for d, c in rows.items()),
                  key=lambda r: (-r.get("red", 0), -r.get("yellow", 0), r["department"]))


async def board(request: Request, forms_shown: dict | None = None, problem: str | None = None, status: int = 200,
                query: dict | None = None):
    """预警督办: yellow and red warnings of a period by department, with drill-down to each
    warning and its case, and 督办 on any warning not withdrawn."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    q = request.query_params if query is None else query
    period = period_of(q, local_day(officer.front.now()))
    department = q.get("department", "")[:50]
    colour = q.get("colour", "")[:10]
    state = q.get("state", "")[:20]
    everything = await _warnings(officer, period)
    chosen = [w for w in everything if (not department or w.department == department)
              and (not colour or w.colour == COLOURS.get(colour)) and (not state or warning_state(w) == state)]
    chosen.sort(key=lambda w: (w.colour != spb.RED, w.deadline, w.id))
    page = max(int(q.get("page", "1")[:5]) if q.get("page", "1")[:5].isdigit() else 1, 1)
    pages = max((len(chosen) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    page = min(page, pages)
    filters = {"department": department, "colour": colour, "state": state}
    query = urlencode({**period.query, **{k: v for k, v in filters.items() if v}})
    return officer.page("office_board.html", status=status, period=period, rows=board_rows(officer.front.org, everything),
                        warnings=chosen[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], total=len(chosen), page=page,
                        pages=pages, query=query, filters=filters, period_query=urlencode(period.query),
                        departments=officer.front.org.departments, forms=forms_shown or {}, problem=problem,
                        blank=forms.Form({}), state_of=warning_state, name_of=lambda code: name_of(officer.front.org, code))


async def instruct(request: Request):
    """督办 on one warning: the instruction and the working days for the reply."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    data = await posted(request, officer.session.csrf)
    if data is None:
        return expired_form(request)
    warning_id = request.path_params["warning_id"]
    form = forms.Form({"instruction": str(data.get("instruction", "")).strip(),
                       "reply_days": str(data.get("reply_days", "")).strip()})
    v = form.values
    form.need("instruction", 0 < len(v["instruction"]) <= 1000, FIELD_ERRORS["instruction"])
    days = v["reply_days"]
    form.need("reply_days", not days or days.isdigit() and 1 <= int(days) <= 30, FIELD_ERRORS["reply_days"])
    back = str(data.get("back", ""))
    if form.ok:
        try:
            await officer.call(officer.front.apis.supervision.Instruct, spb.InstructRequest(
                warning_id=int(warning_id), instruction=v["instruction"], reply_days=int(days or 0)))
        except ApiError as error:
            if error.code == "NOT_FOUND":
                return render(request, "error.html", status=404, title="没有这个预警", text="没有找到这个预警。")
            if error.code not in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
                raise
            form.errors.update(_errors(error, v))
            problem = None if form.errors else "未能督办：%(why)s" % {"why": error.message}
            return await _board_again(request, back, {int(warning_id): form}, problem)
        return RedirectResponse(f"/office?{_safe_query(back)}#warning-{warning_id}", status_code=303)
    return await _board_again(request, back, {int(warning_id): form})


def _safe_query(text: str) -> str:
    """A board address's query kept through a form (only the board's own parameters)."""
    kept = {k: v[:20] for k, v in parse_qsl(text[:300]) if k in ("month", "from", "to", "department", "colour",
                                                                 "state", "page")}
    return urlencode(kept)


async def _board_again(request: Request, back: str, forms_shown: dict, problem: str | None = None):
    return await board(request, forms_shown, problem, status=400, query=dict(parse_qsl(_safe_query(back))))


# --- one case's record ----------------------------------------------------------------------------

async def case_record(request: Request):
    """A case as the office sees it: the applicant masked, its history, each department's progress."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    number = request.path_params["number"]
    if not forms.CASE_NUMBER.fullmatch(number):
        return render(request, "error.html", status=404, title="没有这个办件", text="没有找到这个办件。")
    try:
        case = await officer.call(officer.front.apis.intake.GetCase, ipb.GetCaseRequest(case_number=number))
    except ApiError as error:
        if error.code == "NOT_FOUND":
            return render(request, "error.html", status=404, title="没有这个办件", text="没有找到这个办件。")
        raise
    try:
        progress = await officer.call(officer.front.apis.desk.GetProgress, dpb.GetProgressRequest(case_number=number))
    except ApiError as error:
        if error.code != "NOT_FOUND":
            raise
        progress = None
    stages: dict[int, list] = {}
    for t in progress.tasks if progress else ():
        stages.setdefault(t.stage, []).append((t, name_of(officer.front.org, t.department)))
    return officer.page("office_case.html", case=case, stages=sorted(stages.items()),
                        organisation=name_of(officer.front.org, case.organisation))


# --- faults ---------------------------------------------------------------------------------------

async def faults(request: Request):
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    q = request.query_params
    period = period_of(q, local_day(officer.front.now()))
    department = q.get("department", "")[:50]
    reply = await officer.call(officer.front.apis.supervision.ListFaults,
                               spb.ListFaultsRequest(period=period.message, department=department))
    kinds = Counter(f.kind for f in reply.faults)
    return officer.page("office_faults.html", period=period, faults=list(reply.faults), kinds=kinds,
                        department=department, departments=officer.front.org.departments,
                        name_of=lambda code: name_of(officer.front.org, code))


# --- the rectification ledger ---------------------------------------------------------------------

async def rectifications(request: Request, forms_shown: dict | None = None, problem: str | None = None,
                         status: int = 200):
    """差评整改台账: every bad rating's item, open ones first, with its follow-up call (回访) and an
    appeal (申诉) to review (复核)."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    q = request.query_params
    open_only = q.get("all", "") != "1"
    token = q.get("page_token", "")[:200]
    reply = await officer.call(officer.front.apis.supervision.ListRectifications, spb.ListRectificationsRequest(
        department=q.get("department", "")[:50], open_only=open_only, page_size=PAGE_SIZE, page_token=token))
    return officer.page("office_rectifications.html", status=status, items=list(reply.items),
                        next_token=reply.next_page_token, open_only=open_only, department=q.get("department", "")[:50],
                        departments=officer.front.org.departments, forms=forms_shown or {}, problem=problem,
                        blank=forms.Form({}), resolution_names=RESOLUTION_NAMES, name_of=lambda code: name_of(officer.front.org, code))


async def rectification_act(request: Request):
    """A follow-up call's outcome, or the review of an appeal, on one rectification item."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    data = await posted(request, officer.session.csrf)
    if data is None:
        return expired_form(request)
    rating_id, action = int(request.path_params["rating_id"]), request.path_params["action"]
    if action == "follow-up":
        form = forms.Form({"outcome": str(data.get("outcome", "")).strip()})
        form.need("outcome", 0 < len(form.values["outcome"]) <= 1000, FIELD_ERRORS["outcome"])
        method, message = "FollowUp", spb.FollowUpRequest(rating_id=rating_id, outcome=form.values["outcome"])
    elif action == "review":
        form = forms.Form({"upheld": str(data.get("upheld", "")), "note": str(data.get("note", "")).strip()})
        form.need("upheld", form.values["upheld"] in ("yes", "no"), FIELD_ERRORS["upheld"])
        form.need("note", 0 < len(form.values["note"]) <= 1000, FIELD_ERRORS["note"])
        method, message = "ReviewAppeal", spb.ReviewAppealRequest(
            rating_id=rating_id, upheld=form.values["upheld"] == "yes", note=form.values["note"])
    else:
        return render(request, "error.html", status=404, title="没有这个页面", text="没有找到这个页面。")
    if form.ok:
        try:
            await officer.call(getattr(officer.front.apis.supervision, method), message)
        except ApiError as error:
            if error.code == "NOT_FOUND":
                return render(request, "error.html", status=404, title="没有这个整改事项", text="没有找到这个整改事项。")
            if error.code not in ("INVALID_ARGUMENT", "FAILED_PRECONDITION"):
                raise
            form.errors.update(_errors(error, form.values))
            problem = None if form.errors else "未能办理：%(why)s" % {"why": error.message}
            return await rectifications(request, {(rating_id, action): form}, problem, status=400)
        return RedirectResponse(f"/office/rectifications#item-{rating_id}", status_code=303)
    return await rectifications(request, {(rating_id, action): form}, status=400)


# --- the complaint register -----------------------------------------------------------------------

async def complaints(request: Request, form: forms.Form | None = None, problem: str | None = None,
                     status: int = 200):
    """投诉登记: register a phone, letter or mailbox complaint for a person; every complaint with its
    clock and its answer."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    q = request.query_params
    open_only = q.get("all", "") != "1"
    reply = await officer.call(officer.front.apis.supervision.ListComplaints, spb.ListComplaintsRequest(
        open_only=open_only, page_size=PAGE_SIZE, page_token=q.get("page_token", "")[:200]))
    form = form or forms.Form({"request_id": uuid.uuid4().hex, "channel": "phone"})
    return officer.page("office_complaints.html", status=status, complaints=list(reply.complaints),
                        next_token=reply.next_page_token, open_only=open_only, form=form, problem=problem,
                        departments=officer.front.org.departments, channels=CHANNELS,
                        registered=q.get("registered", "")[:20], name_of=lambda code: name_of(officer.front.org, code))


def register_form(data) -> forms.Form:
    names = ("request_id", "channel", "case_number", "department", "text", "contact_name", "contact_phone",
             "contact_email")
    form = forms.Form({n: str(data.get(n, "")).strip() for n in names})
    v = form.values
    form.need("channel", v["channel"] in CHANNELS, FIELD_ERRORS["channel"])
    form.need("case_number", not v["case_number"] or bool(forms.CASE_NUMBER.fullmatch(v["case_number"])),
              FIELD_ERRORS["case_number"])
    form.need("department", bool(v["case_number"] or v["department"]), FIELD_ERRORS["department"])
    form.need("text", 0 < len(v["text"]) <= 2000, FIELD_ERRORS["text"])
    form.need("contact_name", len(v["contact_name"]) <= 50, FIELD_ERRORS["contact_name"])
    form.need("contact_phone", not v["contact_phone"] or bool(forms.PHONE.fullmatch(v["contact_phone"])),
              FIELD_ERRORS["contact_phone"])
    form.need("contact_email", not v["contact_email"] or "@" in v["contact_email"] and len(v["contact_email"]) <= 200,
              FIELD_ERRORS["contact_email"])
    if not v["request_id"] or len(v["request_id"]) > 64:
        v["request_id"] = uuid.uuid4().hex
    return form


async def register_complaint(request: Request):
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    data = await posted(request, officer.session.csrf)
    if data is None:
        return expired_form(request)
    form = register_form(data)
    if not form.ok:
        return await complaints(request, form, status=400)
    v = form.values
    try:
        complaint = await officer.call(officer.front.apis.supervision.Complain, spb.ComplainRequest(
            request_id=v["request_id"], channel=CHANNELS[v["channel"]], case_number=v["case_number"],
            department=v["department"], text=v["text"], contact_name=v["contact_name"],
            contact_phone=v["contact_phone"], contact_email=v["contact_email"]))
    except ApiError as error:
        if error.code not in ("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION"):
            raise
        form.errors.update(_errors(error, v))
        problem = None if form.errors else "未能登记：%(why)s" % {"why": error.message}
        return await complaints(request, form, problem, status=400)
    return RedirectResponse(f"/office/complaints?registered={complaint.id}#complaint-{complaint.id}", status_code=303)


ROUTES = [
    Route("/office", board),
    Route("/office/warnings/{warning_id:int}/instruct", instruct, methods=["POST"]),
    Route("/office/cases/{number}", case_record),
    Route("/office/faults", faults),
    Route("/office/rectifications", rectifications),
    Route("/office/rectifications/{rating_id:int}/{action}", rectification_act, methods=["POST"]),
    Route("/office/complaints", complaints),
    Route("/office/complaints", register_complaint, methods=["POST"]),
]
