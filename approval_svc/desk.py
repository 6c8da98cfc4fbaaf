"""Department handling rules (承办): what a task's state allows, its clock, and the stage join.

Pure: a function takes a task and returns the changed task (or raises `NotAllowedNow` /
`InvalidRequest`); `handling` persists it and emits the events.
"""
from __future__ import annotations

import calendar as months
import datetime as dt
from dataclasses import dataclass, replace

from hall.calendar import WorkingCalendar
from hall.clock import Clock, Pause, PauseReason, Reading
from hall.domain import Decision, ResultCode, TaskStatus
from services.errors import InvalidRequest, NotAllowedNow, Violations

LEAD, PARALLEL, CO_HANDLING = "lead", "parallel", "co_handling"
SUPPLEMENT_DUE_DAYS = 2  # a supplement request later than this after receipt is the department's delay
SUSPENSION_MONTHS = 3
SUSPENSION_GROWTH = 0.3  # after a suspension the limit grows by at most 30%
PROCEDURES = ("expert_review", "hearing", "inspection", "public_notice")
WORKABLE = (TaskStatus.ASSIGNED, TaskStatus.CLAIMED)


@dataclass(frozen=True)
class Proposal:
    """A decision the handler proposed (拟办意见) on an item whose decision is signed off: it takes
    effect when every post of the item's chain (审批人, 核准人 …) has signed, in order."""

    decision: Decision
    opinion: str
    legal_basis: str
    documents: tuple[str, ...]
    by: dict  # contracts.Actor: the handler who proposed it
    chain: tuple[str, ...]  # the item's sign-off posts when it was proposed, in order
    signatures: tuple[dict, ...] = ()  # Actor + step (the post kind) + opinion, in the chain's order

    @property
    def awaiting(self) -> str:
        """The post kind whose signature comes next."""
        return self.chain[len(self.signatures)]


@dataclass(frozen=True)
class Task:
    id: str
    case_number: str
    item_code: str
    stage: int
    stage_name: str
    department: str
    organisation: str
    role: str
    status: TaskStatus
    assigned_on: dt.date
    limit_days: int
    extension_days: int = 0
    pauses: tuple[Pause, ...] = ()
    supplement_requested_on: dt.date | None = None
    supplement_late: bool = False
    suspended_until: dt.date | None = None
    suspension_extension_days: int = 0
    procedure: str | None = None
    ask: str | None = None
    lead_task_id: str | None = None
    round: int = 0
    decision: Decision | None = None
    opinion: str | None = None
    legal_basis: str | None = None
    documents: tuple[str, ...] = ()
    decided_at: dt.datetime | None = None
    holder: str | None = None  # the staff number holding it (A or B of the handler post); None: the pool
    post: str = ""  # the handler post it went to
    proposal: Proposal | None = None  # a proposed decision waiting for sign-off
    decided_by: dict | None = None  # contracts.Actor of the decision (the proposer, with a sign-off chain)
    signed_off: tuple[dict, ...] = ()  # who signed the decision off, in the chain's order

    @property
    def clock(self) -> Clock:
        return Clock(self.assigned_on, self.limit_days, self.pauses, self.extension_days)

    def read(self, cal: WorkingCalendar, today: dt.date) -> Reading:
        return self.clock.read(cal, today)


def task_id(case_number: str, stage: int, department: str, round: int = 0) -> str:
    base = f"{case_number}.{stage}.{department}"
    return f"{base}.co{round}" if round else base


def _workable(task: Task, action: str) -> None:
    if task.status not in WORKABLE:
        raise NotAllowedNow(f"cannot {action} task {task.id}: it is {task.status.value}")
    if task.proposal is not None:
        raise NotAllowedNow(f"cannot {action} task {task.id}: its proposed decision awaits sign-off "
                            f"by the {SIGN_OFF_LABELS[task.proposal.awaiting]}")


def claim(task: Task, person: str = "") -> Task:
    """签收; a person claiming a task of the pool becomes its holder."""
    holder = task.holder or person or None
    if task.status == TaskStatus.CLAIMED and holder == task.holder:
        return task  # a retried claim
    if task.status != TaskStatus.CLAIMED:
        _workable(task, "claim")
    return replace(task, status=TaskStatus.CLAIMED, holder=holder)


def move(task: Task, to: str, post: str) -> Task:
    """The centre manager gives an open task to another holder (a long absence, a person who left)."""
    if task.status in (TaskStatus.DECIDED, TaskStatus.WITHDRAWN):
        raise NotAllowedNow(f"task {task.id} is {task.status.value}: only open tasks move")
    if task.holder == to:
        raise NotAllowedNow(f"task {task.id} is held by {to} already")
    return replace(task, holder=to, post=post)


def request_supplement(task: Task, cal: WorkingCalendar, today: dt.date, materials: list[tuple[str, str]]) -> Task:
    """Once per task; within 2 working days of receipt the clock stops, later the wait is the department's."""
    if not materials:
        raise InvalidRequest([("materials", "name at least one material")])
    if task.role == CO_HANDLING:
        raise NotAllowedNow("a co-handler asks the lead, not the applicant")
    if task.supplement_requested_on is not None:
        raise NotAllowedNow(f"task {task.id} already asked for material once (缺件待补 only once)")
    _workable(task, "ask for material on")
    late = cal.between(task.assigned_on, today) > SUPPLEMENT_DUE_DAYS
    clock = task.clock if late else task.clock.pause(today, PauseReason.SUPPLEMENT)
    return replace(task, status=TaskStatus.WAITING_SUPPLEMENT, supplement_requested_on=today,
                   supplement_late=late, pauses=clock.pauses)


def materials_supplied(task: Task, today: dt.date) -> Task:
    if task.status != TaskStatus.WAITING_SUPPLEMENT:
        raise NotAllowedNow(f"task {task.id} is not waiting for material")
    clock = task.clock.resume(today) if task.clock.paused else task.clock
    return replace(task, status=TaskStatus.CLAIMED, pauses=clock.pauses)


def start_special_procedure(task: Task, today: dt.date, procedure: str) -> Task:
    if procedure not in PROCEDURES:
        raise InvalidRequest([("procedure", f"one of {', '.join(PROCEDURES)}")])
    _workable(task, "start a special procedure on")
    return replace(task, status=TaskStatus.SPECIAL_PROCEDURE, procedure=procedure,
                   pauses=task.clock.pause(today, PauseReason.SPECIAL_PROCEDURE).pauses)


def end_special_procedure(task: Task, today: dt.date) -> Task:
    if task.status != TaskStatus.SPECIAL_PROCEDURE:
        raise NotAllowedNow(f"task {task.id} is not in a special procedure")
    return replace(task, status=TaskStatus.CLAIMED, procedure=None, pauses=task.clock.resume(today).pauses)


def add_months(day: dt.date, n: int) -> dt.date:
    month = day.month - 1 + n
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, months.monthrange(year, month)[1]))


def suspend(task: Task, today: dt.date, until: dt.date) -> Task:
    latest = add_months(today, SUSPENSION_MONTHS)
    if not today < until <= latest:
        raise InvalidRequest([("until", f"after today and at most 3 months ahead (by {latest})")])
    _workable(task, "suspend")
    return replace(task, status=TaskStatus.SUSPENDED, suspended_until=until,
                   pauses=task.clock.pause(today, PauseReason.SUSPENSION).pauses)


def growth_cap(task: Task) -> int:
    """Working days the limit may still grow by after suspensions (30% of the limit in all)."""
    return int(task.limit_days * SUSPENSION_GROWTH) - task.suspension_extension_days


def resume(task: Task, today: dt.date, extension_days: int) -> Task:
    if task.status != TaskStatus.SUSPENDED:
        raise NotAllowedNow(f"task {task.id} is not suspended")
    if not 0 <= extension_days <= growth_cap(task):
        raise InvalidRequest([("extension_days", f"between 0 and {growth_cap(task)} (30% of the limit in all)")])
    return replace(task, status=TaskStatus.CLAIMED, suspended_until=None,
                   pauses=task.clock.resume(today).pauses, extension_days=task.extension_days + extension_days,
                   suspension_extension_days=task.suspension_extension_days + extension_days)


def co_handling(lead: Task, asks: list[tuple[str, str, int]], cause: str | None, earlier: list[Task],
                known_departments: set[str], today: dt.date) -> tuple[list[Task], int]:
    """The co-handling tasks of a request, and the days the lead's limit grows by.

    All co-handlers needed at one time are asked together: a first request is the only one
    without a cause. A second request goes only to departments already asked once and answered;
    if the co-handler missed the requirement the delay is theirs and the lead's limit grows by the
    co-handling limit, if the lead's ask was unclear the delay stays the lead's.
    """
    v = Violations()
    if not asks:
        v.add("asks", "ask at least one department")
    seen = set()
    for i, (dept, text, days) in enumerate(asks):
        if dept not in known_departments:
            v.add(f"asks[{i}].department", f"no department {dept!r}")
        elif dept == lead.department:
            v.add(f"asks[{i}].department", "a department does not co-handle its own task")
        if dept in seen:
            v.add(f"asks[{i}].department", "asked twice in one request")
        seen.add(dept)
        v.require(text, f"asks[{i}].ask", 1000)
        if not 1 <= days <= 60:
            v.add(f"asks[{i}].limit_days", "between 1 and 60 working days")
    v.check()
    if lead.role == CO_HANDLING:
        raise NotAllowedNow("a co-handling task cannot ask for co-handling")
    _workable(lead, "ask for co-handling on")
    rounds = {t.department: t for t in earlier}
    if cause is None:
        if earlier:
            raise NotAllowedNow("co-handlers are asked all at once: a further request is a second request "
                                "and names its cause")
        round = 1
    else:
        for i, (dept, _, _) in enumerate(asks):
            first = rounds.get(dept)
            if first is None:
                raise NotAllowedNow(f"{dept} was not asked in the first request: all co-handlers are asked at once")
            if first.round >= 2:
                raise NotAllowedNow(f"{dept} was already asked a second time")
            if first.status != TaskStatus.DECIDED:
                raise NotAllowedNow(f"{dept} has not answered the first request yet")
        round = 2
    tasks = [Task(id=task_id(lead.case_number, lead.stage, dept, round), case_number=lead.case_number,
                  item_code=lead.item_code, stage=lead.stage, stage_name=lead.stage_name, department=dept,
                  organisation="", role=CO_HANDLING, status=TaskStatus.ASSIGNED, assigned_on=today,
                  limit_days=days, ask=text, lead_task_id=lead.id, round=round) for dept, text, days in asks]
    growth = max(days for _, _, days in asks) if cause == "co_handler_missed" else 0
    return tasks, growth


def check_decision(decision: Decision | None, opinion: str, legal_basis: str, documents: list[str]) -> None:
    v = Violations()
    if decision not in (Decision.APPROVE, Decision.REJECT):
        v.add("decision", "APPROVE or REJECT")
    v.require(opinion, "opinion", 2000)
    v.require(legal_basis, "legal_basis", 1000)
    if len(documents) > 50 or any(not d or len(d) > 500 for d in documents):
        v.add("documents", "at most 50 references of 1 to 500 characters")
    v.check()


def _decidable(task: Task, open_co_handling: int) -> None:
    if task.status == TaskStatus.DECIDED:
        raise NotAllowedNow(f"task {task.id} is already decided")
    _workable(task, "decide")
    if open_co_handling:
        raise NotAllowedNow(f"task {task.id} waits for {open_co_handling} co-handling answer(s)")


def decide(task: Task, decision: Decision | None, opinion: str, legal_basis: str, documents: list[str],
           open_co_handling: int, now: dt.datetime, by: dict, signed_off: tuple[dict, ...] = ()) -> Task:
    check_decision(decision, opinion, legal_basis, documents)
    _decidable(task, open_co_handling)
    return replace(task, status=TaskStatus.DECIDED, decision=decision, opinion=opinion, legal_basis=legal_basis,
                   documents=tuple(documents), decided_at=now, decided_by=by, signed_off=signed_off)


# --- the sign-off chain (审批, 核准) ---------------------------------------------------------------

SIGN_OFF_LABELS = {"approver": "审批人 approver", "checker": "核准人 checker"}




def propose(task: Task, decision: Decision | None, opinion: str, legal_basis: str, documents: list[str],
            open_co_handling: int, by: dict, chain: list[str]) -> Task:
    """The handler's proposed decision (拟办) on an item signed off by a chain: nothing takes effect
    until the chain has signed."""
    check_decision(decision, opinion, legal_basis, documents)
    _decidable(task, open_co_handling)
    return replace(task, proposal=Proposal(decision, opinion, legal_basis, tuple(documents), by, tuple(chain)))


def sign_off(task: Task, post_kind: str, by: dict, agree: bool, opinion: str, open_co_handling: int,
             now: dt.datetime) -> Task:
    """One signature of the chain, by a person at the post whose turn it is; the last one makes the
    proposed decision the task's decision (the proposer named as its maker, the signers after).
    A refusal sends the proposal back to the handler with the refuser's opinion: nothing is decided.
    Nobody signs twice, nor signs their own proposal."""
    proposal = task.proposal
    if proposal is None:
        raise NotAllowedNow(f"task {task.id} has no proposed decision to sign off")
    if post_kind != proposal.awaiting:
        raise NotAllowedNow(f"the proposed decision on {task.id} waits for the {SIGN_OFF_LABELS[proposal.awaiting]}")
    if by["person"] in {proposal.by["person"], *(s["person"] for s in proposal.signatures)}:
        raise NotAllowedNow("one person signs a decision once: the proposer and each signer are different persons")
    v = Violations()
    if agree:
        if len(opinion) > 2000:
            v.add("opinion", "at most 2000 characters")
    else:
        v.require(opinion, "opinion", 2000)  # a refusal says why
    v.check()
    if not agree:
        return replace(task, proposal=None)
    signatures = (*proposal.signatures, {**by, "step": post_kind, "opinion": opinion})
    if len(signatures) < len(proposal.chain):
        return replace(task, proposal=replace(proposal, signatures=signatures))
    signed = replace(task, proposal=None)
    return decide(signed, proposal.decision, proposal.opinion, proposal.legal_basis, list(proposal.documents),
                  open_co_handling, now, proposal.by, signatures)


def checked_signers(chain: list[str], signers: list[tuple[str, dict | None, bool]]) -> tuple[dict, ...]:
    """A department system's own record of its sign-off: one signer per post of the chain, in order,
    each a person holding that post at the task's window or office, all different.
    `signers`: (staff number, the person as an Actor or None if unknown, whether they hold the post)."""
    v = Violations()
    if len(signers) != len(chain):
        v.add("signed_off", f"this item's decision is signed off by {', '.join(SIGN_OFF_LABELS[k] for k in chain)}: "
                            f"name {len(chain)} staff number(s) in that order")
        v.check()
    seen = set()
    for i, ((staff, actor, holds), kind) in enumerate(zip(signers, chain)):
        if actor is None:
            v.add(f"signed_off[{i}]", f"no active person {staff!r} in the staff register")
        elif not holds:
            v.add(f"signed_off[{i}]", f"{staff} holds no {SIGN_OFF_LABELS[kind]} post at the task's window or office")
        elif staff in seen:
            v.add(f"signed_off[{i}]", "each signer is a different person")
        seen.add(staff)
    v.check()
    return tuple({**actor, "step": kind, "opinion": ""} for (_, actor, _), kind in zip(signers, chain))


@dataclass(frozen=True)
class Join:
    """What the end of a stage means for the case (并联审批的汇总)."""

    complete: bool
    rejected: bool = False
    result: ResultCode | None = None  # when the case concludes
    reasons: tuple[str, ...] = ()


def join(stage_tasks: list[Task], last_stage: bool, reported_up: bool) -> Join:
    """A stage ends when every department decided: all approved, the next stage or the result;
    any rejection, the case concludes rejected with every rejecting department's reasons."""
    if any(t.status != TaskStatus.DECIDED for t in stage_tasks):
        return Join(False)
    reasons = tuple(f"{t.department}: {t.opinion}（{t.legal_basis}）" for t in stage_tasks
                    if t.decision == Decision.REJECT)
    if reasons:
        return Join(True, True, ResultCode.REJECTED, reasons)
    if not last_stage:
        return Join(True)
    return Join(True, result=ResultCode.REPORTED_UP if reported_up else ResultCode.ISSUED)
