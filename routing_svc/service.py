"""Bus side of routing (转办): publishes the service's outbox; handlers arrive with the case flow."""
from services.bus import Kernel


class RoutingService:
    name = "routing"
    kernel = Kernel()
