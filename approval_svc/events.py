"""Events approval publishes: department handling (承办), the parallel-approval join and the conclusion. (Their contracts: see services.contracts.)"""
from __future__ import annotations

import datetime as dt

from hall.domain import Decision, ResultCode
from services.contracts import Payload, event

PRODUCER = "approval"


class OpenedTask(Payload):
    task_id: str
    department: str
    lead: bool
    limit_days: int
    deadline: dt.date


class DecisionRecord(Payload):
    department: str
    stage: int
    decision: Decision
    opinion: str
    legal_basis: str


class RequestedMaterial(Payload):
    code: str
    problem: str


class CoHandlingAsk(Payload):
    task_id: str
    department: str
    ask: str
    limit_days: int


@event("StageOpened", PRODUCER, "a stage's tasks went to their departments at once (承办; 并联审批), with the decisions of the stage before")
class StageOpened(Payload):
    stage: int
    stage_name: str
    tasks: list[OpenedTask]
    previous_decisions: list[DecisionRecord] = []


@event("SupplementRequested", PRODUCER, "a department asked the applicant for material, once (缺件待补); late after 2 working days")
class SupplementRequested(Payload):
    task_id: str
    department: str
    materials: list[RequestedMaterial]
    note: str
    late: bool


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


@event("TaskResumed", PRODUCER, "a task's clock runs again; after a suspension its limit may have grown")
class TaskResumed(Payload):
    task_id: str
    department: str
    reason: str
    extension_days: int


@event("CoHandlingRequested", PRODUCER, "the lead department asked co-handlers (协办) for contributions, all at once")
class CoHandlingRequested(Payload):
    lead_task_id: str
    department: str
    asks: list[CoHandlingAsk]
    cause: str | None = None  # a second request: co_handler_missed | lead_unclear
    lead_extension_days: int


@event("TaskDecided", PRODUCER, "a department approved or rejected its task, with opinion and legal basis")
class TaskDecided(Payload):
    task_id: str
    department: str
    stage: int
    role: str
    decision: Decision
    opinion: str
    legal_basis: str


@event("CaseConcluded", PRODUCER, "the case ended (办结) with its result code and every department's decision, and was archived (建档)")
class CaseConcluded(Payload):
    result: ResultCode
    concluded_on: dt.date
    decisions: list[DecisionRecord]
    reasons: list[str]
