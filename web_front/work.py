"""The department's pages (承办) for the people of a handler, approver or checker post at a window
or office (county bureaus and township stations without a system of their own): the worklist
(待办) nearest deadline first with a live notice of new work, and the task page with every act of
the department desk API, each explained where it is offered.

Every act goes to the desk API with the person's own credential: the API decides what the person
may do (their own window's or office's tasks only), these pages what to offer and how to explain it.
The notice of new work comes from one upstream task stream of the desk per web process and
organisation, shared by every open worklist of that organisation (work_feed.py)."""
from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from onewindow.desk.v1 import desk_pb2 as pb
from onewindow.intake.v1 import intake_pb2 as intake
from sse_starlette.sse import EventSourceResponse
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from hall.clock import local_day
from hall.staff import PostKind

from . import forms, i18n
from .apis import ApiError
from .app import client, front_of, render, staff_act
from .staff import Person, current_session, not_yours, signed_in_at
from .work_feed import SIGNERS, WorkFeed

HANDLERS = {PostKind.HANDLER.value}
WORKERS = HANDLERS | SIGNERS
OPEN = [pb.ASSIGNED, pb.CLAIMED, pb.WAITING_SUPPLEMENT, pb.SPECIAL_PROCEDURE, pb.SUSPENDED]
WORKABLE = (pb.ASSIGNED, pb.CLAIMED)
PAGE_SIZE = 20
SOON_DAYS = 3  # working days left at which a task is flagged as near its deadline
STREAM_SECONDS = 300  # an event stream ends after this; the browser reconnects with a renewed credential
NOT_YOURS = "本岗位只能办理本单位（本窗口或办理室）的承办件"

# what the desk API calls a field, and what the task page's forms call it
_API_FIELDS = {"materials": "materials", "note": "note", "procedure": "procedure", "planned_days": "planned_days",
               "until": "until", "reason": "reason", "extension_days": "extension_days", "asks": "departments",
               "ask": "ask", "limit_days": "limit_days", "department": "departments", "cause": "cause",
               "decision": "decision", "opinion": "opinion", "legal_basis": "legal_basis", "documents": "documents"}
FIELD_ERRORS = {
    "materials": "请选择须补正的材料，并写明每份材料的问题（200字以内）",
    "note": "说明过长，请在500字以内",
    "procedure": "请选择特别程序的种类",
    "planned_days": "计划天数须为0（未定）或1至180个工作日",
    "until": "挂起截止日期须晚于今天，且不超过3个月",
    "reason": "请填写挂起原因（500字以内）",
    "extension_days": "延长天数须在0至可延长天数之间（合计不超过时限的30%）",
    "departments": "请选择协办部门（不含本部门；再次征求只能向已答复的部门）",
    "ask": "请写明征求的意见（1000字以内）",
    "limit_days": "协办时限须为1至60个工作日",
    "cause": "再次征求意见须说明原因",
    "decision": "请选择准予或不予",
    "opinion": "请填写意见（2000字以内）",
    "legal_basis": "请填写法律依据（1000字以内）",
    "documents": "文书编号每行一个，每个不超过500字，至多50个",
}
PROCEDURES = {pb.EXPERT_REVIEW: "expert_review", pb.HEARING: "hearing", pb.INSPECTION: "inspection",
              pb.PUBLIC_NOTICE: "public_notice"}
CAUSES = {"co_handler_missed": pb.CO_HANDLER_MISSED, "lead_unclear": pb.LEAD_UNCLEAR}


def status_name(status: int) -> str:
    return pb.TaskStatus.Name(status).lower()


@dataclass(frozen=True)
class Clock:
    """A task's days on the working-day calendar, as the worklist shows them: in words, and a
    class for its colour (never the colour alone)."""
    used: int
    limit: int
    left: int
    paused: bool
    level: str  # "" | "soon" | "overdue" | "paused"

    @property
    def text(self) -> str:
        if self.paused:
            return "计时暂停"
        if self.level == "overdue":
            return "已超期"
        if self.level == "soon":
            return "临近期限"
        return ""


def clock_of(task: pb.Task) -> Clock:
    limit = task.limit_days + task.extension_days
    left = limit - task.used_days
    paused = not task.deadline
    level = "paused" if paused else "overdue" if left < 0 else "soon" if left <= SOON_DAYS else ""
    return Clock(task.used_days, limit, left, paused, level)


def _add_months(day: dt.date, n: int) -> dt.date:
    month = day.month - 1 + n
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def feed_of(request: Request) -> WorkFeed:
    state = request.app.state
    if getattr(state, "work_feed", None) is None:
        state.work_feed = WorkFeed(front_of(request).apis)
    return state.work_feed


# --- the pages ----------------------------------------------------------------------------------

async def _worker(request: Request) -> Person | Response:
    """The person signed in at a handler, approver or checker post, or the answer for anyone else."""
    return await signed_in_at(request, WORKERS, "本页面供承办人员使用",
                              "待办供窗口和办理室的承办、审批、核准人员使用。您登录的岗位不办理承办件。")


def _not_yours(request: Request):
    return not_yours(request, NOT_YOURS)


def _int(text: str, default: int = 0) -> int | None:
    text = text.strip()
    if not text:
        return default
    return int(text) if text.isdigit() and len(text) < 6 else None


ITEM_CODE = re.compile(r"[A-Z0-9][A-Z0-9-]{1,31}")  # the catalogue's
STAGES = range(1, 5)  # the four stages of construction-project approval at most
OPEN_STATES = [status_name(s) for s in OPEN]


async def worklist(request: Request):
    """待办: my open tasks and the pool's (a signer's: the proposals waiting for my post), nearest
    deadline first, filtered by item, stage and state: one page read from the desk API, in its order."""
    worker = await _worker(request)
    if isinstance(worker, Response):
        return worker
    session = worker.session
    mark = feed_of(request).mark(session.organisation, session.credential, client(request))
    q = request.query_params
    item, stage, state = q.get("item", "").strip().upper()[:32], q.get("stage", "")[:1], q.get("state", "")[:30]
    chosen = {"item": item if ITEM_CODE.fullmatch(item) else "",
              "stage": stage if stage.isdigit() and int(stage) in STAGES else "",
              "state": state if state in OPEN_STATES else ""}
    signer = session.post_kind in SIGNERS
    token = q.get("after", "")[:200]
    query = pb.ListTasksRequest(
        order=pb.NEAREST_DEADLINE, page_size=PAGE_SIZE, page_token=token, item_code=chosen["item"],
        stage=int(chosen["stage"] or 0), mine=not signer, with_pool=not signer, awaiting_my_post=signer,
        statuses=[pb.TaskStatus.Value(chosen["state"].upper())] if chosen["state"] else [])
    try:
        reply = await worker.call(worker.front.apis.desk.ListTasks, query)
    except ApiError as error:
        if error.code != "INVALID_ARGUMENT" or not token:
            raise
        query.page_token = token = ""  # a spoilt link: the first page
        reply = await worker.call(worker.front.apis.desk.ListTasks, query)
    page = max(_int(q.get("page", "")[:6], 1) or 1, 1) if token else 1
    pages = max((reply.total_size + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    filters = urlencode({k: v for k, v in chosen.items() if v})
    following = urlencode({"after": reply.next_page_token, "page": page + 1}) if reply.next_page_token else ""
    return worker.page("work.html", tasks=[(t, clock_of(t)) for t in reply.tasks], total=reply.total_size,
                       leads=await leads_projects(worker),
                       page=min(page, pages), pages=pages, filters=filters, following=following, chosen=chosen,
                       stages=STAGES, states=OPEN_STATES, mark=mark, signer=signer, status_name=status_name)


LEADS_FOR_SECONDS = 600.0  # how long the front trusts what the guide said a department leads


async def leads_projects(worker: Person) -> bool:
    """Whether the person's department coordinates a parallel-approval item (one with stages), from
    the intake guide, remembered a while per web process."""
    organisation = worker.organisation
    department = organisation.department if organisation else None
    if not department:
        return False
    state = worker.request.app.state
    if getattr(state, "leads_projects", None) is None:
        state.leads_projects = {}
    known = state.leads_projects
    found = known.get(department)
    if found and time.monotonic() - found[1] < LEADS_FOR_SECONDS:
        return found[0]
    reply = await worker.call(worker.front.apis.intake.ListItems,
                              intake.ListItemsRequest(department=department, page_size=200))
    leads = any(item.stages and item.department == department for item in reply.items)
    known[department] = (leads, time.monotonic())
    return leads


async def work_events(request: Request):
    """Server-sent: how much new work arrived since the worklist was shown (one upstream stream per organisation)."""
    found = await current_session(request)
    if found is None or found[1].post_kind not in WORKERS:
        return Response(status_code=204)  # the browser stops reconnecting
    _, session = found
    feed = feed_of(request)
    after = _int(request.query_params.get("after", "")[:12]) or 0
    locale = i18n.choose(request.query_params.get("lang"), request.cookies.get("lang"))
    fragment = front_of(request).templates.get_template("_work_notice.html")
    ends = time.monotonic() + STREAM_SECONDS

    async def events():
        shown = 0
        async for _ in feed.changes(session.organisation, session.credential, client(request)):
            count = feed.new_since(session.organisation, after, session.post_kind, session.staff_number)
            if count != shown:
                shown = count
                i18n.use(locale)
                yield {"event": "work", "data": fragment.render(_=i18n.gettext_, count=count), "retry": 3000}
            if time.monotonic() > ends:
                return

    return EventSourceResponse(events(), ping=15)


async def _task(worker: Person, task_id: str):
    """(task, progress) when the task is of this person's window or office; "missing" or "foreign"."""
    number = task_id.partition(".")[0]
    if not forms.CASE_NUMBER.fullmatch(number) or len(task_id) > 120:
        return "missing"
    try:
        progress = await worker.call(worker.front.apis.desk.GetProgress, pb.GetProgressRequest(case_number=number))
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return "foreign"
        if error.code in ("NOT_FOUND", "INVALID_ARGUMENT"):
            return "missing"
        raise
    task = next((t for t in progress.tasks if t.task_id == task_id), None)
    if task is None:
        return "missing"
    if task.organisation != worker.session.organisation:
        return "foreign"
    return task, progress


def _missing(request: Request):
    return render(request, "error.html", status=404, title="没有这个承办件", text="没有找到这个承办件。")


def _offers(worker: Person, task: pb.Task, progress) -> dict:
    """Which acts the page offers, by the same rules as the desk API."""
    s = worker.session
    handler, mine = s.post_kind in HANDLERS, task.holder == s.staff_number
    proposed = task.HasField("proposal")
    free = handler and mine and task.status in WORKABLE and not proposed
    co = [t for t in progress.tasks if t.lead_task_id == task.task_id]
    open_co = [t for t in co if t.status not in (pb.DECIDED, pb.WITHDRAWN)]
    return {
        "claim": handler and task.status in WORKABLE and not proposed and (not task.holder or
                                                                            mine and task.status == pb.ASSIGNED),
        "supplement": free and task.role != pb.CO_HANDLING and not task.supplement_requested,
        "special": free, "end_special": handler and mine and task.status == pb.SPECIAL_PROCEDURE,
        "suspend": free, "resume": handler and mine and task.status == pb.SUSPENDED,
        "co_handling": free and task.role != pb.CO_HANDLING, "second_ask": bool(co),
        "decide": free and not open_co, "open_co": open_co, "co": co,
        "sign_off": s.post_kind in SIGNERS and proposed and task.proposal.awaiting == s.post_kind,
    }


def _stages(worker: Person, progress) -> list:
    org = worker.front.org
    stages: dict[int, list] = {}
    for t in progress.tasks:
        department = org.department(t.department)
        stages.setdefault(t.stage, []).append((t, department.name if department else t.department))
    return sorted(stages.items())


async def task_page(request: Request, forms_shown: dict | None = None, notice: str | None = None,
                    problem: str | None = None, status: int = 200):
    worker = await _worker(request)
    if isinstance(worker, Response):
        return worker
    found = await _task(worker, request.path_params["task_id"])
    if found == "missing":
        return _missing(request)
    if found == "foreign":
        return _not_yours(request)
    task, progress = found
    offers = _offers(worker, task, progress)
    materials = []
    if offers["supplement"]:
        try:
            item = await worker.call(worker.front.apis.intake.GetItem, intake.GetItemRequest(code=task.item_code))
            materials = list(item.materials)
        except ApiError as error:
            if error.code not in ("NOT_FOUND", "INVALID_ARGUMENT"):
                raise
    today = local_day(worker.front.now())
    asked = {t.department for t in offers["co"]}
    departments = [d for d in worker.front.org.departments if d.code != task.department
                   and (not offers["second_ask"] or d.code in asked)]
    empty = {"decision": "", "agree": ""}
    shown = {name: forms.Form(dict(empty)) for name in ("supplement", "special", "suspend", "resume", "co_handling",
                                                        "decide", "sign_off")}
    shown.update(forms_shown or {})
    return worker.page("work_task.html", status=status, task=task, progress=progress, clock=clock_of(task),
                 offers=offers, stages=_stages(worker, progress), materials=materials, departments=departments,
                 latest_until=_add_months(today, 3), today=today, forms=shown, notice=notice, problem=problem,
                 status_name=status_name, procedure_names=PROCEDURES)


def _errors(error: ApiError, values: dict) -> dict:
    errors = {}
    for path, _ in error.fields:
        name = _API_FIELDS.get(path.rpartition(".")[2].partition("[")[0]) or _API_FIELDS.get(path.partition("[")[0])
        own = _own_field(path, name, values)
        if own:
            errors.setdefault(own, FIELD_ERRORS[name])
        elif name in values:
            errors.setdefault(name, FIELD_ERRORS[name])
    return errors


def _own_field(path: str, name: str | None, values: dict) -> str | None:
    """The field of one department's own ask or days (asks[i].ask, asks[i].limit_days), if it had them."""
    found = re.fullmatch(r"asks\[(\d+)\]\.(ask|limit_days)", path)
    chosen = values.get("department") or []
    if not found or int(found.group(1)) >= len(chosen):
        return None
    own = f"{'ask' if found.group(2) == 'ask' else 'limit'}_{chosen[int(found.group(1))]}"
    return own if values.get(own) and name else None


@staff_act(_worker)
async def act(request: Request, worker, data):
    """One act on a task, from its page's form: the desk API's answer, or the form again with its errors."""
    task_id, action = request.path_params["task_id"], request.path_params["action"]
    found = await _task(worker, task_id)
    if found == "missing":
        return _missing(request)
    if found == "foreign":
        return _not_yours(request)
    built = _request(action, task_id, data)
    if built is None:
        return _missing(request)
    method, message, form = built
    if not form.ok:
        return await task_page(request, {action: form}, status=400)
    try:
        reply = await worker.call(getattr(worker.front.apis.desk, method), message)
    except ApiError as error:
        if error.code == "PERMISSION_DENIED":
            return _not_yours(request)
        if error.code == "INVALID_ARGUMENT":
            form.errors.update(_errors(error, form.values))
            problem = None if form.errors else i18n.said("承办系统未接受：%(why)s", why=error.message)
            return await task_page(request, {action: form}, problem=problem, status=400)
        if error.code == "FAILED_PRECONDITION":
            return await task_page(request, {action: form}, status=409,
                                   problem=i18n.said("现在不能这样办理：%(why)s", why=error.message))
        raise
    if method in ("Decide", "SignOff") and reply.task.status == pb.DECIDED:
        return RedirectResponse("/work?done=" + task_id, status_code=303)
    return RedirectResponse(f"/work/tasks/{task_id}", status_code=303)


def _co_handling_ask(department: str, v: dict, e: dict) -> pb.CoHandlingAsk:
    """One department's ask: its own text and days where the page was given them, else the common ones."""
    own_ask, own_days = f"ask_{department}", f"limit_{department}"
    ask = v.get(own_ask) or v.get("ask", "")
    if not ask:
        e["ask"] = FIELD_ERRORS["ask"]
    if v.get(own_days):
        days = _int(v[own_days])
        if not days:
            e[own_days] = FIELD_ERRORS["limit_days"]
    else:
        days = _int(v.get("limit_days", ""))
        if not days:
            e["limit_days"] = FIELD_ERRORS["limit_days"]
    return pb.CoHandlingAsk(department=department, ask=ask[:1100], limit_days=days or 0)


def _request(action: str, task_id: str, data) -> tuple[str, object, forms.Form] | None:
    """The desk API's method, its request, and the form (its values kept, errors found before any call)."""
    text = {k: str(v).strip() for k, v in data.items() if k != "csrf" and isinstance(v, str)}
    form = forms.Form(dict(text))
    v, e = form.values, form.errors
    if action == "claim":
        return "Claim", pb.TaskRef(task_id=task_id), form
    if action == "supplement":
        chosen = [str(m) for m in data.getlist("material")][:50]
        v["material"] = chosen
        asked = [pb.MaterialRequest(material_code=code, problem=v.get(f"problem_{code}", "")[:300]) for code in chosen]
        if not asked or any(not m.problem for m in asked):
            e["materials"] = FIELD_ERRORS["materials"]
        v["materials"] = ""
        return "RequestSupplement", pb.RequestSupplementRequest(task_id=task_id, materials=asked,
                                                                note=v.get("note", "")[:600]), form
    if action == "special":
        procedure = next((k for k, name in PROCEDURES.items() if name == v.get("procedure")), 0)
        days = _int(v.get("planned_days", ""))
        if not procedure:
            e["procedure"] = FIELD_ERRORS["procedure"]
        if days is None:
            e["planned_days"] = FIELD_ERRORS["planned_days"]
        return "StartSpecialProcedure", pb.StartSpecialProcedureRequest(
            task_id=task_id, procedure=procedure, note=v.get("note_special", "")[:600], planned_days=days or 0), form
    if action == "end_special":
        return "EndSpecialProcedure", pb.TaskRef(task_id=task_id), form
    if action == "suspend":
        try:
            dt.date.fromisoformat(v.get("until", ""))
        except ValueError:
            e["until"] = FIELD_ERRORS["until"]
        if not v.get("reason"):
            e["reason"] = FIELD_ERRORS["reason"]
        return "Suspend", pb.SuspendRequest(task_id=task_id, until=v.get("until", "")[:10],
                                            reason=v.get("reason", "")[:600]), form
    if action == "resume":
        days = _int(v.get("extension_days", ""))
        if days is None:
            e["extension_days"] = FIELD_ERRORS["extension_days"]
        return "Resume", pb.ResumeRequest(task_id=task_id, extension_days=days or 0), form
    if action == "co_handling":
        chosen = [str(d) for d in data.getlist("department")][:50]
        v["department"] = chosen
        v["departments"] = ""
        if not chosen:
            e["departments"] = FIELD_ERRORS["departments"]
        asks = [_co_handling_ask(d, v, e) for d in chosen]
        cause = CAUSES.get(v.get("cause", ""), 0)
        if v.get("second") == "1" and not cause:
            e["cause"] = FIELD_ERRORS["cause"]
        return "RequestCoHandling", pb.RequestCoHandlingRequest(task_id=task_id, cause=cause, asks=asks), form
    if action == "decide":
        decision = {"approve": pb.APPROVE, "reject": pb.REJECT}.get(v.get("decision", ""), 0)
        documents = [line.strip() for line in v.get("documents", "").splitlines() if line.strip()]
        for name in ("opinion", "legal_basis"):
            if not v.get(name):
                e[name] = FIELD_ERRORS[name]
        if not decision:
            e["decision"] = FIELD_ERRORS["decision"]
        return "Decide", pb.DecideRequest(task_id=task_id, decision=decision, opinion=v.get("opinion", "")[:2100],
                                          legal_basis=v.get("legal_basis", "")[:1100], documents=documents[:60]), form
    if action == "sign_off":
        agree = v.get("agree")
        if agree not in ("yes", "no"):
            e["agree"] = "请选择同意或退回"
        elif agree == "no" and not v.get("opinion"):
            e["opinion"] = "退回须写明理由"
        return "SignOff", pb.SignOffRequest(task_id=task_id, agree=agree == "yes",
                                            opinion=v.get("opinion", "")[:2100]), form
    return None


ROUTES = [
    Route("/work", worklist),
    Route("/work/events", work_events),
    Route("/work/tasks/{task_id}", task_page),
    Route("/work/tasks/{task_id}/{action}", act, methods=["POST"]),
]
