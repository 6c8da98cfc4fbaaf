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

from . import forms, i18n
from .apis import ApiError
from .app import render, staff_act
from .oversight import name_of, period_of
from .staff import Person, signed_in_at

OFFICERS = {PostKind.SUPERVISION_OFFICER.value}
PAGE_SIZE = 50
COLOURS = {"yellow": spb.YELLOW, "red": spb.RED}
CHANNELS = {"phone": spb.PHONE, "letter": spb.LETTER, "mailbox": spb.MAILBOX}
COMPLAINT_KINDS = {"service": spb.SERVICE, "agent_fee": spb.AGENT_FEE}
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
    "kind": "请选择投诉类别",
    "agent": "代办员收费的投诉：请选择收费的代办员，或填写其代办的办件编号",
    "text": "请写明投诉的事情和经过（2000字以内）",
    "contact_name": "姓名不超过50字",
    "contact_phone": "请填写正确的联系电话",
    "contact_email": "请填写正确的电子邮箱",
    "review": "请写明审查和处理意见（2000字以内）",
}
_API_FIELDS = {"instruction": "instruction", "reply_days": "reply_days", "outcome": "outcome", "note": "note",
               "channel": "channel", "case_number": "case_number", "department": "department", "text": "text",
               "contact_name": "contact_name", "contact_phone": "contact_phone", "contact_email": "contact_email",
               "agent": "agent", "kind": "kind"}


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


def refusal(error: ApiError, form: forms.Form, failed: str, codes=("INVALID_ARGUMENT", "FAILED_PRECONDITION")):
    """What a form shows when the API refuses its act: the fields at fault, else `failed` with the
    API's reason; an error of any other kind is raised again."""
    if error.code not in codes:
        raise error
    for name, message in _errors(error, form.values).items():
        form.errors.setdefault(name, message)
    return None if form.errors else i18n.said(failed, why=error.message)


# --- the warning board --------------------------------------------------------------------------

BOARD_GROUPS = {"department": spb.DEPARTMENT, "item": spb.ITEM, "level": spb.LEVEL, "centre": spb.CENTRE}
STATES = {"open": "open_only", "instructed": "instructed_unreplied", "late": "late_replies"}  # the API's filters
BOARD_KEYS = ("month", "from", "to", "by", "department", "item", "level", "centre", "colour", "state", "page_token")


def warning_state(w: spb.Warning) -> str:
    """Where a warning stands: withdrawn (the step ended in time), answered (late or not), awaiting
    the reply to an instruction, or open (nobody has instructed yet)."""
    if w.withdrawn_on:
        return "withdrawn"
    if w.replied_on:
        return "late_reply" if w.reply_by and w.replied_on > w.reply_by else "replied"
    if w.instructed_on:
        return "awaiting_reply"
    return "open"


def board_query(q) -> dict:
    """The board's own parameters of an address (what a 督办 form carries back), each cut short."""
    return {k: str(q.get(k, ""))[:200 if k == "page_token" else 20] for k in BOARD_KEYS if q.get(k)}


async def board(request: Request, forms_shown: dict | None = None, problem: str | None = None, status: int = 200,
                query: dict | None = None):
    """预警督办: the yellow and red warnings of a period counted by department, item, level or centre
    (one call), each count a link to those warnings; the warnings themselves, filtered the same way,
    with 督办 offered on any not yet instructed."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    q = board_query(request.query_params if query is None else query)
    period = period_of(q, local_day(officer.front.now()))
    by = q.get("by", "department") if q.get("by") in BOARD_GROUPS else "department"
    chosen = {k: q.get(k, "") for k in ("department", "item", "level", "centre", "colour", "state")}
    filters = spb.WarningFilters(item=chosen["item"], level=chosen["level"], centre=chosen["centre"],
                                 **({STATES[chosen["state"]]: True} if chosen["state"] in STATES else {}))
    sup = officer.front.apis.supervision
    counted = await officer.call(sup.CountWarnings, spb.CountWarningsRequest(
        period=period.message, group_by=BOARD_GROUPS[by], department=chosen["department"], filters=filters))
    listed = await officer.call(sup.ListWarnings, spb.ListWarningsRequest(
        period=period.message, department=chosen["department"], colour=COLOURS.get(chosen["colour"], 0),
        filters=filters, page_size=PAGE_SIZE, page_token=q.get("page_token", "")))
    org = officer.front.org
    rows = sorted(counted.counts, key=lambda c: (-c.red, -c.yellow, c.key))
    narrowed = {k: v for k, v in chosen.items() if v}
    here = urlencode({**period.query, "by": by, **narrowed})
    return officer.page("office_board.html", status=status, period=period, by=by, groups=BOARD_GROUPS, rows=rows,
                        warnings=list(listed.warnings), next_token=listed.next_page_token, chosen=chosen,
                        here=here, period_query=urlencode(period.query), narrowed=narrowed,
                        back=urlencode({**period.query, "by": by, **narrowed, **({"page_token": q["page_token"]}
                                                                                   if q.get("page_token") else {})}),
                        departments=org.departments, forms=forms_shown or {}, problem=problem, blank=forms.Form({}),
                        state_of=warning_state, name_of=lambda code: name_of(org, code) if code else "—")


@staff_act(_officer)
async def instruct(request: Request, officer, data):
    """督办 on one warning: the instruction and the working days for the reply."""
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
            return await _board_again(request, back, {int(warning_id): form},
                                      refusal(error, form, "未能督办：%(why)s"))
        return RedirectResponse(f"/office?{urlencode(board_query(dict(parse_qsl(back[:600]))))}#warning-{warning_id}",
                                status_code=303)
    return await _board_again(request, back, {int(warning_id): form})


async def _board_again(request: Request, back: str, forms_shown: dict, problem: str | None = None):
    return await board(request, forms_shown, problem, status=400, query=dict(parse_qsl(back[:600])))


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


@staff_act(_officer)
async def rectification_act(request: Request, officer, data):
    """A follow-up call's outcome, or the review of an appeal, on one rectification item."""
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
            return await rectifications(request, {(rating_id, action): form},
                                        refusal(error, form, "未能办理：%(why)s"), status=400)
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
    form = form or forms.Form({"request_id": uuid.uuid4().hex, "channel": "phone", "kind": "service"})
    return officer.page("office_complaints.html", status=status, complaints=list(reply.complaints),
                        next_token=reply.next_page_token, open_only=open_only, form=form, problem=problem,
                        departments=officer.front.org.departments, channels=CHANNELS, agents=officer.front.org.agents,
                        fee=spb.AGENT_FEE,
                        registered=q.get("registered", "")[:20], name_of=lambda code: name_of(officer.front.org, code))


def register_form(data) -> forms.Form:
    names = ("request_id", "kind", "channel", "case_number", "department", "agent", "text", "contact_name",
             "contact_phone", "contact_email")
    form = forms.Form({n: str(data.get(n, "")).strip() for n in names})
    v = form.values
    v["kind"] = v["kind"] or "service"
    form.need("kind", v["kind"] in COMPLAINT_KINDS, FIELD_ERRORS["kind"])
    form.need("channel", v["channel"] in CHANNELS, FIELD_ERRORS["channel"])
    form.need("case_number", not v["case_number"] or bool(forms.CASE_NUMBER.fullmatch(v["case_number"])),
              FIELD_ERRORS["case_number"])
    if v["kind"] == "agent_fee":  # 无偿代办: against the agent named, or the one who carried the case
        form.need("agent", bool(v["case_number"] or v["agent"]), FIELD_ERRORS["agent"])
    else:
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


@staff_act(_officer)
async def register_complaint(request: Request, officer, data):
    form = register_form(data)
    if not form.ok:
        return await complaints(request, form, status=400)
    v = form.values
    try:
        complaint = await officer.call(officer.front.apis.supervision.Complain, spb.ComplainRequest(
            request_id=v["request_id"], channel=CHANNELS[v["channel"]], case_number=v["case_number"],
            kind=COMPLAINT_KINDS[v["kind"]], agent=v["agent"] if v["kind"] == "agent_fee" else "",
            department=v["department"] if v["kind"] == "service" else "", text=v["text"],
            contact_name=v["contact_name"], contact_phone=v["contact_phone"], contact_email=v["contact_email"]))
    except ApiError as error:
        problem = refusal(error, form, "未能登记：%(why)s", ("INVALID_ARGUMENT", "NOT_FOUND", "FAILED_PRECONDITION"))
        return await complaints(request, form, problem, status=400)
    return RedirectResponse(f"/office/complaints?registered={complaint.id}#complaint-{complaint.id}", status_code=303)


# --- supervision suggestions ---------------------------------------------------------------------

async def suggestions(request: Request, forms_shown: dict | None = None, problem: str | None = None,
                      status: int = 200):
    """监察建议: raised when a department's red warnings of a month reach the county's number; the
    office reviews each and closes it with what it decided."""
    officer = await _officer(request)
    if isinstance(officer, Response):
        return officer
    q = request.query_params
    open_only = q.get("all", "") != "1"
    reply = await officer.call(officer.front.apis.supervision.ListSuggestions, spb.ListSuggestionsRequest(
        open_only=open_only, page_size=PAGE_SIZE, page_token=q.get("page_token", "")[:200]))
    return officer.page("office_suggestions.html", status=status, suggestions=list(reply.suggestions),
                        next_token=reply.next_page_token, open_only=open_only, forms=forms_shown or {},
                        problem=problem, blank=forms.Form({}), name_of=lambda code: name_of(officer.front.org, code))


@staff_act(_officer)
async def close_suggestion(request: Request, officer, data):
    suggestion_id = int(request.path_params["suggestion_id"])
    form = forms.Form({"note": str(data.get("note", "")).strip()})
    form.need("note", 0 < len(form.values["note"]) <= 2000, FIELD_ERRORS["review"])
    if form.ok:
        try:
            await officer.call(officer.front.apis.supervision.CloseSuggestion, spb.CloseSuggestionRequest(
                suggestion_id=suggestion_id, note=form.values["note"]))
        except ApiError as error:
            if error.code == "NOT_FOUND":
                return render(request, "error.html", status=404, title="没有这条建议", text="没有找到这条监察建议。")
            if error.code == "INVALID_ARGUMENT":
                form.errors["note"] = FIELD_ERRORS["review"]  # the note is the suggestion's only field
            return await suggestions(request, {suggestion_id: form}, refusal(error, form, "未能办结：%(why)s"),
                                     status=400)
        return RedirectResponse(f"/office/suggestions?all=1#suggestion-{suggestion_id}", status_code=303)
    return await suggestions(request, {suggestion_id: form}, status=400)


ROUTES = [
    Route("/office", board),
    Route("/office/warnings/{warning_id:int}/instruct", instruct, methods=["POST"]),
    Route("/office/cases/{number}", case_record),
    Route("/office/faults", faults),
    Route("/office/rectifications", rectifications),
    Route("/office/rectifications/{rating_id:int}/{action}", rectification_act, methods=["POST"]),
    Route("/office/complaints", complaints),
    Route("/office/complaints", register_complaint, methods=["POST"]),
    Route("/office/suggestions", suggestions),
    Route("/office/suggestions/{suggestion_id:int}/close", close_suggestion, methods=["POST"]),
]
