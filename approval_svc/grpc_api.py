"""The department desk gRPC API (onewindow.desk.v1): authenticate, parse, run the use case, answer."""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import threading
import time
from collections import defaultdict

import psycopg
from onewindow.desk.v1 import desk_pb2 as pb
from onewindow.desk.v1 import desk_pb2_grpc

from hall.domain import Decision
from hall.reference import Reference
from hall.staff import PostKind, Staff, StaffRegister
from hall.wiring import ApiWiring
from services.access import Credentials, Role
from services.errors import InvalidRequest, Violations
from services.grpcutil import add_servicer, rpc
from services.timesource import CHINA, TimeSource, local_day

from . import desk, store
from .access import QUIET, ROLES, post_kind, task_scope
from .commands import Claim, EndSpecialProcedure, RequestSupplement, Resume, StartSpecialProcedure, Suspend, TaskCommand
from .desk import Proposal, Task
from .settings import ApprovalSettings
from .use_cases import SOURCE, Handling

log = logging.getLogger(__name__)
SETTINGS, PORT_SETTING = ApprovalSettings, "desk_port"
_ROLES = {"lead": pb.LEAD, "parallel": pb.PARALLEL, "co_handling": pb.CO_HANDLING}
_STATUS = {name: pb.TaskStatus.Value(name.upper()) for name in
           ("assigned", "claimed", "waiting_supplement", "special_procedure", "suspended", "decided", "withdrawn")}
_DECISIONS = {pb.APPROVE: Decision.APPROVE, pb.REJECT: Decision.REJECT}
_DECISION_VIEW = {d: p for p, d in _DECISIONS.items()}
_PROCEDURES = {pb.EXPERT_REVIEW: "expert_review", pb.HEARING: "hearing", pb.INSPECTION: "inspection",
               pb.PUBLIC_NOTICE: "public_notice"}
_CAUSES = {pb.CO_HANDLER_MISSED: "co_handler_missed", pb.LEAD_UNCLEAR: "lead_unclear"}


def actor_view(actor: dict | None) -> pb.Actor | None:
    if not actor:
        return None
    return pb.Actor(staff_number=actor.get("person", ""), name=actor.get("name", ""), post=actor.get("post", ""),
                    organisation=actor.get("organisation", ""), holder=actor.get("holder", ""),
                    step=actor.get("step", ""), opinion=actor.get("opinion", ""))


def _proposal_view(proposal: Proposal | None) -> pb.Proposal | None:
    if proposal is None:
        return None
    return pb.Proposal(decision=_DECISION_VIEW[proposal.decision], opinion=proposal.opinion,
                       legal_basis=proposal.legal_basis, documents=list(proposal.documents),
                       proposed_by=actor_view(proposal.by), signatures=[actor_view(a) for a in proposal.signatures],
                       awaiting=proposal.awaiting)


def task_view(task: Task, ref: Reference, today: dt.date, register: StaffRegister) -> pb.Task:
    reading = task.read(ref.calendar, today)
    holder = register.person(task.holder) if task.holder else None
    return pb.Task(
        task_id=task.id, case_number=task.case_number, item_code=task.item_code, department=task.department,
        organisation=task.organisation,
        stage=task.stage, stage_name=task.stage_name, role=_ROLES[task.role], status=_STATUS[task.status.value],
        assigned_on=str(task.assigned_on), limit_days=task.limit_days, extension_days=task.extension_days,
        deadline=str(reading.deadline or ""), used_days=reading.used,
        supplement_requested=task.supplement_requested_on is not None, supplement_late=task.supplement_late,
        ask=task.ask or "", lead_task_id=task.lead_task_id or "",
        decision=_DECISION_VIEW.get(task.decision, 0),
        opinion=task.opinion or "", legal_basis=task.legal_basis or "", documents=list(task.documents),
        decided_at=task.decided_at.isoformat() if task.decided_at else "",
        holder=task.holder or "", holder_name=holder.name if holder else "", post=task.post,
        proposal=_proposal_view(task.proposal), decided_by=actor_view(task.decided_by),
        signed_off=[actor_view(a) for a in task.signed_off],
        suspended_until=str(task.suspended_until or ""), extension_left=max(desk.growth_cap(task), 0),
        supplement_stops_clock=task.supplement_requested_on is None
        and ref.calendar.between(task.assigned_on, today) <= desk.SUPPLEMENT_DUE_DAYS,
        procedure=task.procedure or "")


def away_view(row: dict | None, staff_number: str, register: StaffRegister) -> pb.AwayNotice:
    person = register.person(staff_number)
    if row is None:
        return pb.AwayNotice(staff_number=staff_number, name=person.name if person else "")
    return pb.AwayNotice(staff_number=row["staff_number"], name=person.name if person else "",
                         back_at=row["back_at"].isoformat(), note=row["note"], set_by=actor_view(row["set_by"]),
                         set_at=row["set_at"].isoformat())


class FeedSignal:
    """Wakes the watch streams of a department when its feed grows (LISTEN on the feed channel).

    Streams read the generation before querying and wait for it to change, so a notification
    between their query and their wait is never missed; a timeout bounds the wait anyway.
    """

    def __init__(self, conninfo: str, schema: str):
        self.conninfo = conninfo
        self.schema = schema
        self.cond = threading.Condition()
        self.generation: dict[str, int] = defaultdict(int)
        self.closing = threading.Event()
        self.thread = threading.Thread(target=self._listen, name="desk-feed-listener", daemon=True)
        self.thread.start()

    def current(self, department: str) -> int:
        with self.cond:
            return self.generation[department]

    def wait(self, department: str, seen: int, timeout: float) -> None:
        with self.cond:
            self.cond.wait_for(lambda: self.generation[department] != seen or self.closing.is_set(), timeout)

    def _bump(self, departments) -> None:
        with self.cond:
            for d in departments:
                self.generation[d] += 1
            self.cond.notify_all()

    def _listen(self) -> None:
        while not self.closing.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True, application_name="approval-desk-feed",
                                     options=f"-c search_path={self.schema}") as conn:
                    conn.execute(f"LISTEN {store.FEED_CHANNEL}")
                    self._bump(list(self.generation))  # anything missed while disconnected
                    while not self.closing.is_set():
                        for note in conn.notifies(timeout=0.5):
                            self._bump([note.payload])
            except psycopg.Error as exc:
                log.warning("desk feed listener: %r; reconnecting", exc)
                time.sleep(1)

    def close(self) -> None:
        self.closing.set()
        with self.cond:
            self.cond.notify_all()


class DeskApi(desk_pb2_grpc.DepartmentDeskServicer):
    API = "desk"
    ROLES = ROLES
    QUIET = QUIET

    def __init__(self, handling: Handling, unit_of_work, reading, credentials: Credentials, signal: FeedSignal):
        self.handling = handling
        self.unit_of_work = unit_of_work
        self.reading = reading  # a watch's polls: one statement each, no transaction
        self.credentials = credentials
        self.signal = signal

    def _view(self, task: Task, uow) -> pb.Task:
        return task_view(task, self.handling.ref, local_day(uow.time.now()), self.handling.staff.register)

    @staticmethod
    def _page(request) -> tuple[int, int]:
        size = request.page_size or 50
        if not 1 <= size <= 500:
            raise InvalidRequest([("page_size", "between 1 and 500")])
        try:
            return size, int(request.page_token or 0)
        except ValueError:
            raise InvalidRequest([("page_token", "a token from a previous reply")]) from None

    def _tasks_page(self, rows, size: int, uow) -> pb.ListTasksReply:
        token = str(rows[size - 1][0]) if len(rows) > size else ""
        return pb.ListTasksReply(tasks=[self._view(t, uow) for _, t in rows[:size]], next_page_token=token)

    @rpc
    def ListTasks(self, request, context, caller):
        department, organisation = task_scope(caller)
        if request.mine and not caller.person:
            raise InvalidRequest([("mine", "for a signed-in person: a system holds no tasks of its own")])
        unknown = [(f"statuses[{i}]", "not a task status") for i, s in enumerate(request.statuses)
                   if s not in pb.TaskStatus.values() or s == pb.TASK_STATUS_UNSPECIFIED]
        if unknown:
            raise InvalidRequest(unknown)
        statuses = [pb.TaskStatus.Name(s).lower() for s in request.statuses]
        if request.order == pb.NEAREST_DEADLINE:
            return self._worklist(request, caller, department, organisation, statuses)
        if request.order != pb.TASK_ORDER_UNSPECIFIED:
            raise InvalidRequest([("order", "TASK_ORDER_UNSPECIFIED or NEAREST_DEADLINE")])
        worklist_only = [(name, "with order NEAREST_DEADLINE only") for name in
                         ("item_code", "stage", "with_pool", "awaiting_my_post") if getattr(request, name)]
        if worklist_only:
            raise InvalidRequest(worklist_only)
        size, after = self._page(request)
        with self.unit_of_work() as uow:
            rows = store.list_tasks(uow, department, statuses, request.case_number or None, after, size + 1,
                                    organisation, caller.person if request.mine else None, request.awaiting_sign_off)
            return self._tasks_page(rows, size, uow)

    def _worklist(self, request, caller, department: str, organisation: str | None,
                  statuses: list[str]) -> pb.ListTasksReply:
        """Open tasks, the nearest deadline first, filtered, one keyset page (the worklist's read)."""
        v = Violations()
        size = request.page_size or 50
        if not 1 <= size <= 500:
            v.add("page_size", "between 1 and 500")
        after = _worklist_key(request.page_token, v)
        if request.with_pool and not request.mine:
            v.add("with_pool", "with mine: a person's own tasks and their window's or office's pool")
        kind = post_kind(caller)
        if request.awaiting_my_post and kind not in (PostKind.APPROVER, PostKind.CHECKER):
            v.add("awaiting_my_post", "for a person at an approver or checker post")
        if len(request.item_code) > 50:
            v.add("item_code", "an item code")
        if not 0 <= request.stage <= 50:
            v.add("stage", "a stage number, or 0 for every stage")
        v.check()
        with self.unit_of_work() as uow:
            tasks, total = store.worklist(
                uow, department, organisation, holder=caller.person if request.mine else None,
                with_pool=request.with_pool, awaiting=kind.value if request.awaiting_my_post else None,
                statuses=statuses, item_code=request.item_code, stage=request.stage, after=after, limit=size + 1)
            token = _worklist_token(tasks[size - 1], self.handling.ref) if len(tasks) > size else ""
            return pb.ListTasksReply(tasks=[self._view(t, uow) for t in tasks[:size]], next_page_token=token,
                                     total_size=total)

    @rpc
    def ListProjects(self, request, context, caller):
        size = request.page_size or 20
        if not 1 <= size <= 100:
            raise InvalidRequest([("page_size", "between 1 and 100")])
        if len(request.page_token) > 40:
            raise InvalidRequest([("page_token", "a token from a previous reply")])
        with self.unit_of_work() as uow:
            found = self.handling.projects(uow, caller, request.ended, request.page_token, size + 1)
            projects = [self._project(case, tasks, uow) for case, tasks in found[:size]]
        token = found[size - 1][0]["case_number"] if len(found) > size else ""
        return pb.ListProjectsReply(projects=projects, next_page_token=token)

    def _project(self, case: dict, tasks: list[Task], uow) -> pb.Project:
        cal, today = self.handling.ref.calendar, local_day(uow.time.now())
        opened = local_day(case["opened_at"])
        end = local_day(case["concluded_at"]) if case["concluded_at"] else today
        stages = case["plan"].get("stages", [])
        current = stages[case["current_stage"] - 1] if 0 < case["current_stage"] <= len(stages) else {}
        return pb.Project(case_number=case["case_number"], item_code=case["item_code"], status=case["status"],
                          current_stage=case["current_stage"], stages=case["stages"],
                          stage_name=current.get("name", ""), result=case["result"] or "", opened_on=str(opened),
                          used_days=cal.between(opened, max(end, opened)),
                          limit_days=sum(s["limit_days"] for s in stages),
                          tasks=[self._view(t, uow) for t in tasks])

    @rpc
    def WatchTasks(self, request, context, caller):
        department, organisation = task_scope(caller)
        cursor = request.after_cursor
        if cursor < 0:
            raise InvalidRequest([("after_cursor", "0 or a cursor from an earlier item")])
        if request.from_now:
            if cursor:
                raise InvalidRequest([("from_now", "either from_now or after_cursor")])
            with self.reading() as read:
                cursor = store.feed_head(read, department)
            yield pb.WorkItem(cursor=cursor, reason="head")
        while context.is_active() and not self.signal.closing.is_set():
            seen = self.signal.current(department)
            with self.reading() as read:
                feed = store.feed_after(read, department, cursor)
            items = [pb.WorkItem(cursor=position, reason=reason, task=self._view(task, read))
                     for position, reason, task in feed if organisation in (None, task.organisation)]
            for item in items:
                yield item
            if feed:
                cursor = feed[-1][0]
            else:
                self.signal.wait(department, seen, timeout=5.0)

    @rpc
    def GetProgress(self, request, context, caller):
        department = caller.code if caller.role == Role.DEPARTMENT else None
        with self.unit_of_work() as uow:
            case, tasks = self.handling.progress(uow, department, request.case_number)
            views = [self._view(t, uow) for t in tasks]
        return pb.CaseProgress(case_number=case["case_number"], item_code=case["item_code"], status=case["status"],
                               current_stage=case["current_stage"], stages=case["stages"],
                               result=case["result"] or "", tasks=views)

    def _act(self, caller, command: TaskCommand) -> pb.Task:
        with self.unit_of_work() as uow:
            return self._view(self.handling.act(uow, caller, command), uow)

    @rpc
    def Claim(self, request, context, caller):
        return self._act(caller, Claim(request.task_id))

    @rpc
    def RequestSupplement(self, request, context, caller):
        materials = [(m.material_code, m.problem) for m in request.materials]
        return self._act(caller, RequestSupplement(request.task_id, materials, request.note))

    @rpc
    def StartSpecialProcedure(self, request, context, caller):
        if request.procedure not in _PROCEDURES:
            raise InvalidRequest([("procedure", "EXPERT_REVIEW, HEARING, INSPECTION or PUBLIC_NOTICE")])
        return self._act(caller, StartSpecialProcedure(request.task_id, _PROCEDURES[request.procedure], request.note,
                                                       request.planned_days))

    @rpc
    def EndSpecialProcedure(self, request, context, caller):
        return self._act(caller, EndSpecialProcedure(request.task_id))

    @rpc
    def Suspend(self, request, context, caller):
        try:
            until = dt.date.fromisoformat(request.until)
        except ValueError:
            raise InvalidRequest([("until", "a date, YYYY-MM-DD")]) from None
        return self._act(caller, Suspend(request.task_id, until, request.reason))

    @rpc
    def Resume(self, request, context, caller):
        return self._act(caller, Resume(request.task_id, request.extension_days))

    @rpc
    def RequestCoHandling(self, request, context, caller):
        if request.cause and request.cause not in _CAUSES:  # unspecified: a first request
            raise InvalidRequest([("cause", "CO_HANDLER_MISSED or LEAD_UNCLEAR, or unspecified for a first request")])
        asks = [(a.department, a.ask, a.limit_days) for a in request.asks]
        with self.unit_of_work() as uow:
            lead = self.handling.request_co_handling(uow, caller, request.task_id, asks,
                                                     _CAUSES.get(request.cause))
            return self._view(lead, uow)

    def _decided(self, out, uow) -> pb.DecideReply:
        return pb.DecideReply(task=self._view(out.task, uow), stage_completed=out.stage_completed,
                              case_concluded=out.concluded, result=out.result, next_stage=out.next_stage)

    @rpc
    def Decide(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._decided(self.handling.decide(
                uow, caller, request.task_id, _DECISIONS.get(request.decision), request.opinion, request.legal_basis,
                list(request.documents), list(request.signed_off)), uow)

    @rpc
    def SignOff(self, request, context, caller):
        with self.unit_of_work() as uow:
            return self._decided(self.handling.sign_off(uow, caller, request.task_id, request.agree, request.opinion),
                                 uow)

    @rpc
    def SetAway(self, request, context, caller):
        try:
            back_at = dt.datetime.fromisoformat(request.back_at)
            if back_at.tzinfo is None:
                back_at = back_at.replace(tzinfo=CHINA)
        except ValueError:
            raise InvalidRequest([("back_at", "a date and time, YYYY-MM-DDTHH:MM")]) from None
        with self.unit_of_work() as uow:
            row = self.handling.set_away(uow, caller, request.staff_number, back_at, request.note)
        return away_view(row, row["staff_number"], self.handling.staff.register)

    @rpc
    def ClearAway(self, request, context, caller):
        staff_number = request.staff_number or caller.person
        with self.unit_of_work() as uow:
            self.handling.clear_away(uow, caller, staff_number)
        return away_view(None, staff_number, self.handling.staff.register)

    @rpc
    def ListAway(self, request, context, caller):
        with self.unit_of_work() as uow:
            rows = self.handling.away_notices(uow, caller)
        register = self.handling.staff.register
        return pb.ListAwayReply(notices=[away_view(r, r["staff_number"], register) for r in rows])

    @rpc
    def ListPool(self, request, context, caller):
        size, after = self._page(request)
        with self.unit_of_work() as uow:
            return self._tasks_page(self.handling.pool(uow, caller, after, size + 1), size, uow)

    @rpc
    def MoveTasks(self, request, context, caller):
        with self.unit_of_work() as uow:
            moved = self.handling.move(uow, caller, list(request.task_ids), request.to_staff_number, request.reason)
            return pb.ListTasksReply(tasks=[self._view(t, uow) for t in moved])


def _worklist_token(task: Task, ref: Reference) -> str:
    """The place of the last task of a worklist page: its sort key and id."""
    return base64.urlsafe_b64encode(f"{store.due_on(task, ref.calendar)}|{task.id}".encode()).decode()


def _worklist_key(token: str, v: Violations) -> tuple[dt.date, str] | None:
    if not token:
        return None
    try:
        day, _, task_id = base64.urlsafe_b64decode(token.encode()).decode().partition("|")
        if task_id:
            return dt.date.fromisoformat(day), task_id
    except (ValueError, binascii.Error):
        pass
    v.add("page_token", "a token from a previous reply")
    return None


def build(settings: ApprovalSettings, server, time: TimeSource | None = None) -> ApiWiring:
    wiring = ApiWiring.open(settings, SOURCE, time)
    signal = FeedSignal(settings.database_url, SOURCE)
    wiring.on_close(signal.close)
    handling = Handling(wiring.reference, Staff(settings.staff, wiring.reference.org))
    if filled := handling.fill_due(wiring.unit_of_work):
        log.info("worklist sort keys written for %d open tasks", filled)
    api = DeskApi(handling, wiring.unit_of_work, wiring.reading, wiring.credentials, signal)
    add_servicer(server, api, pb.DESCRIPTOR.services_by_name["DepartmentDesk"])
    return wiring
