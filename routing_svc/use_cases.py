"""Routing's use case: plan an accepted case (转办 hops and stages) and hand it on as `CaseRouted`."""
from __future__ import annotations

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
        accepted = envelope.body  # intake's ApplicationAccepted
        plan = route(self.ref.org, self.ref.catalogue.item(accepted.item_code), accepted.organisation,
                     accepted.accepted_on, self.ref.calendar, self.transfer_limit_days)
        uow.emit("CaseRouted", envelope.case_number, plan)
