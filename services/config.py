"""Configuration from environment variables (prefix ONEWINDOW_), with documented defaults."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from pydantic import (BaseModel, ConfigDict, Field, RootModel, StringConstraints, ValidationError, field_validator,
                      model_validator)
from pydantic_settings import BaseSettings, SettingsConfigDict

from .yamlfile import Document

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "ONEWINDOW_"
SECRET = {"secret": True}  # marks a setting whose value `describe` never shows


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/", description="RabbitMQ (its password is a secret)")
    database_url: str = Field("postgresql://postgres@127.0.0.1:5432/onewindow",
                              description="PostgreSQL; the database is created by `migrate`")
    org: Path = Field(ROOT / "deploy" / "org.yaml", description="org chart (departments, organisations, agents)")
    catalogue: Path = Field(ROOT / "deploy" / "catalogue.yaml", description="catalogue of items (事项目录)")
    calendar: Path | None = Field(ROOT / "deploy" / "calendar.yaml",
                                  description="county calendar file; unset: chinese-calendar alone")
    metrics_port: int = Field(0, ge=0, le=65535, description="HTTP port of /metrics, /livez, /readyz; 0: none")
    dead_letter_after: int = Field(5, ge=1, le=100, description="failed attempts before a message is dead-lettered")
    relay_batch: int = Field(200, ge=1, le=10_000, description="outbox rows published per batch")
    retention_days: int = Field(30, ge=1, le=3650, description="days published outbox rows and inbox marks "
                                                              "are kept before housekeeping deletes them")
    relay_poll_seconds: float = Field(1.0, gt=0, le=60, description="outbox polling fallback to LISTEN/NOTIFY")
    db_pool_size: int = Field(10, ge=1, le=200, description="connections per bus process")
    api_db_pool_size: int = Field(20, ge=1, le=200, description="connections per gRPC process")
    intake_port: int = Field(50051, ge=0, le=65535, description="gRPC port of the intake API")
    desk_port: int = Field(50052, ge=0, le=65535, description="gRPC port of the department desk")
    supervision_port: int = Field(50053, ge=0, le=65535, description="gRPC port of the supervision API")
    desk_tokens: Path = Field(ROOT / ".secrets" / "desk-tokens.yaml",
                              description="YAML secrets file of the API tokens: holder code (department, "
                                          "organisation, agent, `supervision`) -> token")
    tls_cert: Path | None = Field(None, description="PEM certificate chain of the gRPC servers; unset: plaintext")
    tls_key: Path | None = Field(None, description="PEM private key matching tls_cert")
    tls_ca: Path | None = Field(None, description="PEM certificates the project's clients (CLI, load generator, "
                                                  "health checks) trust; unset: tls_cert itself")
    track_failures_per_case: int = Field(5, ge=1, le=1000, description="failed public Track attempts on one case "
                                                                       "number in the window before it is refused")
    track_failures_per_address: int = Field(30, ge=1, le=100_000, description="failed public Track attempts from "
                                                                              "one client address in the window")
    track_window_minutes: int = Field(60, ge=1, le=10_080, description="window of the Track attempt limits")
    grpc_workers: int = Field(64, ge=4, le=1000, description="threads per gRPC process (each watch holds one)")
    grpc_max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest gRPC request or reply")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail notices; unset: no e-mail")
    smtp_port: int = Field(25, ge=1, le=65535, description="port of the SMTP server")
    smtp_from: str = Field("noreply@onewindow.local", description="sender of e-mail notices")
    sms_gateway_url: str | None = Field(None, description="HTTP SMS gateway (POST JSON {to, text}); unset: no SMS")
    sms_gateway_token: str | None = Field(None, description="bearer token for the SMS gateway",
                                          json_schema_extra=SECRET)
    notify_webhooks: Path | None = Field(None, description="YAML of department -> {url, secret} for webhooks")
    notify_attempts: int = Field(5, ge=1, le=50, description="delivery attempts before a notice is dead")
    notify_backoff_seconds: float = Field(2.0, gt=0, le=3600, description="first retry delay, doubled each time")
    notify_poll_seconds: float = Field(0.5, gt=0, le=60, description="how often due notices are sent")
    warn_share: float = Field(0.8, gt=0, lt=1, description="share of a limit used that raises a yellow warning")
    supervision_poll_seconds: float = Field(5.0, gt=0, le=3600, description="how often clocks are scanned")
    suggestion_after_reds: int = Field(3, ge=1, le=100, description="red warnings of a department in a month "
                                                                    "that make a supervision suggestion")
    rectification_days: int = Field(15, ge=1, le=60, description="working days to rectify a bad rating (整改)")
    complaint_limit_days: int = Field(15, ge=1, le=60, description="working days to answer a complaint (投诉)")
    instruction_reply_days: int = Field(5, ge=1, le=30, description="working days for a department to reply to "
                                                                    "the supervision office's instruction (督办)")
    progress_notice_days: int = Field(5, ge=1, le=20, description="working days within which a beyond-township "
                                                                  "applicant is told in writing how the case stands")
    transfer_limit_days: int = Field(1, ge=0, le=20, description="working days for each transfer hop (转办)")
    commitment_days: int = Field(5, ge=1, le=60, description="working days to bring promised materials (容缺)")

    @field_validator("amqp_url")
    @classmethod
    def _amqp(cls, url: str) -> str:
        return _url(url, ("amqp", "amqps"))

    @field_validator("database_url")
    @classmethod
    def _database(cls, url: str) -> str:
        return _url(url, ("postgresql", "postgres"))

    @field_validator("org", "catalogue", "calendar", "tls_cert", "tls_key", "tls_ca", "notify_webhooks")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError(f"{PREFIX}TLS_CERT and {PREFIX}TLS_KEY go together: set both or neither")
        ports = {"intake_port": self.intake_port, "desk_port": self.desk_port,
                 "supervision_port": self.supervision_port}
        used = [p for p in ports.values() if p]
        if len(used) != len(set(used)):
            raise ValueError(f"the gRPC ports must differ: {ports}")
        return self


def _url(url: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"expected {schemes[0]}://[user[:password]@]host[:port]/..., got {hide_password(url)!r}")
    return url


class ConfigError(Exception):
    """The environment does not give a valid configuration; the message names every problem."""


def load_settings() -> Settings:
    """The settings from the environment, or ConfigError naming each bad variable and why."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = f"{PREFIX}{str(error['loc'][0]).upper()}" if error["loc"] else "configuration"
            lines.append(f"  {where}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None


class WebhookEndpoint(BaseModel):
    """Where a department's system takes its notices, and the secret that signs them."""
    model_config = ConfigDict(extra="forbid", frozen=True)
    url: str
    secret: Annotated[str, StringConstraints(min_length=1)]

    @field_validator("url")
    @classmethod
    def _http(cls, url: str) -> str:
        if not re.fullmatch(r"https?://\S+", url):
            raise ValueError("an http:// or https:// URL")
        return url


class _WebhooksFile(RootModel[dict[str, WebhookEndpoint]]):
    """department code -> its webhook"""


def read_webhooks(path: Path) -> dict[str, WebhookEndpoint]:
    """The webhooks file (`ONEWINDOW_NOTIFY_WEBHOOKS`): department code -> webhook; empty for an
    empty file. A bad file raises ConfigFileError naming its line, never quoting a secret."""
    document = Document(path)
    return {} if document.data is None else document.validate(_WebhooksFile, secret=True).root


def hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def describe(settings: Settings, environ: dict[str, str]) -> list[tuple[str, str, str, str]]:
    """(variable, effective value with secrets hidden, where it comes from, meaning) of every setting."""
    rows = []
    for name, field in type(settings).model_fields.items():
        variable = f"{PREFIX}{name.upper()}"
        value = getattr(settings, name)
        secret = (field.json_schema_extra or {}).get("secret")
        shown = ("***" if value else "") if secret else hide_password(value) if name.endswith("_url") and value \
            else "" if value is None else str(value)
        rows.append((variable, shown, "environment" if variable in environ else "default", field.description or ""))
    return rows
