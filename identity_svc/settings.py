"""The settings of identity: the signing keys, credentials' life, sign-in limits, the duty rota."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from services.config import ROOT, Settings, readable_file


class IdentitySettings(Settings):
    signing_keys: Path = Field(ROOT / ".secrets" / "signing-keys.yaml",
                               description="YAML secrets file of the credentials' signing keys (Ed25519), "
                                           "re-read when it changes; `./onewindow keys rotate` adds one")
    credential_minutes: int = Field(15, ge=1, le=720, description="life of a signed-in person's credential")
    sign_in_backoff_after: int = Field(5, ge=1, le=100, description="wrong passwords in a row before an account "
                                                                    "backs off")
    sign_in_backoff_seconds: int = Field(30, ge=1, le=3600, description="the first back-off; each further wrong "
                                                                        "password doubles it")
    sign_in_backoff_max_minutes: int = Field(15, ge=1, le=1440, description="the longest back-off of an account")
    sign_in_failures_per_address: int = Field(30, ge=1, le=100_000, description="wrong sign-ins from one client "
                                                                                "address in the window")
    sign_in_window_minutes: int = Field(15, ge=1, le=1440, description="window of the per-address limit")
    rota: Path = Field(ROOT / "deploy" / "rota.yaml", description="duty rota (值班: a centre's leader, a village "
                                                                  "room's cadre on each day), re-read when it changes")

    @field_validator("rota")
    @classmethod
    def _readable(cls, path: Path) -> Path:
        return readable_file(path)
