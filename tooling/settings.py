"""Every process's settings in one: what `up`, `config`, `demo`, `load`, `chaos` and the tests read.

Each service's settings class adds its own to the kernel's; this one joins them all, and checks what
only matters when they run side by side (one host: the gRPC ports differ)."""
from __future__ import annotations

from pydantic import model_validator

from approval_svc.settings import ApprovalSettings
from identity_svc.settings import IdentitySettings
from intake_svc.settings import IntakeSettings
from notify_svc.settings import NotifySettings
from routing_svc.settings import RoutingSettings
from supervision_svc.settings import SupervisionSettings
from web_front.settings import WebSettings


class SystemSettings(IntakeSettings, RoutingSettings, ApprovalSettings, NotifySettings, SupervisionSettings,
                     IdentitySettings, WebSettings):
    @model_validator(mode="after")
    def _ports_differ(self) -> SystemSettings:
        ports = {"intake_port": self.intake_port, "desk_port": self.desk_port,
                 "supervision_port": self.supervision_port, "identity_port": self.identity_port}
        used = [p for p in ports.values() if p]
        if len(used) != len(set(used)):
            raise ValueError(f"the gRPC ports must differ: {ports}")
        return self
