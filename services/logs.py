"""Logging of the processes: one format, and nothing personal or secret in a line.

Applicants' identity numbers and mobile numbers travel in events and requests, and a library's
debug line or a traceback may print them; tokens and passwords sit in metadata and URLs. Every
line is therefore masked as it is written, whatever logged it: identity and phone numbers as the
public Track shows them, bearer tokens, URL passwords and the process's known secrets as ***.
"""
from __future__ import annotations

import logging
import re

from .privacy import mask_id, mask_phone

# 18-character resident identity numbers (GB 11643: 17 digits and a check digit or X) and mainland
# mobile numbers, not inside a longer run of digits (case numbers, timestamps).
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_BEARER = re.compile(r"(Bearer\s+)[^\s'\",;)\]}]+")
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@/\s]+(@)")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    text = _BEARER.sub(r"\1***", text)
    text = _URL_PASSWORD.sub(r"\1***\2", text)
    text = _ID_NUMBER.sub(lambda m: mask_id(m.group()), text)
    return _MOBILE.sub(lambda m: mask_phone(m.group()), text)


class RedactingFormatter(logging.Formatter):
    """Formats as usual, then masks the whole line, traceback included."""

    def __init__(self, fmt: str = FORMAT, secrets: tuple[str, ...] = ()):
        super().__init__(fmt)
        # longest first, so that a secret containing another is replaced whole
        self.secrets = tuple(sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True))

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record), self.secrets)


def configure(secrets: tuple[str, ...] = (), level: str = "INFO") -> None:
    """Log to stderr at `level` (the checked setting ONEWINDOW_LOG_LEVEL once the settings are
    read), every line through the redacting formatter."""
    logging.basicConfig(level=level, force=True)
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(secrets=secrets))


def configure_from(settings) -> None:
    """Logging as the settings say: their level, and their secrets masked."""
    configure(tuple(s for s in settings.secrets() if isinstance(s, str)), settings.log_level)
