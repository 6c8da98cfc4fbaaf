"""Every service and its processes: the one list that `migrate`, `up` and the docs read."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str  # nameko service name = database schema = events exchange prefix
    package: str
    bus: str  # "module:Class" of the nameko service


SERVICES = (
    Service("intake", "intake_svc", "intake_svc.service:IntakeService"),
    Service("routing", "routing_svc", "routing_svc.service:RoutingService"),
    Service("approval", "approval_svc", "approval_svc.service:ApprovalService"),
    Service("notify", "notify_svc", "notify_svc.service:NotifyService"),
    Service("supervision", "supervision_svc", "supervision_svc.service:SupervisionService"),
)
