"""The public's pages, no sign-in: the guide (办事指南), the case lookup (办件查询), the online rating
from the receipt's QR code, the online complaint and its answer, and the hall board (大屏)."""
from __future__ import annotations

import logging
import uuid

from onewindow.intake.v1 import intake_pb2 as intake
from onewindow.supervision.v1 import supervision_pb2 as supervision
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from . import forms, i18n, labels
from .apis import ApiError
from .app import Front, client, expired_form, front_of, posted, render
from .links import BadLink, ExpiredLink
from .pad import paired_board

log = logging.getLogger(__name__)
PAGE_SIZE = 20
TRY_LATER = "查询过于频繁，请稍后再试"


async def home(request: Request):
    return render(request, "home.html")


async def guide(request: Request):
    query = request.query_params.get("q", "").strip()[:50]
    department = request.query_params.get("department", "").strip()[:50]
    token = request.query_params.get("page", "")[:200]
    front = front_of(request)
    try:
        reply = await front.apis.call(front.apis.intake.ListItems, intake.ListItemsRequest(
            query=query, department=department, page_size=PAGE_SIZE, page_token=token), client(request))
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT":
            raise
        return render(request, "guide.html", status=400, query=query, department=department, items=[],
                      departments=[], total=0, next_page="", problem="查询条件有误，请重新查询")
    return render(request, "guide.html", query=query, department=department, items=reply.items,
                  departments=reply.departments, total=reply.total, next_page=reply.next_page_token,
                  first_page=bool(token), labels=labels)


async def _item(request: Request):
    front = front_of(request)
    code = request.path_params["code"][:50]
    try:
        return await front.apis.call(front.apis.intake.GetItem, intake.GetItemRequest(code=code), client(request))
    except ApiError as error:
        if error.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
            return None
        raise


async def item(request: Request):
    found = await _item(request)
    if found is None:
        return render(request, "error.html", status=404, title="没有这个事项", text="该事项不存在或已停止办理。")
    return render(request, "item.html", item=found, labels=labels)


async def checklist(request: Request):
    found = await _item(request)
    if found is None:
        return render(request, "error.html", status=404, title="没有这个事项", text="该事项不存在或已停止办理。")
    return render(request, "checklist.html", item=found, labels=labels)


async def _look_up(request: Request, template: str, check, ask, not_found: str, show):
    """The public's lookups (a case, a complaint): a number and the phone's last 4 digits, posted,
    never in an address. `check` the form, `ask` the API with its values, `show` what it found; an
    unknown number and wrong digits read the same (`not_found`), past the limit the page says to
    try later."""
    if request.method == "GET":
        return render(request, template, form=forms.Form({}))
    data = await posted(request)
    if data is None:
        return expired_form(request)
    form = check(data)
    if not form.ok:
        return render(request, template, status=400, form=form)
    try:
        found = await ask(form.values)
    except ApiError as error:
        if error.code == "RESOURCE_EXHAUSTED":
            return render(request, template, status=429, form=form, problem=TRY_LATER)
        if error.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
            return render(request, template, status=404, form=form, problem=not_found)
        raise
    return show(form, found)


async def lookup(request: Request):
    front = front_of(request)
    return await _look_up(
        request, "lookup.html", forms.lookup_form,
        lambda v: front.apis.call(front.apis.intake.Track, intake.TrackRequest(
            case_number=v["case_number"], phone_last4=v["phone_last4"]), client(request)),
        "没有找到与办件编号和手机号后4位相符的办件，请核对后再查",
        lambda form, case: render(request, "lookup.html", form=form, case=case, labels=labels,
                                  rating_path=front.links.path(case.case_number)))


async def rate(request: Request):
    front = front_of(request)
    try:
        case_number = front.links.case_of(request.path_params["token"])
    except ExpiredLink:
        return render(request, "rate.html", status=410, state="expired")
    except BadLink:
        return render(request, "rate.html", status=404, state="bad")
    if request.method == "GET":
        return render(request, "rate.html", state="form", case_number=case_number, labels=labels,
                      tags=forms.RATING_TAGS, chosen=[], form=forms.Form({"level": "", "comment": ""}),
                      request_id=uuid.uuid4().hex)
    data = await posted(request)
    if data is None:
        return expired_form(request)
    form, tags = forms.rating_form(data)
    request_id = str(data.get("request_id", ""))[:64] or uuid.uuid4().hex
    if not form.ok:
        return render(request, "rate.html", status=400, state="form", case_number=case_number, labels=labels,
                      tags=forms.RATING_TAGS, chosen=tags, form=form, request_id=request_id)
    comment = "".join(f"【{t}】" for t in tags) + form.values["comment"]
    try:
        rating = await front.apis.call(front.apis.supervision.Rate, supervision.RateRequest(
            request_id=f"web-{request_id}", case_number=case_number, channel=supervision.ONLINE,
            level=int(form.values["level"]), rater="applicant", comment=comment), client(request), as_front=True)
    except ApiError as error:
        if error.code in ("ALREADY_EXISTS", "FAILED_PRECONDITION"):
            return render(request, "rate.html", status=409, state="used", case_number=case_number)
        if error.code == "NOT_FOUND":
            return render(request, "rate.html", status=404, state="bad")
        raise
    return render(request, "rate.html", state="done", case_number=case_number, rating=rating)


async def _departments(front: Front, request: Request):
    reply = await front.apis.call(front.apis.intake.ListItems, intake.ListItemsRequest(page_size=1), client(request))
    return reply.departments


async def complain(request: Request):
    front = front_of(request)
    departments = await _departments(front, request)
    empty = forms.Form({"case_number": "", "department": "", "text": "", "contact_name": "", "contact_phone": ""})
    if request.method == "GET":
        return render(request, "complain.html", form=empty, departments=departments, request_id=uuid.uuid4().hex)
    data = await posted(request)
    if data is None:
        return expired_form(request)
    form = forms.complaint_form(data)
    request_id = str(data.get("request_id", ""))[:64] or uuid.uuid4().hex
    page = dict(form=form, departments=departments, request_id=request_id)
    if form.ok:
        v = form.values
        try:
            complaint = await front.apis.call(front.apis.supervision.Complain, supervision.ComplainRequest(
                request_id=f"web-{request_id}", channel=supervision.ONLINE_FORM, case_number=v["case_number"],
                department=v["department"], text=v["text"], contact_name=v["contact_name"],
                contact_phone=v["contact_phone"]), client(request), as_front=True)
        except ApiError as error:
            if error.code == "RESOURCE_EXHAUSTED":
                return render(request, "complain.html", status=429, problem="提交过于频繁，请稍后再试", **page)
            if error.code in ("INVALID_ARGUMENT", "NOT_FOUND"):
                form.errors.update({f: r for f, r in error.fields if f in form.values} or
                                   {"case_number": "没有这个办件，请核对办件编号"})
                return render(request, "complain.html", status=400, **page)
            raise
        return render(request, "complaint_done.html", complaint=complaint)
    return render(request, "complain.html", status=400, **page)


async def complaint_lookup(request: Request):
    front = front_of(request)
    return await _look_up(
        request, "complaint_lookup.html", forms.complaint_lookup_form,
        lambda v: front.apis.call(front.apis.supervision.LookUpComplaint, supervision.LookUpComplaintRequest(
            complaint_id=int(v["complaint_id"]), phone_last4=v["phone_last4"]), client(request)),
        "没有找到与投诉编号和手机号后4位相符的投诉，请核对后再查",
        lambda form, complaint: render(request, "complaint_lookup.html", form=form, complaint=complaint))


def _board_view(board, centre: str) -> dict:
    centres = [r for r in board.centres if not centre or r.code == centre]
    windows = [r for r in board.windows if not centre or r.centre == centre]
    return {"board": board, "centres": centres, "windows": windows, "centre": centre}


async def board(request: Request):
    """The hall board: a paired board shows its centre; any other browser the one `?centre=` names, or all."""
    front = front_of(request)
    paired = await paired_board(request)
    centre = paired.organisation if paired else request.query_params.get("centre", "")[:50]
    current = await front.board.current()
    if centre and not paired and centre not in {r.code for r in current.centres}:
        return RedirectResponse("/board", status_code=303)
    return render(request, "board.html", all_centres=current.centres, paired=paired, **_board_view(current, centre))


async def board_events(request: Request):
    front = front_of(request)
    paired = await paired_board(request)
    centre = paired.organisation if paired else request.query_params.get("centre", "")[:50]
    locale = i18n.choose(request.query_params.get("lang"), request.cookies.get("lang"))
    fragment = front.templates.get_template("_board.html")

    async def events():
        async for current in front.board.changes():
            i18n.use(locale)
            yield {"event": "board", "data": fragment.render(_=i18n.gettext_, **_board_view(current, centre)),
                   "retry": 2000}

    return EventSourceResponse(events(), ping=15)


async def not_found(request: Request, exc):
    return render(request, "error.html", status=404, title="页面不存在", text="您要找的页面不存在。")


async def failed(request: Request, exc):
    """An API away or refusing unexpectedly (one line in the log, no trace), or a fault of the page's."""
    if isinstance(exc, ApiError):
        log.warning("%s %s: %s %s", request.method, request.url.path, exc.code, exc.message)
    return render(request, "error.html", status=503, title="暂时无法办理",
                  text="系统暂时无法完成您的请求，请稍后再试。如急需办理，请到窗口咨询。")


ROUTES = [
    Route("/", home),
    Route("/guide", guide),
    Route("/guide/{code}", item),
    Route("/guide/{code}/checklist", checklist),
    Route("/lookup", lookup, methods=["GET", "POST"]),
    Route("/rate/{token}", rate, methods=["GET", "POST"]),
    Route("/complaints", complain, methods=["GET", "POST"]),
    Route("/complaints/lookup", complaint_lookup, methods=["GET", "POST"]),
    Route("/board", board),
    Route("/board/events", board_events),
]
