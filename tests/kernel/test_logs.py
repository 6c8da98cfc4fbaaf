"""Log lines are masked as they are written: identity and phone numbers, tokens, passwords."""
from __future__ import annotations

import logging
import sys

from services.logs import RedactingFormatter, redact
from tooling.settings import SystemSettings


def test_redaction_masks_numbers_tokens_and_passwords():
    line = ("applicant 34052119900101123X phone 13912345678 case 202611250000012 "
            "authorization Bearer abc.DEF-123 amqp://onewindow:s3cret@rabbit:5672/ token k9-secret-value")
    assert redact(line, ("k9-secret-value",)) == (
        "applicant 3405**********123X phone 139****5678 case 202611250000012 "
        "authorization Bearer *** amqp://onewindow:***@rabbit:5672/ token ***")


def test_the_formatter_masks_the_traceback_too():
    try:
        raise ValueError("bad applicant 34052119900101123X")
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "calling %s", ("13912345678",), True)
        record.exc_info = sys.exc_info()
    line = RedactingFormatter(secrets=("unused-secret",)).format(record)
    assert "13912345678" not in line and "34052119900101123X" not in line
    assert "139****5678" in line and "3405**********123X" in line and "Traceback" in line


def test_the_webhooks_and_tokens_secrets_are_known_to_the_masking(tmp_path):
    hooks, tokens = tmp_path / "webhooks.yaml", tmp_path / "tokens.yaml"
    hooks.write_text("water: {url: 'https://water.example.cn/hook', secret: 'water-signing-secret'}\n")
    tokens.write_text("water: water-api-token-0123456\n")
    settings = SystemSettings(notify_webhooks=hooks, desk_tokens=tokens)
    assert {"water-signing-secret", "water-api-token-0123456"} <= set(settings.secrets())
    hooks.write_text("water: {url: ftp://x}\n")  # a bad file: nothing from it, and no failure here
    assert "water-signing-secret" not in settings.secrets()
