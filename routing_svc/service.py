"""The routing bus process: plans every accepted case (转办) and hands it to approval."""
from hall.reference import load_reference
from services.bus import Handler, Kernel, subscribe

from .settings import RoutingSettings
from .use_cases import Routing


def use_cases(settings: RoutingSettings) -> Routing:
    return Routing(load_reference(settings), settings.transfer_limit_days)


TIMERS = ()

HANDLERS = (
    Handler("intake", "ApplicationAccepted", "route_case", Routing.route),
)


@subscribe(HANDLERS)
class RoutingService:
    name = "routing"
    kernel = Kernel(use_cases, RoutingSettings)
