"""Bus side of approval (承办): publishes the service's outbox; handlers arrive with the case flow."""
from services.bus import Kernel


class ApprovalService:
    name = "approval"
    kernel = Kernel()
