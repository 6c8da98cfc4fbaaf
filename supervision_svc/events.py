"""Events supervision publishes: warnings, instructions (督办), lapsed commitments, progress notices,
rectifications and complaint answers. (Their contracts: see services.contracts.)

An act of a person names them in `by` (optional: messages of the release before still wait in queues);
what the scan raises is the system's and names no one."""
from __future__ import annotations

import datetime as dt

from hall.domain import Contact
from services.contracts import Actor, Payload, event

PRODUCER = "supervision"


@event("WarningRaised", PRODUCER, "electronic supervision raised a yellow or red warning on a case or a step")
class WarningRaised(Payload):
    colour: str
    step: str
    department: str | None = None
    deadline: dt.date
    agent: str | None = None  # a proxy agent's own clock (the 办结反馈单 not signed in time): the agent


@event("WarningInstructed", PRODUCER, "the supervision office instructed the warned department (督办) and set a day for its reply")
class WarningInstructed(Payload):
    warning_id: int
    colour: str
    step: str
    department: str
    instruction: str
    reply_by: dt.date | None = None
    by: Actor | None = None  # the supervision officer who instructed


@event("CommitmentLapsed", PRODUCER, "the promised materials of a 容缺 case did not arrive in time: the case ends (补正超时驳回)")
class CommitmentLapsed(Payload):
    deadline: dt.date
    lapsed_on: dt.date


@event("ProgressNoticeRequired", PRODUCER, "a beyond-township case is due its written progress notice to the applicant")
class ProgressNoticeRequired(Payload):
    item_code: str
    accepted_on: dt.date
    days_used: int
    limit_days: int
    deadline: dt.date | None = None
    paused: bool


@event("RectificationCompleted", PRODUCER, "a bad rating's rectification item was closed (fixed, put on the ledger or explained)")
class RectificationCompleted(Payload):
    rating_id: int
    resolution: str
    note: str
    by: Actor | None = None  # who closed it


@event("ComplaintAnswered", PRODUCER, "a complaint (投诉) was answered")
class ComplaintAnswered(Payload):
    complaint_id: int
    department: str
    answer: str
    contact: Contact | None = None
    by: Actor | None = None  # who answered
