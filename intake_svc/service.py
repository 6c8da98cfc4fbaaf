"""Bus side of intake (受理): publishes the service's outbox; handlers arrive with the case flow."""
from services.bus import Kernel


class IntakeService:
    name = "intake"
    kernel = Kernel()
