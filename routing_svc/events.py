"""Events routing publishes: the plan of a case (转办 hops and stages). (Their contracts: see services.contracts.)"""
from __future__ import annotations

import datetime as dt

from hall.domain import ItemKind, Level
from services.contracts import Payload, event

PRODUCER = "routing"


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


@event("CaseRouted", PRODUCER, "the plan of a case: each transfer hop with its limit (转办), and the stages with one task per department")
class CaseRouted(Payload):
    item_code: str
    kind: ItemKind
    transfers: list[Transfer]
    deciding_level: Level
    reported_up: bool  # 上报件: the county reviews, a level above the county decides
    stages: list[PlannedStage]
