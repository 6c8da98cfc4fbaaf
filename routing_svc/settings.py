"""The settings of routing: the limit of each transfer hop (转办)."""
from __future__ import annotations

from pydantic import Field

from services.config import Settings


class RoutingSettings(Settings):
    transfer_limit_days: int = Field(1, ge=0, le=20, description="working days for each transfer hop (转办)")
