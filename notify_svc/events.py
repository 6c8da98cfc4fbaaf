"""Events notify publishes: whether a notice reached its channel.

The payload contracts of this service's events (its published language): the kernel's registry
gathers them through the `onewindow.events` entry point, so consumers check what they receive
without importing this service."""
from __future__ import annotations

from services.contracts import Payload, event

PRODUCER = "notify"


@event("NoticeDelivered", PRODUCER, "a notice reached its channel (e-mail, SMS, webhook); the recipient masked")
class NoticeDelivered(Payload):
    notice: str
    channel: str
    recipient: str
    attempts: int = 1


@event("NoticeFailed", PRODUCER, "a notice could not be delivered: a permanent failure or the attempts ran out",
       outside="systems listening on notify.events (a county's call centre follows up by phone)")
class NoticeFailed(Payload):
    notice: str
    channel: str
    recipient: str
    attempts: int
    error: str
