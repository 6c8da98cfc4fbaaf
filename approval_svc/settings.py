"""The settings of approval: none of its own yet (its API's port is the kernel's, which its clients
read too)."""
from __future__ import annotations

from services.config import Settings


class ApprovalSettings(Settings):
    pass
