"""Every service and its processes: the one list that `migrate`, `up` and the docs read."""
from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Service:
    name: str  # nameko service name = database schema = events exchange prefix
    package: str
    bus: str  # "module:Class" of the nameko service
    api: str | None = None  # module of the gRPC API process, if the service has one

    def bus_module(self):
        """The bus side's module: `use_cases(settings)`, `HANDLERS`, `TIMERS`, the nameko class."""
        return importlib.import_module(self.bus.partition(":")[0])

    def bus_class(self):
        """The nameko service class (its `HANDLERS` table, its queues)."""
        return getattr(self.bus_module(), self.bus.partition(":")[2])


SERVICES = (
    Service("intake", "intake_svc", "intake_svc.service:IntakeService", "intake_svc.grpc_api"),
    Service("routing", "routing_svc", "routing_svc.service:RoutingService"),
    Service("approval", "approval_svc", "approval_svc.service:ApprovalService", "approval_svc.grpc_api"),
    Service("notify", "notify_svc", "notify_svc.service:NotifyService"),
    Service("supervision", "supervision_svc", "supervision_svc.service:SupervisionService", "supervision_svc.grpc_api"),
)


def commands(python: str) -> list[tuple[str, list[str]]]:
    """(process name, argv) of every process of every service."""
    procs = []
    for service in SERVICES:
        procs.append((f"{service.name}-bus", [python, "-m", "services.busrun", service.bus]))
        if service.api:
            procs.append((f"{service.name}-api", [python, "-m", "services.apirun", service.api]))
    return procs
