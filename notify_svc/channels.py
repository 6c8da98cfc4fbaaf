"""Delivery channels behind one interface: `send(recipient, subject, body, key)`.

A channel raises `TransientFailure` for what a later attempt may fix (connection refused, a
timeout, a 5xx or 429) and `PermanentFailure` for what it will not (an address refused, a 4xx).

`key` names the delivery, the same on every attempt: a sender killed after the gateway took a
notice but before recording it sends it again once its lease runs out, and the key (HTTP
`Idempotency-Key`, the e-mail's Message-ID) lets the receiving end drop the copy.

The HTTP channels keep their connections open between notices (one pool per process, urllib3): a
gateway's TCP and TLS handshakes are paid once, not for every SMS. A connection the other end
closed while idle is noticed before it is used, or the POST is sent once more on a fresh one,
which the key makes safe.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from email.message import EmailMessage
from pathlib import Path

import urllib3

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


# One attempt more on a fresh connection when a kept one fails before an answer (the other end closed
# it while idle); no retry on an answer, no redirect: each attempt of a notice is the sender's to count.
_HTTP = urllib3.PoolManager(num_pools=20, maxsize=4, timeout=TIMEOUT_SECONDS,
                            retries=urllib3.Retry(total=1, connect=1, read=1, status=0, redirect=0,
                                                  allowed_methods=None, raise_on_status=False))


def _post(url: str, body: bytes, headers: dict[str, str], key: str | None) -> None:
    headers = {"Content-Type": "application/json", **headers, **({"Idempotency-Key": key} if key else {})}
    try:
        response = _HTTP.request("POST", url, body=body, headers=headers)
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise TransientFailure(f"{type(exc).__name__}: {exc}") from None
    if response.status >= 300:
        kind = TransientFailure if response.status >= 500 or response.status == 429 else PermanentFailure
        raise kind(f"HTTP {response.status} from {url}")


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
