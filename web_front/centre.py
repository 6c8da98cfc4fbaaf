"""The centre manager's pages (中心主任): the centre's windows and the people at each post (A and B),
who is away and marking someone away or back, the pool of tasks nobody holds and moving tasks to
another holder; the rectification items of the centre's acceptance acts to close; the monthly window
assessment with its red-flag windows; the duty rota (带班领导) and a change of a day.

Every read and act goes to the APIs with the manager's own credential (identity's GetCentre and
duty rota, the desk API's away notices, pool and moves, supervision's rectifications and
assessment): the APIs decide what a manager may do, these pages only what to show."""
from __future__ import annotations

import datetime as dt
import re

from onewindow.desk.v1 import desk_pb2 as dpb
from onewindow.identity.v1 import identity_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.staff import PostKind

from . import forms, i18n
from .apis import ApiError
from .app import render, staff_act
from .staff import Person, not_yours, signed_in_at

MANAGERS = {PostKind.CENTRE_MANAGER.value}
DUTY_DAYS = 14  # the rota shown from today on
MOST_POOL = 500
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")
TASK_ID = re.compile(r"\d{15}\.[\w.-]{1,100}")
RESOLUTIONS = {"fixed": spb.FIXED, "ledger": spb.LEDGER, "explained": spb.EXPLAINED}
RESOLUTION_NAMES = {spb.FIXED: "立行立改", spb.LEDGER: "限期整改（列入台账）", spb.EXPLAINED: "解释说明",
                    spb.VOIDED: "申诉成立，评价作废"}
DONE = {"away": "已登记外出，期间新件转B岗", "back": "已登记返回", "moved": "已移交", "rectify": "整改已办结",
        "follow_up": "回访已记录", "appeal": "申诉已提交，等待电子监察复核", "duty": "值班已调整"}
FIELD_ERRORS = {
    "staff_number": "请选择本中心的工作人员", "back_at": "返回时间须晚于现在，且不超过90天",
    "note": "请写明去向（500字以内）", "task_ids": "请选择要移交的承办件（至多100件，每件一次），或填写办件的任务编号",
    "to_staff_number": "请选择接收的承办人（须在该件的窗口或办理室任承办岗）", "reason": "请写明原因（500字以内）",
    "resolution": "请选择整改方式", "rectify_note": "请写明整改情况（2000字以内）",
    "outcome": "请写明回访情况（2000字以内）", "appeal_reason": "请写明申诉理由（2000字以内）",
    "day": "请选择今天或以后的日期", "on_duty": "请选择在此任值班岗位的人员（带班领导或本室村干部；非工作日可不选）",
    "duty_reason": "请写明调整原因（换班、病假等，500字以内）",
}
NOT_YOURS = "这不是本中心的事项"


async def _manager(request: Request) -> Person | Response:
    return await signed_in_at(request, MANAGERS, "本页面供中心主任使用",
                              "中心管理页面供中心主任使用。您登录的岗位没有这项职责。")


async def _centre(manager: Person) -> ipb.Centre:
    return await manager.call(manager.front.apis.identity.GetCentre, ipb.GetCentreRequest())


def _people(centre: ipb.Centre) -> dict[str, str]:
    """Staff number -> name of everyone holding a post at the centre."""
    return {h.staff_number: h.name for o in centre.organisations for s in o.seats for h in s.holders}


def _holders_of(centre: ipb.Centre, kind: str) -> list[tuple[str, str, str]]:
    """(staff number, name, where) of the holders of a kind of post at the centre, once each."""
    found: dict[str, tuple[str, str, str]] = {}
    for o in centre.organisations:
        for s in o.seats:
            if s.kind == kind:
                for h in s.holders:
                    found.setdefault(h.staff_number, (h.staff_number, h.name, o.name))
    return list(found.values())


def _errors(error: ApiError, names: dict[str, str]) -> dict[str, str]:
    """The API's refused fields as the form's (`names`: the API's field -> the form's)."""
    found = {}
    for path, _ in error.fields:
        name = names.get(path.partition("[")[0].rpartition(".")[2])
        if name:
            found.setdefault(name, FIELD_ERRORS[name])
    return found


def _text(data, *names: str) -> dict:
    return {n: str(data.get(n, "")).strip() for n in names}


# --- windows, people, away, the pool -------------------------------------------------------------

async def overview(request: Request, shown: dict | None = None, problem: str | None = None, status: int = 200):
    manager = await _manager(request)
    if isinstance(manager, Response):
        return manager
    apis = manager.front.apis
    centre = await _centre(manager)
    people = _people(centre)
    away = [n for n in (await manager.call(apis.desk.ListAway, dpb.ListAwayRequest())).notices
            if n.staff_number in people]
    codes = {o.code for o in centre.organisations}
    pool, token = [], ""
    while len(pool) < MOST_POOL:
        reply = await manager.call(apis.desk.ListPool, dpb.ListPoolRequest(page_size=500, page_token=token))
        pool += [t for t in reply.tasks if t.organisation in codes]
        token = reply.next_page_token
        if not token:
            break
    names = {o.code: o.name for o in centre.organisations}
    forms_shown = {"away": forms.Form({}), "move": forms.Form({"task_ids": []})}
    forms_shown.update(shown or {})
    return manager.page("centre.html", status=status, centre=centre, away={n.staff_number: n for n in away},
                        pool=pool, names=names, people=sorted(people.items()),
                        handlers=_holders_of(centre, PostKind.HANDLER.value), forms=forms_shown, problem=problem,
                        done=DONE.get(request.query_params.get("done", "")), today=local_day(manager.front.now()))


@staff_act(_manager)
async def mark_away(request: Request, manager, data):
    form = forms.Form(_text(data, "staff_number", "back_at", "note"))
    v = form.values
    form.need("staff_number", bool(v["staff_number"]), FIELD_ERRORS["staff_number"])
    form.need("back_at", bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?", v["back_at"])),
              FIELD_ERRORS["back_at"])
    form.need("note", 0 < len(v["note"]) <= 500, FIELD_ERRORS["note"])
    if not form.ok:
        return await overview(request, {"away": form}, status=400)
    try:
        await manager.call(manager.front.apis.desk.SetAway, dpb.SetAwayRequest(
            staff_number=v["staff_number"], back_at=v["back_at"], note=v["note"]))
    except ApiError as error:
        if error.code in ("PERMISSION_DENIED", "NOT_FOUND"):
            form.errors["staff_number"] = FIELD_ERRORS["staff_number"]
        elif error.code == "INVALID_ARGUMENT":
            form.errors.update(_errors(error, {"back_at": "back_at", "note": "note", "staff_number": "staff_number"}))
        else:
            raise
        return await overview(request, {"away": form}, status=400)
    return RedirectResponse("/centre?done=away", status_code=303)


@staff_act(_manager)
async def mark_back(request: Request, manager, data):
    staff_number = str(data.get("staff_number", "")).strip()[:32]
    try:
        await manager.call(manager.front.apis.desk.ClearAway, dpb.ClearAwayRequest(staff_number=staff_number))
    except ApiError as error:
        if error.code in ("PERMISSION_DENIED", "NOT_FOUND", "INVALID_ARGUMENT"):
            return not_yours(request, "此人不在本中心，不能为其登记返回")
        raise
    return RedirectResponse("/centre?done=back", status_code=303)


@staff_act(_manager)
async def move(request: Request, manager, data):
    """Move open tasks to another holder of the handler post, all or none (the desk API's rule)."""
    chosen = [str(t) for t in data.getlist("task_ids")][:101]
    form = forms.Form({**_text(data, "other_tasks", "to_staff_number", "reason"), "task_ids": chosen})
    v = form.values
    typed = [t for t in re.split(r"[\s,，]+", v["other_tasks"]) if t]
    tasks = list(dict.fromkeys(chosen + typed))
    form.need("task_ids", 0 < len(tasks) <= 100 and all(TASK_ID.fullmatch(t) for t in tasks),
              FIELD_ERRORS["task_ids"])
    form.need("to_staff_number", bool(v["to_staff_number"]), FIELD_ERRORS["to_staff_number"])
    form.need("reason", 0 < len(v["reason"]) <= 500, FIELD_ERRORS["reason"])
    if not form.ok:
        return await overview(request, {"move": form}, status=400)
    try:
        await manager.call(manager.front.apis.desk.MoveTasks, dpb.MoveTasksRequest(
            task_ids=tasks, to_staff_number=v["to_staff_number"], reason=v["reason"]))
    except ApiError as error:
        if error.code == "INVALID_ARGUMENT":
            form.errors.update(_errors(error, {"task_ids": "task_ids", "to_staff_number": "to_staff_number",
                                               "reason": "reason"}))
            return await overview(request, {"move": form}, status=400,
                                  problem=None if form.errors else i18n.said("未移交：%(why)s", why=error.message))
        if error.code in ("PERMISSION_DENIED", "NOT_FOUND", "FAILED_PRECONDITION"):
            why = {"PERMISSION_DENIED": "其中有不属于本中心的承办件", "NOT_FOUND": "其中有不存在的承办件",
                   "FAILED_PRECONDITION": "其中有已办结或不能移交的承办件"}[error.code]
            return await overview(request, {"move": form}, status=400 if error.code != "PERMISSION_DENIED" else 403,
                                  problem=i18n.said("一件也未移交（全部移交或全部不移交）：%(why)s", why=why))
        raise
    return RedirectResponse("/centre?done=moved", status_code=303)


# --- rectifications --------------------------------------------------------------------------------

async def rectifications(request: Request, shown: dict | None = None, problem: str | None = None,
                         status: int = 200):
    manager = await _manager(request)
    if isinstance(manager, Response):
        return manager
    items, token = [], ""
    for _ in range(10):  # at most 2,000 items
        reply = await manager.call(manager.front.apis.supervision.ListRectifications,
                                   spb.ListRectificationsRequest(page_size=200, page_token=token))
        items += reply.items
        token = reply.next_page_token
        if not token:
            break
    open_items = sorted((i for i in items if not i.resolved_on), key=lambda i: (i.deadline, i.rating_id))
    closed = [i for i in items if i.resolved_on][-50:]
    return manager.page("centre_rectifications.html", status=status, open_items=open_items, closed=closed,
                        forms=shown or {}, empty=forms.Form({}), problem=problem, resolutions=RESOLUTION_NAMES,
                        today=local_day(manager.front.now()).isoformat(),
                        done=DONE.get(request.query_params.get("done", "")))


@staff_act(_manager)
async def rectification_act(request: Request, manager, data):
    rating, act = request.path_params["rating_id"], request.path_params["act"]
    if not rating.isdigit() or len(rating) > 12 or act not in ("rectify", "follow_up", "appeal"):
        return not_yours(request, NOT_YOURS)
    rating_id = int(rating)
    form = forms.Form(_text(data, "resolution", "rectify_note", "outcome", "appeal_reason"))
    v, api = form.values, manager.front.apis.supervision
    if act == "rectify":
        form.need("resolution", v["resolution"] in RESOLUTIONS, FIELD_ERRORS["resolution"])
        form.need("rectify_note", 0 < len(v["rectify_note"]) <= 2000, FIELD_ERRORS["rectify_note"])
        method, message, names = api.Rectify, spb.RectifyRequest(
            rating_id=rating_id, resolution=RESOLUTIONS.get(v["resolution"], 0), note=v["rectify_note"]), {
            "resolution": "resolution", "note": "rectify_note"}
    elif act == "follow_up":
        form.need("outcome", 0 < len(v["outcome"]) <= 2000, FIELD_ERRORS["outcome"])
        method, message, names = api.FollowUp, spb.FollowUpRequest(rating_id=rating_id, outcome=v["outcome"]), {
            "outcome": "outcome"}
    else:
        form.need("appeal_reason", 0 < len(v["appeal_reason"]) <= 2000, FIELD_ERRORS["appeal_reason"])
        method, message, names = api.Appeal, spb.AppealRequest(rating_id=rating_id, reason=v["appeal_reason"]), {
            "reason": "appeal_reason"}
    if form.ok:
        try:
            await manager.call(method, message)
        except ApiError as error:
            if error.code in ("PERMISSION_DENIED", "NOT_FOUND"):
                return not_yours(request, NOT_YOURS)
            if error.code == "INVALID_ARGUMENT":
                form.errors.update(_errors(error, names))
            elif error.code == "FAILED_PRECONDITION":
                return await rectifications(request, {rating_id: form}, status=409,
                                            problem="现在不能这样办理：该项已办结或已申诉")
            else:
                raise
        else:
            return RedirectResponse(f"/centre/rectifications?done={act}", status_code=303)
    return await rectifications(request, {rating_id: form}, status=400)


# --- the monthly assessment ----------------------------------------------------------------------

def shortfall_text(text: str) -> str:
    """What keeps a window from the red flag, as supervision says it, in the page's words."""
    patterns = (
        (r"(\d+) acts, fewer than (\d+)", "办件 {0} 件，少于 {1} 件"),
        (r"on time ([\d.]+%), below ([\d.]+%)", "按时办结率 {0}，低于 {1}"),
        (r"satisfied ([\d.]+%), below ([\d.]+%)", "满意率 {0}，低于 {1}"),
        (r"(\d+) bad rating\(s\) not rectified", "{0} 个不满意评价未整改"),
        (r"no ratings", "本月无评价"),
        (r"not a window serving the public", "不是对外服务窗口"),
    )
    for pattern, words in patterns:
        if match := re.fullmatch(pattern, text):
            return i18n.gettext_(words).format(*match.groups())
    return text


async def assessment(request: Request):
    manager = await _manager(request)
    if isinstance(manager, Response):
        return manager
    today = local_day(manager.front.now())
    month = request.query_params.get("month", "")[:7]
    if not MONTH.fullmatch(month):
        month = today.strftime("%Y-%m")
    reply = await manager.call(manager.front.apis.supervision.GetAssessment, spb.GetAssessmentRequest(month=month))
    # the proxy agents of the centre and its village rooms: quota, 办结率, 满意率; below quota listed first
    figures = await manager.call(manager.front.apis.supervision.GetFigures, spb.GetFiguresRequest(
        period=spb.Period(month=month), group_by=spb.OVERALL))
    org, here = manager.front.org, manager.session.organisation
    agents = sorted((a for a in figures.agents if a.organisation == here
                     or ((o := org.organisation(a.organisation)) is not None and o.parent == here)),
                    key=lambda a: (a.met, a.name))
    return manager.page("centre_assessment.html", assessment=reply, month=month, shortfall_text=shortfall_text,
                        agents=agents)


# --- the duty rota --------------------------------------------------------------------------------

def _duty_place(centre: ipb.Centre, code: str | None) -> ipb.CentreOrganisation | None:
    """The centre itself (no code) or one of its village rooms: the places that keep a duty rota."""
    if code is None:
        return centre.organisations[0]
    return next((o for o in centre.organisations if o.code == code and o.kind == "village_room"), None)


def _duty_holders(place: ipb.CentreOrganisation) -> list[tuple[str, str]]:
    """(staff number, name) of those who may be on duty there: a centre's leaders, a room's cadres
    (its acceptance clerks)."""
    kind = "leader" if place.kind == "centre" else "acceptance_clerk"
    found = {h.staff_number: h.name for s in place.seats if s.kind == kind for h in s.holders}
    return list(found.items())


def _no_such_room(request: Request) -> Response:
    return render(request, "error.html", status=404, title="没有这个便民服务室",
                  text="本中心没有这个村（居）便民服务室。")


def _duty_path(place: ipb.CentreOrganisation) -> str:
    return "/centre/duty" if place.kind == "centre" else f"/centre/duty/{place.code}"


async def duty(request: Request, form: forms.Form | None = None, status: int = 200):
    """The rota of the centre's leaders (带班领导) or of one of its village rooms (村干部轮流值班) from
    today on; the centre's page also shows who is on duty at each of its rooms today."""
    manager = await _manager(request)
    if isinstance(manager, Response):
        return manager
    centre = await _centre(manager)
    place = _duty_place(centre, request.path_params.get("organisation"))
    if place is None:
        return _no_such_room(request)
    today = local_day(manager.front.now())
    days = []
    for n in range(DUTY_DAYS):
        days.append(await manager.call(manager.front.apis.identity.GetDuty, ipb.GetDutyRequest(
            organisation=place.code, day=(today + dt.timedelta(n)).isoformat())))
    rooms = []
    if place.kind == "centre":
        for room in (o for o in centre.organisations if o.kind == "village_room"):
            rooms.append(await manager.call(manager.front.apis.identity.GetDuty, ipb.GetDutyRequest(
                organisation=room.code, day=today.isoformat())))
    return manager.page("centre_duty.html", status=status, days=days, place=place, path=_duty_path(place),
                        holders=_duty_holders(place), rooms=rooms, today=today,
                        form=form or forms.Form({"day": today.isoformat(), "on_duty": []}),
                        done=DONE.get(request.query_params.get("done", "")))


@staff_act(_manager)
async def change_duty(request: Request, manager, data):
    place = _duty_place(await _centre(manager), request.path_params.get("organisation"))
    if place is None:
        return _no_such_room(request)
    on_duty = [str(s) for s in data.getlist("on_duty")][:10]
    form = forms.Form({**_text(data, "day", "duty_reason"), "on_duty": on_duty})
    v = form.values
    form.need("day", bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v["day"])), FIELD_ERRORS["day"])
    form.need("duty_reason", 0 < len(v["duty_reason"]) <= 500, FIELD_ERRORS["duty_reason"])
    if not form.ok:
        return await duty(request, form, status=400)
    try:
        await manager.call(manager.front.apis.identity.SetDuty, ipb.SetDutyRequest(
            organisation=place.code, day=v["day"], staff_numbers=on_duty, reason=v["duty_reason"]))
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT":
            raise
        form.errors.update(_errors(error, {"day": "day", "staff_numbers": "on_duty", "reason": "duty_reason"}))
        if not form.errors:  # a refusal of no field of the form: the day's (a day the calendar does not cover)
            form.errors["day"] = FIELD_ERRORS["day"]
        return await duty(request, form, status=400)
    return RedirectResponse(f"{_duty_path(place)}?done=duty", status_code=303)


ROUTES = [
    Route("/centre", overview),
    Route("/centre/away", mark_away, methods=["POST"]),
    Route("/centre/back", mark_back, methods=["POST"]),
    Route("/centre/move", move, methods=["POST"]),
    Route("/centre/rectifications", rectifications),
    Route("/centre/rectifications/{rating_id}/{act}", rectification_act, methods=["POST"]),
    Route("/centre/assessment", assessment),
    Route("/centre/duty", duty),
    Route("/centre/duty", change_duty, methods=["POST"]),
    Route("/centre/duty/{organisation}", duty),
    Route("/centre/duty/{organisation}", change_duty, methods=["POST"]),
]
