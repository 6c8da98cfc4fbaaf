"""Pure domain types shared by every service: levels, organisations, items, channels, statuses.

No transport, no storage here. The catalogue and org chart models (pydantic, validated from
YAML) live in `hall.catalogue`; this module holds the vocabulary they and the services use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from services.contracts import Payload


class Level(str, Enum):
    """The three acceptance levels (村、乡镇、县), ordered from the bottom up."""

    VILLAGE = "village"
    TOWNSHIP = "township"
    COUNTY = "county"

    @property
    def rank(self) -> int:
        return _LEVEL_RANK[self]

    def above(self) -> Level | None:
        """The next level up, or None at the county."""
        return {Level.VILLAGE: Level.TOWNSHIP, Level.TOWNSHIP: Level.COUNTY}.get(self)


_LEVEL_RANK = {Level.VILLAGE: 0, Level.TOWNSHIP: 1, Level.COUNTY: 2}


class OrgKind(str, Enum):
    CENTRE = "centre"  # 便民服务中心 / 政务服务中心 (county or township)
    ACCEPTANCE_DESK = "acceptance_desk"  # 咨询受理部: accepts only, decides nothing
    WINDOW = "window"  # 办理部窗口: a department stationed in the centre; may accept and decide
    BACK_OFFICE = "back_office"  # 办理室: not stationed; handles only what the desk transfers
    VILLAGE_ROOM = "village_room"  # 便民服务室 / 代办站: accepts and passes on


# The village committee (村民委员会) as a deciding department: the one matter a village room settles itself,
# within the committee's own functions (seeds/004: 在职权范围内可以当场办理) — its certificates and opinions
# (村委会证明、村委会意见), decided at the room by its cadres. Every other item is accept-only at the village.
VILLAGE_COMMITTEE = "village_committee"


class ItemKind(str, Enum):
    """How a catalogue item is handled (办件类型). 退回件 is an outcome, not a kind."""

    IMMEDIATE = "immediate"  # 即办件: on the spot or the same day
    PROMISED = "promised"  # 承诺件: within the promised working days
    JOINT = "joint"  # 联办件: two or more departments
    REPORTED = "reported"  # 上报件: decided above the county, reported up and tracked


class JointMode(str, Enum):
    GENERAL = "general"  # waits for every co-handling window
    PRECONDITION = "precondition"  # needs only the co-handlers' commitments


class MaterialKind(str, Enum):
    ESSENTIAL = "essential"  # 主要材料: missing means no acceptance
    SECONDARY = "secondary"  # 次要材料: may be promised later (容缺受理)


class Attendance(str, Enum):
    PROXY_ALLOWED = "proxy_allowed"  # 代办类: an agent may carry it
    IN_PERSON = "in_person"  # 直办类: the applicant (or an inspection) must be there


class Channel(str, Enum):
    WINDOW = "window"
    VILLAGE_ROOM = "village_room"
    PROXY_AGENT = "proxy_agent"
    ONLINE = "online"


class CaseStatus(str, Enum):
    """Every status a case takes, at intake (the record) and at approval (its handling)."""

    ACCEPTED = "accepted"
    ACCEPTED_WITH_COMMITMENT = "accepted_with_commitment"  # 容缺受理
    SUPPLEMENT_REQUIRED = "supplement_required"  # 一次性告知 issued
    NOT_ACCEPTED = "not_accepted"  # 不予受理 / 退回件
    CONSULTED = "consulted"  # 咨询: answered at the window, no case
    IN_HANDLING = "in_handling"  # routed to the departments
    WAITING_SUPPLEMENT = "waiting_supplement"  # a department asked the applicant for material (补正)
    CONCLUDED = "concluded"  # 办结
    WITHDRAWN = "withdrawn"


class ResultCode(str, Enum):
    """Result codes of provincial data specs (办结结果)."""

    ISSUED = "issued"  # 出证
    RETURNED = "returned"  # 退回
    VOIDED = "voided"  # 作废
    DELETED = "deleted"  # 删除
    REPORTED_UP = "reported_up"  # 转报
    SUPPLEMENT_TIMEOUT = "supplement_timeout"  # 补正超时驳回
    CONCLUDED = "concluded"  # 办结
    REJECTED = "rejected"  # 不予许可


class TaskStatus(str, Enum):
    ASSIGNED = "assigned"
    CLAIMED = "claimed"
    WAITING_SUPPLEMENT = "waiting_supplement"
    SPECIAL_PROCEDURE = "special_procedure"
    SUSPENDED = "suspended"
    DECIDED = "decided"
    WITHDRAWN = "withdrawn"  # the applicant withdrew the case


class Decision(str, Enum):
    APPROVE = "approve"
    REJECT = "reject"


@dataclass(frozen=True)
class Applicant:
    name: str
    id_number: str  # 身份证号 or 统一社会信用代码; masked wherever shown
    phone: str
    email: str = ""


@dataclass(frozen=True)
class ProvidedMaterial:
    code: str
    defect: str | None = None  # why the clerk found it defective, if so
    certificate: str | None = None  # the case number of a village committee's certificate standing for it


@dataclass(frozen=True)
class Application:
    """What arrives at a window, a village room, through an agent or online."""

    item_code: str
    applicant: Applicant
    channel: Channel
    organisation: str  # the accepting organisation's code
    first_clerk: str  # 首问负责人
    materials: tuple[ProvidedMaterial, ...] = ()
    form: dict = field(default_factory=dict)
    agent: str | None = None
    consent_ref: str | None = None  # 委托单 reference, required for an agent
    project_code: str | None = None  # 项目代码, required for investment items
    request_id: str | None = None  # the client's idempotency key
    commitment_signed: bool = False  # 容缺: the applicant signs to bring secondary materials later
    accompanied_by: str | None = None  # 带领: the agent who accompanied the applicant to an in-person item


class Contact(Payload):
    """How to reach the applicant (notices only; masked wherever shown)."""

    name: str
    phone: str
    email: str = ""


# What the applicant is told of each step of a case's history (the public lookup, the written
# progress notice): the history entry's kind and its Chinese summary.
PUBLIC_STEPS = {
    "received": "已收件", "accepted": "已受理", "one_time_notice": "一次性告知：请补齐材料", "not_accepted": "不予受理",
    "materials_supplied": "已补交材料", "routed": "已转办", "stage_opened": "部门审批中",
    "supplement_requested": "部门要求补正材料", "task_paused": "特别程序或中止", "task_resumed": "恢复办理",
    "co_handling_requested": "协办中", "task_pooled": "待分配承办人", "task_claimed": "部门已签收",
    "task_moved": "部门调整承办人", "decision_proposed": "已拟办，待审核签批", "decision_signed": "审核签批",
    "decided": "部门已作出审批决定", "co_handling_answered": "协办部门已答复", "concluded": "已办结", "withdrawn": "已撤回",
    "notice_delivered": "已发送通知", "fee_collected": "已收费", "result_card_signed": "已签收办理结果",
    "handed_over": "村代办员已移交乡级代办员", "handover_confirmed": "乡级代办员已接收", "agent_reassigned": "代办员变更",
}
