"""Bus side of notification (回复): publishes the service's outbox; handlers arrive with notices."""
from services.bus import Kernel


class NotifyService:
    name = "notify"
    kernel = Kernel()
