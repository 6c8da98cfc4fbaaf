"""Events intake publishes: acceptance (受理), one-time notices, refusals, materials and withdrawals. (Their contracts: see services.contracts.)

Each names who did the act in `by` (the signed-in clerk at a post, or the system by its token's
holder): optional, as messages of the release before it still wait in queues."""
from __future__ import annotations

import datetime as dt

from hall.domain import Channel, Contact, ItemKind, Level
from services.contracts import Actor, Payload, event

PRODUCER = "intake"


@event("ApplicationAccepted", PRODUCER, "a case was accepted (受理), with or without a commitment (容缺)")
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
    accompanied_by: str | None = None  # 带领: the agent who accompanied the applicant to an in-person item
    accepted_on: dt.date
    promised_deadline: dt.date
    commitment_deadline: dt.date | None = None
    promised_materials: list[str] = []  # secondary materials the applicant committed to bring
    contact: Contact | None = None
    by: Actor | None = None  # who did the act


@event("SupplementNoticeIssued", PRODUCER, "a one-time notice (一次性告知) listed every missing or defective material")
class SupplementNoticeIssued(Payload):
    item_code: str
    organisation: str
    missing: list[str]
    defective: dict[str, str]
    contact: Contact | None = None
    by: Actor | None = None  # who did the act


@event("ConsultationAnswered", PRODUCER, "a consultation (咨询) was answered at a window, a village room or online: no case")
class ConsultationAnswered(Payload):
    item_code: str
    organisation: str
    channel: Channel
    first_clerk: str
    agent: str | None = None
    answered_on: dt.date
    by: Actor | None = None  # who did the act


@event("ApplicationRejected", PRODUCER, "not accepted, with reasons (不予受理 / 退回件)")
class ApplicationRejected(Payload):
    item_code: str
    organisation: str
    reasons: list[str]
    contact: Contact | None = None
    by: Actor | None = None  # who did the act


@event("MaterialsSupplied", PRODUCER, "the applicant brought materials a department asked for (补正) or had promised (容缺)")
class MaterialsSupplied(Payload):
    materials: list[str]
    answers: str  # "department" (a task's supplement request) or "commitment"
    task_id: str | None = None
    by: Actor | None = None  # who did the act


@event("ApplicationWithdrawn", PRODUCER, "the applicant withdrew the case before it concluded")
class ApplicationWithdrawn(Payload):
    reason: str
    by: Actor | None = None  # who did the act


@event("FeeCollected", PRODUCER, "the fee of a case was collected once (一次性收费) and its receipt (收费票据) issued")
class FeeCollected(Payload):
    item_code: str
    organisation: str  # where it was collected
    amount_fen: int  # in fen (分): 1 yuan = 100
    receipt_number: str  # the fee receipt's number (收费票据号)
    collected_on: dt.date
    by: Actor | None = None  # who did the act


@event("ResultCardSigned", PRODUCER, "the applicant of a proxy case signed the agent's 办结反馈单 for its result")
class ResultCardSigned(Payload):
    agent: str
    organisation: str  # where the case was accepted
    signed_on: dt.date
    mark: str  # signature (签字) or thumbprint (按手印)
    by: Actor | None = None  # who recorded it


@event("CaseAgentsChanged", PRODUCER, "another agent has a proxy case: a township agent confirmed a village agent's "
       "hand-over (乡级代办员), or an agent leaving office gave its cases to another")
class CaseAgentsChanged(Payload):
    agent: str  # the agent who answers to the applicant and gets the 办结反馈单 signed
    carrier: str | None = None  # the township agent who carries it above the township, after a hand-over
    organisation: str  # where the case was accepted
    by: Actor | None = None
