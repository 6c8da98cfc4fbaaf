"""The routing bus process: plans every accepted case (转办) and hands it to approval."""
import datetime as dt
import functools

from services.bus import Kernel, on_event
from services.config import Settings
from services.reference import load_reference

from .plan import route


@functools.cache
def _settings() -> Settings:
    return Settings()


def _reference():
    return load_reference(_settings())


class RoutingService:
    name = "routing"
    kernel = Kernel(warm=_reference)

    @on_event("intake", "ApplicationAccepted")
    def route_case(self, uow, envelope):
        settings = _settings()
        ref = _reference()
        p = envelope.payload
        plan = route(ref.org, ref.catalogue.item(p["item_code"]), p["organisation"],
                     dt.date.fromisoformat(p["accepted_on"]), ref.calendar,
                     settings.transfer_limit_days)
        uow.emit("CaseRouted", envelope.case_number, plan)
