"""What a department asks of one of its tasks at the desk (commands, imperative), as typed values.

`Handling.act` takes any of them; the gRPC desk and the approval timer build them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Claim:
    """签收: the department takes the task."""

    task_id: str


@dataclass(frozen=True)
class RequestSupplement:
    """缺件待补: ask the applicant, once, for materials, each with its problem."""

    task_id: str
    materials: list[tuple[str, str]]  # (material code, problem)
    note: str


@dataclass(frozen=True)
class StartSpecialProcedure:
    """特别程序 (expert review, hearing, inspection, public notice): the clock stops. The applicant
    is told in writing, with the day it is expected to end if the department plans its length."""

    task_id: str
    procedure: str
    note: str
    planned_days: int = 0  # working days it is expected to take; 0: not known


@dataclass(frozen=True)
class EndSpecialProcedure:
    task_id: str


@dataclass(frozen=True)
class Suspend:
    """挂起 until a day, for a reason."""

    task_id: str
    until: dt.date
    reason: str


@dataclass(frozen=True)
class Resume:
    """The end of a suspension, growing the limit by `extension_days` (30% of it at most)."""

    task_id: str
    extension_days: int


TaskCommand = Claim | RequestSupplement | StartSpecialProcedure | EndSpecialProcedure | Suspend | Resume
