"""Message contracts: one envelope for every event, and a registry of every event type.

Events are named in the past tense and published by exactly one service (to its nameko events
exchange `<service>.events`, routing key = event name). On the wire each is the JSON of an
`Envelope`; its payload is checked against the registered schema of that name and version both
when it is written to the outbox and when a handler receives it.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from .domain import Channel, Decision, ItemKind, Level, ResultCode


class ContractError(ValueError):
    """A message that does not match its contract: never retried, it goes to the dead letters."""


class Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: uuid.UUID
    type: str
    version: int
    occurred_at: AwareDatetime
    source: str
    case_number: str | None
    payload: dict[str, Any]

    def to_wire(self) -> dict:
        return self.model_dump(mode="json")


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    producer: str
    consumers: tuple[str, ...]
    schema: type[Payload]
    meaning: str


REGISTRY: dict[tuple[str, int], EventType] = {}


def event(name: str, producer: str, consumers: tuple[str, ...], meaning: str, version: int = 1):
    def register(schema: type[Payload]) -> type[Payload]:
        REGISTRY[(name, version)] = EventType(name, version, producer, consumers, schema, meaning)
        return schema

    return register


def new_envelope(source: str, name: str, case_number: str | None, payload: dict, now: dt.datetime,
                 version: int = 1) -> Envelope:
    spec = REGISTRY.get((name, version))
    if spec is None:
        raise ContractError(f"unknown event {name} v{version}")
    if spec.producer != source:
        raise ContractError(f"{name} is published by {spec.producer}, not {source}")
    try:
        checked = spec.schema.model_validate(payload).model_dump(mode="json")
    except ValidationError as exc:
        raise ContractError(f"{name} v{version}: {exc}") from None
    return Envelope(id=uuid.uuid4(), type=name, version=version, occurred_at=now, source=source,
                    case_number=case_number, payload=checked)


def parse_envelope(raw: Any) -> Envelope:
    """A received message, checked against its contract."""
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as exc:
        raise ContractError(f"not an onewindow envelope: {exc}") from None
    spec = REGISTRY.get((envelope.type, envelope.version))
    if spec is None:
        raise ContractError(f"unknown event {envelope.type} v{envelope.version}")
    try:
        spec.schema.model_validate(envelope.payload)
    except ValidationError as exc:
        raise ContractError(f"{envelope.type} v{envelope.version}: {exc}") from None
    return envelope


def events_table(registry: dict[tuple[str, int], EventType] | None = None) -> str:
    """Markdown table of every registered event: the one docs/architecture.md shows."""
    lines = ["| event | version | producer | consumers | meaning |", "| --- | --- | --- | --- | --- |"]
    for spec in sorted((registry or REGISTRY).values(), key=lambda s: (s.producer, s.name, s.version)):
        lines.append(f"| `{spec.name}` | {spec.version} | {spec.producer} | {', '.join(spec.consumers)} | {spec.meaning} |")
    return "\n".join(lines)


# --- the events ------------------------------------------------------------------------------
INTAKE, ROUTING, APPROVAL, NOTIFY, SUPERVISION = "intake", "routing", "approval", "notify", "supervision"


class Contact(Payload):
    """How to reach the applicant (notices only; masked wherever shown)."""

    name: str
    phone: str
    email: str = ""


@event("ApplicationAccepted", INTAKE, (ROUTING, SUPERVISION, NOTIFY), "a case was accepted (受理), with or without a commitment (容缺)")
class ApplicationAccepted(Payload):
    item_code: str
    kind: ItemKind
    level: Level
    organisation: str
    channel: Channel
    first_clerk: str
    agent: str | None = None
    project_code: str | None = None
    applicant_key: str | None = None  # digest of applicant and item: finds a case accepted twice
    accepted_on: dt.date
    promised_deadline: dt.date
    commitment_deadline: dt.date | None = None
    promised_materials: list[str] = []  # secondary materials the applicant committed to bring
    contact: Contact | None = None


@event("SupplementNoticeIssued", INTAKE, (SUPERVISION, NOTIFY), "a one-time notice (一次性告知) listed every missing or defective material")
class SupplementNoticeIssued(Payload):
    item_code: str
    organisation: str
    missing: list[str]
    defective: dict[str, str]
    contact: Contact | None = None


@event("ApplicationRejected", INTAKE, (SUPERVISION, NOTIFY), "not accepted, with reasons (不予受理 / 退回件)")
class ApplicationRejected(Payload):
    item_code: str
    organisation: str
    reasons: list[str]
    contact: Contact | None = None


@event("MaterialsSupplied", INTAKE, (APPROVAL, SUPERVISION), "the applicant brought materials a department asked for (补正) or had promised (容缺)")
class MaterialsSupplied(Payload):
    materials: list[str]
    answers: str  # "department" (a task's supplement request) or "commitment"
    task_id: str | None = None


@event("ApplicationWithdrawn", INTAKE, (APPROVAL, SUPERVISION, NOTIFY), "the applicant withdrew the case before it concluded")
class ApplicationWithdrawn(Payload):
    reason: str


class Transfer(Payload):
    from_organisation: str
    to_organisation: str
    to_level: Level
    limit_days: int
    deadline: dt.date


class PlannedTask(Payload):
    department: str
    organisation: str


class PlannedStage(Payload):
    index: int
    name: str
    lead: str
    limit_days: int
    tasks: list[PlannedTask]


@event("CaseRouted", ROUTING, (APPROVAL, INTAKE, SUPERVISION, NOTIFY), "the plan of a case: each transfer hop with its limit (转办), and the stages with one task per department")
class CaseRouted(Payload):
    item_code: str
    kind: ItemKind
    transfers: list[Transfer]
    deciding_level: Level
    reported_up: bool  # 上报件: the county reviews, a level above the county decides
    stages: list[PlannedStage]


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


@event("StageOpened", APPROVAL, (INTAKE, SUPERVISION, NOTIFY), "a stage's tasks went to their departments at once (承办; 并联审批), with the decisions of the stage before")
class StageOpened(Payload):
    stage: int
    stage_name: str
    tasks: list[OpenedTask]
    previous_decisions: list[DecisionRecord] = []


class RequestedMaterial(Payload):
    code: str
    problem: str


@event("SupplementRequested", APPROVAL, (INTAKE, SUPERVISION, NOTIFY), "a department asked the applicant for material, once (缺件待补); late after 2 working days")
class SupplementRequested(Payload):
    task_id: str
    department: str
    materials: list[RequestedMaterial]
    note: str
    late: bool


@event("TaskPaused", APPROVAL, (INTAKE, SUPERVISION, NOTIFY), "a task's clock stopped for a special procedure (特别程序) or a suspension (挂起)")
class TaskPaused(Payload):
    task_id: str
    department: str
    reason: str  # special_procedure | suspension
    procedure: str | None = None
    note: str
    until: dt.date | None = None


@event("TaskResumed", APPROVAL, (INTAKE, SUPERVISION), "a task's clock runs again; after a suspension its limit may have grown")
class TaskResumed(Payload):
    task_id: str
    department: str
    reason: str
    extension_days: int


class CoHandlingAsk(Payload):
    task_id: str
    department: str
    ask: str
    limit_days: int


@event("CoHandlingRequested", APPROVAL, (INTAKE, SUPERVISION, NOTIFY), "the lead department asked co-handlers (协办) for contributions, all at once")
class CoHandlingRequested(Payload):
    lead_task_id: str
    department: str
    asks: list[CoHandlingAsk]
    cause: str | None = None  # a second request: co_handler_missed | lead_unclear
    lead_extension_days: int


@event("TaskDecided", APPROVAL, (SUPERVISION, NOTIFY), "a department approved or rejected its task, with opinion and legal basis")
class TaskDecided(Payload):
    task_id: str
    department: str
    stage: int
    role: str
    decision: Decision
    opinion: str
    legal_basis: str


@event("CaseConcluded", APPROVAL, (INTAKE, SUPERVISION, NOTIFY), "the case ended (办结) with its result code and every department's decision, and was archived (建档)")
class CaseConcluded(Payload):
    result: ResultCode
    concluded_on: dt.date
    decisions: list[DecisionRecord]
    reasons: list[str]


@event("WarningRaised", SUPERVISION, (NOTIFY,), "electronic supervision raised a yellow or red warning on a case or a step")
class WarningRaised(Payload):
    colour: str
    step: str
    department: str | None = None
    deadline: dt.date


@event("WarningInstructed", SUPERVISION, (NOTIFY,), "the supervision office instructed the warned department (督办) and set a day for its reply")
class WarningInstructed(Payload):
    warning_id: int
    colour: str
    step: str
    department: str
    instruction: str
    reply_by: dt.date | None = None


@event("CommitmentLapsed", SUPERVISION, (APPROVAL,), "the promised materials of a 容缺 case did not arrive in time: the case ends (补正超时驳回)")
class CommitmentLapsed(Payload):
    deadline: dt.date
    lapsed_on: dt.date


@event("ProgressNoticeRequired", SUPERVISION, (NOTIFY,), "a beyond-township case is due its written progress notice to the applicant")
class ProgressNoticeRequired(Payload):
    item_code: str
    accepted_on: dt.date
    days_used: int
    limit_days: int
    deadline: dt.date | None = None
    paused: bool


@event("RectificationCompleted", SUPERVISION, (NOTIFY,), "a bad rating's rectification item was closed (fixed, put on the ledger or explained)")
class RectificationCompleted(Payload):
    rating_id: int
    resolution: str
    note: str


@event("ComplaintAnswered", SUPERVISION, (NOTIFY,), "a complaint (投诉) was answered")
class ComplaintAnswered(Payload):
    complaint_id: int
    department: str
    answer: str
    contact: Contact | None = None


@event("NoticeDelivered", NOTIFY, (INTAKE, SUPERVISION), "a notice reached its channel (e-mail, SMS, webhook); the recipient masked")
class NoticeDelivered(Payload):
    notice: str
    channel: str
    recipient: str
    attempts: int = 1


@event("NoticeFailed", NOTIFY, (SUPERVISION,), "a notice could not be delivered: a permanent failure or the attempts ran out")
class NoticeFailed(Payload):
    notice: str
    channel: str
    recipient: str
    attempts: int
    error: str
