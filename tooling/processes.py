"""Every service and its processes: the one list that `migrate`, `up` and the docs read."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Service:
    name: str  # nameko service name = database schema = events exchange prefix
    package: str
    bus: str | None  # "module:Class" of the nameko service, if the service has a bus side
    api: str | None = None  # module of the gRPC API process, if the service has one

    def bus_module(self):
        """The bus side's module: `use_cases(settings)`, `HANDLERS`, `TIMERS`, the nameko class."""
        return importlib.import_module(self.bus.partition(":")[0])

    def bus_class(self):
        """The nameko service class (its `HANDLERS` table, its queues)."""
        return getattr(self.bus_module(), self.bus.partition(":")[2])

    def handlers(self) -> tuple:
        """What the bus side consumes (`services.bus.Handler`s); none without a bus side."""
        return self.bus_class().HANDLERS if self.bus else ()


SERVICES = (
    Service("intake", "intake_svc", "intake_svc.service:IntakeService", "intake_svc.grpc_api"),
    Service("routing", "routing_svc", "routing_svc.service:RoutingService"),
    Service("approval", "approval_svc", "approval_svc.service:ApprovalService", "approval_svc.grpc_api"),
    Service("notify", "notify_svc", "notify_svc.service:NotifyService"),
    Service("supervision", "supervision_svc", "supervision_svc.service:SupervisionService", "supervision_svc.grpc_api"),
    Service("identity", "identity_svc", None, "identity_svc.grpc_api"),  # sign-in: no events, no bus side
)


# The web front: one more process, a client of the APIs, with its own schema for its sessions only
# (its migrations alone: it has no outbox, inbox or audit log of its own).
WEB_FRONT = "web_front"
WEB_MIGRATIONS = Path(__file__).resolve().parent.parent / WEB_FRONT / "migrations"


def commands(python: str) -> list[tuple[str, list[str]]]:
    """(process name, argv) of every process of every service, and of the web front."""
    procs = []
    for service in SERVICES:
        if service.bus:
            procs.append((f"{service.name}-bus", [python, "-m", "services.busrun", service.bus]))
        if service.api:
            procs.append((f"{service.name}-api", [python, "-m", "services.apirun", service.api]))
    procs.append(("web", [python, "-m", "web_front.run"]))
    return procs
