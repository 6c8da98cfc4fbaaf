"""Events approval publishes: department handling (承办), the parallel-approval join and the conclusion. (Their contracts: see services.contracts.)"""
from __future__ import annotations

import datetime as dt

from hall.domain import Decision, ResultCode
from services.contracts import Actor, Payload, event

PRODUCER = "approval"


class OpenedTask(Payload):
    task_id: str
    department: str
    lead: bool
    limit_days: int
    deadline: dt.date
    organisation: str = ""  # the window or back office that handles it
    holder: str = ""  # the staff number it went to (A, or B covering); '' the organisation's pool
    post: str = ""  # the handler post


class Signature(Actor):
    step: str  # the post kind that signed: approver | checker
    opinion: str = ""


class DecisionRecord(Payload):
    """A department's decision (or a co-handler's answer), with who made it, who signed it off,
    where and when: what a stage's end and the conclusion report (the case history records each)."""

    department: str
    stage: int
    decision: Decision
    opinion: str
    legal_basis: str
    task_id: str = ""
    organisation: str = ""  # the deciding window or back office
    by: Actor | None = None
    signed_off: list[Signature] = []
    decided_at: dt.datetime | None = None


class RequestedMaterial(Payload):
    code: str
    problem: str


class CoHandlingAsk(Payload):
    task_id: str
    department: str
    ask: str
    limit_days: int
    organisation: str = ""
    holder: str = ""  # '' the organisation's pool


@event("StageOpened", PRODUCER, "a stage's tasks went to their departments at once (承办; 并联审批), with the decisions of the stage before")
class StageOpened(Payload):
    stage: int
    stage_name: str
    tasks: list[OpenedTask]
    previous_decisions: list[DecisionRecord] = []
    co_handling_answers: list[DecisionRecord] = []  # the co-handlers' answers in the stage before


@event("SupplementRequested", PRODUCER, "a department asked the applicant for material, once (缺件待补); late after 2 working days")
class SupplementRequested(Payload):
    task_id: str
    department: str
    materials: list[RequestedMaterial]
    note: str
    late: bool
    by: Actor | None = None


@event("TaskPaused", PRODUCER, "a task's clock stopped for a special procedure (特别程序) or a suspension (挂起)")
class TaskPaused(Payload):
    task_id: str
    department: str
    reason: str  # special_procedure | suspension
    procedure: str | None = None
    note: str
    until: dt.date | None = None
    # A special procedure's planned length in working days and the day it is expected to end,
    # when the department gave one (the end day is unknown while the calendar stops short of it).
    planned_days: int | None = None
    expected_end: dt.date | None = None
    by: Actor | None = None


@event("TaskResumed", PRODUCER, "a task's clock runs again; after a suspension its limit may have grown")
class TaskResumed(Payload):
    task_id: str
    department: str
    reason: str
    extension_days: int
    by: Actor | None = None


@event("CoHandlingRequested", PRODUCER, "the lead department asked co-handlers (协办) for contributions, all at once")
class CoHandlingRequested(Payload):
    lead_task_id: str
    department: str
    asks: list[CoHandlingAsk]
    cause: str | None = None  # a second request: co_handler_missed | lead_unclear
    lead_extension_days: int
    by: Actor | None = None


@event("TaskDecided", PRODUCER, "a department approved or rejected its task, with opinion and legal basis")
class TaskDecided(Payload):
    task_id: str
    department: str
    stage: int
    role: str
    decision: Decision
    opinion: str
    legal_basis: str
    organisation: str = ""  # the deciding window or back office
    by: Actor | None = None  # who made the decision (with a sign-off chain: who proposed it)
    signed_off: list[Signature] = []  # who signed it off (审批人, 核准人), in order


@event("CaseConcluded", PRODUCER, "the case ended (办结) with its result code and every department's decision, and was archived (建档)")
class CaseConcluded(Payload):
    result: ResultCode
    concluded_on: dt.date
    decisions: list[DecisionRecord]
    reasons: list[str]
    stage: int = 0  # the stage it ended in: its decisions and co-handling answers are reported here only
    co_handling_answers: list[DecisionRecord] = []  # those of that stage


@event("TaskClaimed", PRODUCER, "a person or a department's system took a task (签收); a person taking a task of the pool holds it")
class TaskClaimed(Payload):
    task_id: str
    department: str
    organisation: str
    holder: str = ""
    by: Actor | None = None


@event("TaskPooled", PRODUCER, "a new task found neither A nor B of its handler post present: it waits in its organisation's pool, and the centre manager is warned")
class TaskPooled(Payload):
    task_id: str
    department: str
    organisation: str
    post: str  # the handler post whose holders are away ('' when the organisation has no handler post)
    centre: str  # whose manager is warned


@event("TaskMoved", PRODUCER, "the centre manager gave an open task to another holder")
class TaskMoved(Payload):
    task_id: str
    department: str
    organisation: str
    from_holder: str = ""  # '' from the pool
    to_holder: str
    reason: str
    by: Actor


@event("DecisionProposed", PRODUCER, "a handler proposed a decision (拟办) on an item whose decision is signed off; it waits for the chain")
class DecisionProposed(Payload):
    task_id: str
    department: str
    organisation: str
    decision: Decision
    awaiting: str  # the post kind whose signature comes next
    by: Actor


@event("DecisionSigned", PRODUCER, "a signer of the chain agreed to a proposed decision or sent it back with reasons")
class DecisionSigned(Payload):
    task_id: str
    department: str
    organisation: str
    step: str  # approver | checker
    agreed: bool
    opinion: str
    awaiting: str = ""  # the next signer's post kind; '' when the decision took effect or went back
    by: Actor
