"""Delivery channels behind one interface: `send(recipient, subject, body, key)`.

A channel raises `TransientFailure` for what a later attempt may fix (connection refused, a
timeout, a 5xx or 429) and `PermanentFailure` for what it will not (an address refused, a 4xx).

`key` names the delivery, the same on every attempt: a sender killed after the gateway took a
notice but before recording it sends it again once its lease runs out, and the key (HTTP
`Idempotency-Key`, the e-mail's Message-ID) lets the receiving end drop the copy.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import socket
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

from .settings import read_webhooks

TIMEOUT_SECONDS = 10


class TransientFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


class Email:
    name = "email"

    def __init__(self, host: str, port: int, sender: str):
        self.host, self.port, self.sender = host, port, sender

    def send(self, recipient: str, subject: str, body: str, key: str | None = None) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = self.sender, recipient, subject
        if key:
            message["Message-ID"] = f"<{key}@onewindow>"
        message.set_content(body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=TIMEOUT_SECONDS) as smtp:
                smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused) as exc:
            raise PermanentFailure(f"refused: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            kind = PermanentFailure if 500 <= exc.smtp_code < 600 else TransientFailure
            raise kind(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientFailure(f"{type(exc).__name__}: {exc}") from None


def _post(url: str, body: bytes, headers: dict[str, str], key: str | None) -> None:
    headers = {"Content-Type": "application/json", **headers, **({"Idempotency-Key": key} if key else {})}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        kind = TransientFailure if exc.code >= 500 or exc.code == 429 else PermanentFailure
        raise kind(f"HTTP {exc.code} from {url}") from None
    except (urllib.error.URLError, socket.timeout, OSError) as exc:
        raise TransientFailure(f"{type(exc).__name__}: {exc}") from None


class Sms:
    """An HTTP SMS gateway: POST {"to": phone, "text": subject + body}."""

    name = "sms"

    def __init__(self, url: str, token: str | None = None):
        self.url, self.token = url, token

    def send(self, recipient: str, subject: str, body: str, key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        payload = json.dumps({"to": recipient, "text": f"【{subject}】{body}"}, ensure_ascii=False).encode()
        _post(self.url, payload, headers, key)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """What a receiver recomputes: HMAC-SHA256 over `<timestamp>.<body>` with the shared secret."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class Webhook:
    """Department systems: a signed POST to each department's URL (from a YAML secrets file)."""

    name = "webhook"

    def __init__(self, endpoints: dict[str, dict]):
        self.endpoints = endpoints

    @classmethod
    def from_file(cls, path: Path) -> Webhook:
        """From the webhooks file; a bad file raises ConfigFileError naming the line."""
        return cls({department: hook.model_dump() for department, hook in read_webhooks(path).items()})

    def knows(self, department: str) -> bool:
        return department in self.endpoints

    def send(self, recipient: str, subject: str, body: str, key: str | None = None) -> None:
        endpoint = self.endpoints.get(recipient)
        if endpoint is None:
            raise PermanentFailure(f"no webhook for department {recipient}")
        payload = json.dumps({"department": recipient, "subject": subject, "body": body},
                             ensure_ascii=False).encode()
        timestamp = str(int(time.time()))
        _post(endpoint["url"], payload, {"X-Onewindow-Timestamp": timestamp,
                                          "X-Onewindow-Signature": signature(endpoint["secret"], timestamp, payload)},
              key)
