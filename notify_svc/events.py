"""Events notify publishes: whether a notice reached its channel. (Their contracts: see services.contracts.)"""
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
