"""The settings of intake: the public Track limits, the 容缺 commitment (its API's port is the kernel's)."""
from __future__ import annotations

from pydantic import Field

from services.config import Settings


class IntakeSettings(Settings):
    track_failures_per_case: int = Field(5, ge=1, le=1000, description="failed public Track attempts on one case "
                                                                       "number in the window before it is refused")
    track_failures_per_address: int = Field(30, ge=1, le=100_000, description="failed public Track attempts from "
                                                                              "one client address in the window")
    track_window_minutes: int = Field(60, ge=1, le=10_080, description="window of the Track attempt limits")
    commitment_days: int = Field(5, ge=1, le=60, description="working days to bring promised materials (容缺)")
