"""Configuration from environment variables (prefix ONEWINDOW_), with documented defaults."""
from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ONEWINDOW_", extra="ignore")

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/onewindow"
    org: Path = ROOT / "deploy" / "org.yaml"
    catalogue: Path = ROOT / "deploy" / "catalogue.yaml"
    calendar: Path | None = ROOT / "deploy" / "calendar.yaml"
    metrics_port: int = Field(0, ge=0, le=65535, description="0: no /metrics endpoint")
    dead_letter_after: int = Field(5, ge=1, le=100, description="failed attempts before a message is dead-lettered")
    relay_batch: int = Field(200, ge=1, le=10_000)
    relay_poll_seconds: float = Field(1.0, gt=0, le=60)
    db_pool_size: int = Field(10, ge=1, le=200, description="connections per bus process")
    api_db_pool_size: int = Field(20, ge=1, le=200, description="connections per gRPC process")
    intake_port: int = Field(50051, ge=0, le=65535, description="gRPC port of the intake API")
    desk_port: int = Field(50052, ge=0, le=65535, description="gRPC port of the department desk")
    supervision_port: int = Field(50053, ge=0, le=65535, description="gRPC port of the supervision API")
    desk_tokens: Path = Field(ROOT / ".secrets" / "desk-tokens.yaml",
                              description="YAML of department code -> token for the desk (a secret)")
    tls_cert: Path | None = Field(None, description="PEM certificate chain of the gRPC servers; unset: plaintext")
    tls_key: Path | None = Field(None, description="PEM private key matching tls_cert")
    grpc_workers: int = Field(64, ge=4, le=1000, description="threads per gRPC process (each watch holds one)")
    grpc_max_message_bytes: int = Field(4 * 1024 * 1024, ge=1024)
    smtp_host: str | None = Field(None, description="SMTP server for e-mail notices; unset: no e-mail")
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = Field("noreply@onewindow.local", description="sender of e-mail notices")
    sms_gateway_url: str | None = Field(None, description="HTTP SMS gateway (POST JSON {to, text}); unset: no SMS")
    sms_gateway_token: str | None = Field(None, description="bearer token for the SMS gateway (a secret)")
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
    progress_notice_days: int = Field(5, ge=1, le=20, description="working days within which a beyond-township "
                                                                  "applicant is told in writing how the case stands")
    transfer_limit_days: int = Field(1, ge=0, le=20, description="working days for each transfer hop (转办)")
    commitment_days: int = Field(5, ge=1, le=60, description="working days to bring promised materials (容缺)")


def settings() -> Settings:
    return Settings()
