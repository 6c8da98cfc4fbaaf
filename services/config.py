"""Configuration from environment variables (prefix ONEWINDOW_), with documented defaults.

`Settings` holds what every process reads (broker, database, reference files, pools, TLS, tokens);
each service adds its own in its `settings.py` (a subclass), and tooling joins them all.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "ONEWINDOW_"
SECRET = {"secret": True}  # marks a setting whose value `describe` never shows


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=PREFIX, extra="ignore")

    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/",
                          description="RabbitMQ (its password is a secret); the nodes of a cluster as URLs joined "
                                      "by `;`, tried in turn when the one in use goes")
    queue_type: Literal["classic", "quorum"] = Field(
        "classic", description="type of the queues the processes declare: `quorum` in a RabbitMQ cluster (the "
                               "production overlay's; a queue's type is fixed when declared, see the runbook)")
    database_url: str = Field("postgresql://postgres@127.0.0.1:5432/onewindow",
                              description="PostgreSQL; the database is created by `migrate`; with standbys, every "
                                          "server in one URL (host1:port1,host2:port2) and "
                                          "`?target_session_attrs=read-write`, so that the primary is found")
    org: Path = Field(ROOT / "deploy" / "org.yaml", description="org chart (departments, organisations, agents)")
    catalogue: Path = Field(ROOT / "deploy" / "catalogue.yaml", description="catalogue of items (事项目录)")
    staff: Path = Field(ROOT / "deploy" / "staff.yaml", description="staff register (persons and their posts; no "
                                                                    "secrets), re-read when it changes")
    calendar: Path | None = Field(ROOT / "deploy" / "calendar.yaml",
                                  description="county calendar file; unset: chinese-calendar alone")
    metrics_port: int = Field(0, ge=0, le=65535, description="HTTP port of /metrics, /livez, /readyz; 0: none")
    dead_letter_after: int = Field(5, ge=1, le=100, description="failed attempts before a message is dead-lettered")
    batch_size: int = Field(50, ge=1, le=1000, description="delivered messages a bus process handles in one "
                                                          "transaction at most (a backlog's; one waiting "
                                                          "is handled alone at once)")
    relay_batch: int = Field(200, ge=1, le=10_000, description="outbox rows published per batch")
    retention_days: int = Field(30, ge=1, le=3650, description="days published outbox rows and inbox marks "
                                                              "are kept before housekeeping deletes them")
    audit_keep_days: int = Field(366, ge=183, le=36500, description="days audit log entries are kept before "
                                                                 "`onewindow audit-log prune` deletes them "
                                                                 "(at least six months)")
    relay_poll_seconds: float = Field(1.0, gt=0, le=60, description="outbox polling fallback to LISTEN/NOTIFY")
    db_pool_size: int = Field(10, ge=1, le=200, description="connections per bus process")
    api_db_pool_size: int = Field(20, ge=1, le=200, description="connections per gRPC process")
    desk_tokens: Path = Field(ROOT / ".secrets" / "desk-tokens.yaml",
                              description="YAML secrets file of the systems' API tokens: holder code "
                                          "(department, organisation, agent, `supervision`, `web`, `apis`) -> token")
    identity_host: str = Field("127.0.0.1", description="host of the identity API, which every API asks which "
                                                        "keys and posts to trust")
    identity_port: int = Field(50054, ge=0, le=65535, description="gRPC port of the identity API (sign-in)")
    intake_host: str = Field("127.0.0.1", description="host of the intake API (for its clients: the web front)")
    intake_port: int = Field(50051, ge=0, le=65535, description="gRPC port of the intake API")
    desk_host: str = Field("127.0.0.1", description="host of the department desk API (for its clients)")
    desk_port: int = Field(50052, ge=0, le=65535, description="gRPC port of the department desk")
    supervision_host: str = Field("127.0.0.1", description="host of the supervision API (for its clients)")
    supervision_port: int = Field(50053, ge=0, le=65535, description="gRPC port of the supervision API")
    tls_cert: Path | None = Field(None, description="PEM certificate chain of the gRPC servers; unset: plaintext")
    tls_key: Path | None = Field(None, description="PEM private key matching tls_cert")
    tls_ca: Path | None = Field(None, description="PEM certificates the project's clients (CLI, load generator, "
                                                  "health checks) trust; unset: tls_cert itself")
    grpc_workers: int = Field(64, ge=4, le=1000, description="threads per gRPC process (each watch holds one)")
    grpc_max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024, description="largest gRPC request or reply")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="the least severe log records a process writes")

    @field_validator("amqp_url")
    @classmethod
    def _amqp(cls, url: str) -> str:
        for node in url.split(";"):
            _url(node, ("amqp", "amqps"))
        return url

    @field_validator("database_url")
    @classmethod
    def _database(cls, url: str) -> str:
        return _url(url, ("postgresql", "postgres"))

    @field_validator("org", "catalogue", "staff", "calendar", "tls_cert", "tls_key", "tls_ca")
    @classmethod
    def _readable(cls, path: Path | None) -> Path | None:
        return readable_file(path)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError(f"{PREFIX}TLS_CERT and {PREFIX}TLS_KEY go together: set both or neither")
        return self

    def secrets(self) -> list[str]:
        """The secrets a process knows from its settings (masked in its logs): the API tokens, and
        whatever a service's own settings add."""
        from .access import read_tokens

        try:
            return list(read_tokens(self.desk_tokens).values())
        except (OSError, ValueError):
            return []  # a bad tokens file is reported where it is used


def readable_file(path: Path | None) -> Path | None:
    """A file setting's check (a service's own file settings use it too)."""
    if path is not None and not path.is_file():
        raise ValueError(f"no such file: {path}")
    return path


def _url(url: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ValueError(f"expected {schemes[0]}://[user[:password]@]host[:port]/..., got {hide_password(url)!r}")
    return url


S = TypeVar("S", bound=Settings)


class ConfigError(Exception):
    """The environment does not give a valid configuration; the message names every problem."""


def load_settings(cls: type[S] = Settings) -> S:
    """The settings (of `cls`: the kernel's, a service's, every process's) from the environment, or
    ConfigError naming each bad variable and why."""
    try:
        return cls()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = f"{PREFIX}{str(error['loc'][0]).upper()}" if error["loc"] else "configuration"
            lines.append(f"  {where}: {error['msg'].removeprefix('Value error, ')}")
        raise ConfigError("invalid configuration:\n" + "\n".join(lines)) from None


def hide_password(url: str) -> str:
    if ";" in url:  # the nodes of a broker cluster
        return ";".join(hide_password(node) for node in url.split(";"))
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
