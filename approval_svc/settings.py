"""The settings of approval: the department desk's port."""
from __future__ import annotations

from pydantic import Field

from services.config import Settings


class ApprovalSettings(Settings):
    desk_port: int = Field(50052, ge=0, le=65535, description="gRPC port of the department desk")
