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
    db_pool_size: int = Field(10, ge=1, le=200)


def settings() -> Settings:
    return Settings()
