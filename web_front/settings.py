"""The web front's settings: where it listens, which proxies it trusts, where the APIs are, its
sessions and the links it signs."""
from __future__ import annotations

import ipaddress
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from services.config import PREFIX, ROOT, Settings, readable_file


class WebSettings(Settings):
    web_port: int = Field(8080, ge=0, le=65535, description="HTTP(S) port of the web front")
    public_url: str = Field("http://127.0.0.1:8080", description="the address the public reaches the web front "
                                                                 "at: the links printed in QR codes")
    web_trusted_proxies: str = Field("", description="comma-separated addresses or networks of the reverse "
                                                     "proxies whose X-Forwarded-For and X-Forwarded-Proto are "
                                                     "believed; empty: none")
    web_tls_cert: Path | None = Field(None, description="PEM certificate chain the web front serves HTTPS with; "
                                                        "unset: plain HTTP (behind a TLS proxy, or localhost only)")
    web_tls_key: Path | None = Field(None, description="PEM private key matching web_tls_cert")
    web_secret: Path = Field(ROOT / ".secrets" / "web-secret.yaml",
                             description="YAML secrets file of the key the web front signs its links with "
                                         "(`migrate` writes it)")
    rating_link_days: int = Field(30, ge=1, le=365, description="days a rating link printed on a receipt is valid")
    session_idle_minutes: int = Field(30, ge=1, le=720, description="a signed-in session ends after this long "
                                                                    "without a request")
    session_hours: int = Field(10, ge=1, le=24, description="a signed-in session ends this long after sign-in")
    board_poll_seconds: float = Field(2.0, gt=0, le=60, description="how often the web front reads the board "
                                                                    "counts for every open board")
    web_db_pool_size: int = Field(5, ge=1, le=100, description="connections of the web front (its sessions)")

    @field_validator("web_trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                ipaddress.ip_network(part, strict=False)
            except ValueError:
                raise ValueError(f"not an address or network: {part!r}") from None
        return value

    @field_validator("web_tls_cert", "web_tls_key")
    @classmethod
    def _readable_tls(cls, path: Path | None) -> Path | None:
        return readable_file(path)

    @model_validator(mode="after")
    def _tls_pair(self) -> WebSettings:
        if (self.web_tls_cert is None) != (self.web_tls_key is None):
            raise ValueError(f"{PREFIX}WEB_TLS_CERT and {PREFIX}WEB_TLS_KEY go together: set both or neither")
        if not self.public_url.startswith(("http://", "https://")):
            raise ValueError(f"{PREFIX}PUBLIC_URL: expected http(s)://host[:port], got {self.public_url!r}")
        return self

    def trusted_proxies(self) -> list[str]:
        return [p.strip() for p in self.web_trusted_proxies.split(",") if p.strip()]
