"""The settings of notify: channels (SMTP, SMS gateway, webhooks) and delivery attempts."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, RootModel, StringConstraints, field_validator

from services.config import SECRET, Settings, readable_file
from services.yamlfile import Document


class NotifySettings(Settings):
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

    @field_validator("notify_webhooks")
    @classmethod
    def _webhooks_readable(cls, path: Path | None) -> Path | None:
        return readable_file(path)

    def secrets(self) -> list[str]:
        """The API tokens, the SMS gateway's token and the webhooks' signing secrets."""
        found = [*super().secrets(), self.sms_gateway_token or ""]
        if self.notify_webhooks is not None:
            try:
                found += [hook.secret for hook in read_webhooks(self.notify_webhooks).values()]
            except (OSError, ValueError):
                pass  # a bad webhooks file is reported where it is used
        return found


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
