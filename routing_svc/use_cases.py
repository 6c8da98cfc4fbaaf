"""Routing's use case: plan an accepted case (转办 hops and stages) and hand it on as `CaseRouted`."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hall.reference import Reference
from services.contracts import Envelope
from services.uow import UnitOfWork

from .plan import route


@dataclass(frozen=True)
class Routing:
    ref: Reference
    transfer_limit_days: int

    def route(self, uow: UnitOfWork, envelope: Envelope) -> None:
        p = envelope.payload
        plan = route(self.ref.org, self.ref.catalogue.item(p["item_code"]), p["organisation"],
                     dt.date.fromisoformat(p["accepted_on"]), self.ref.calendar, self.transfer_limit_days)
        uow.emit("CaseRouted", envelope.case_number, plan)
