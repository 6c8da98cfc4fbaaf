"""The notify bus process against a real SMTP server (aiosmtpd) and a local HTTP server standing
in for the SMS gateway and the departments' webhook receivers, which records every request and
fails on demand."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest
from aiosmtpd.controller import Controller

from hall.reference import load_reference
from notify_svc.channels import signature
from notify_svc.service import NotifyService
from services.bus import declare_queues
from services.contracts import new_envelope
from services.db import migrate, service_migrations
from services.relay import Publisher
from services.timesource import CHINA
from tests.conftest import PYTHON, ROOT
from tests.support import free_port, metric, stop, wait_until
from tooling.settings import SystemSettings

pytestmark = pytest.mark.slow
SECRET = "webhook-secret-of-the-water-bureau"


class Mailbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        from email import message_from_bytes
        from email.policy import default

        self.messages.append(message_from_bytes(envelope.content, policy=default))
        return "250 OK"


class Gateway(ThreadingHTTPServer):
    """Records POSTs; `fail[key] = [503, 503]` answers the next requests for `key` with those codes."""

    def __init__(self):
        self.requests: list[tuple[str, dict, dict]] = []
        self.fail: dict[str, list[int]] = {}
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def of(self, path: str, key: str) -> list[dict]:
        with self.lock:
            return [body for p, body, _ in self.requests if p == path and key in (body.get("to"), body.get("department"))]


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.loads(raw)
        key = body.get("to") or body.get("department")
        with self.server.lock:
            codes = self.server.fail.get(key) or []
            code = codes.pop(0) if codes else 200
            if code == 200:
                self.server.requests.append((self.path, body, dict(self.headers) | {"raw": raw}))
        self.send_response(code)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def notify(database_url, amqp_url, process_env, tmp_path):
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    gateway = Gateway()
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    hooks = tmp_path / "webhooks.yaml"
    hooks.write_text(f"water: {{url: 'http://127.0.0.1:{gateway.server_port}/hooks/water', secret: '{SECRET}'}}\n")
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP SCHEMA IF EXISTS notify CASCADE")
    migrate(database_url, "notify", service_migrations("notify_svc"))
    declare_queues(amqp_url, "notify", NotifyService)
    port = free_port()
    proc = subprocess.Popen(
        [PYTHON, "-m", "services.busrun", "notify_svc.service:NotifyService"], cwd=ROOT,
        env={**process_env, "ONEWINDOW_METRICS_PORT": str(port), "ONEWINDOW_SMTP_HOST": "127.0.0.1",
             "ONEWINDOW_SMTP_PORT": str(smtp.port), "ONEWINDOW_SMS_GATEWAY_URL":
                 f"http://127.0.0.1:{gateway.server_port}/sms", "ONEWINDOW_NOTIFY_WEBHOOKS": str(hooks),
             "ONEWINDOW_NOTIFY_ATTEMPTS": "3", "ONEWINDOW_NOTIFY_BACKOFF_SECONDS": "0.05",
             "ONEWINDOW_NOTIFY_POLL_SECONDS": "0.1"})
    publishers = {s: Publisher.for_events(amqp_url, s) for s in ("intake", "approval", "supervision")}

    class Notify:
        def publish(self, source: str, event: str, case: str, payload: dict, envelope=None):
            envelope = envelope or new_envelope(source, event, case, payload, dt.datetime.now(CHINA))
            publishers[source].publish(envelope.to_wire(), event, str(envelope.id))
            return envelope

        def rows(self, case: str) -> list[tuple]:
            with psycopg.connect(database_url, autocommit=True, options="-c search_path=notify") as conn:
                return conn.execute("SELECT notice, channel, status, attempts FROM deliveries WHERE case_number = %s "
                                    "ORDER BY id", [case]).fetchall()

    api = Notify()
    api.mailbox, api.gateway, api.metrics_port = mailbox, gateway, port
    try:
        yield api
    finally:
        stop(proc)
        for p in publishers.values():
            p.close()
        gateway.shutdown()
        smtp.stop()


def accepted(case: str, phone: str, email: str = "") -> dict:
    return {"item_code": "MZ-001", "kind": "promised", "level": "county", "organisation": "county-desk",
            "channel": "window", "first_clerk": "clerk-01", "accepted_on": "2026-02-10",
            "promised_deadline": "2026-03-16", "contact": {"name": "王小明", "phone": phone, "email": email}}


def test_a_receipt_reaches_the_smtp_server_and_the_sms_gateway_once(notify):
    case, phone = f"C{uuid.uuid4().hex[:8]}", "13912345678"
    envelope = notify.publish("intake", "ApplicationAccepted", case, accepted(case, phone, "wang@example.cn"))
    notify.publish("intake", "ApplicationAccepted", case, {}, envelope=envelope)  # delivered twice
    mail = wait_until(lambda: [m for m in notify.mailbox.messages if case in m["Subject"]], what="the e-mail")[0]
    assert mail["Subject"] == f"受理回执：{case}" and mail["To"] == "wang@example.cn"
    text = mail.get_content()
    assert load_reference(SystemSettings()).catalogue.item("MZ-001").name in text and "2026-03-16" in text
    assert phone not in text and "王小明" not in text and "王*明" in text
    sms = wait_until(lambda: notify.gateway.of("/sms", phone), what="the SMS")
    assert sms[0]["text"].startswith(f"【受理回执：{case}】")
    wait_until(lambda: metric(notify.metrics_port, "onewindow_messages_handled_total", service="notify",
                              handler="on_accepted", outcome="duplicate") == 1, what="the duplicate skipped")
    wait_until(lambda: [r[2] for r in notify.rows(case)] == ["sent", "sent"], what="both deliveries recorded")
    assert len(notify.gateway.of("/sms", phone)) == 1
    assert len([m for m in notify.mailbox.messages if case in m["Subject"]]) == 1


def test_a_gateway_failing_twice_then_recovering_delivers_once(notify):
    case, phone = f"C{uuid.uuid4().hex[:8]}", "13900000002"
    notify.gateway.fail[phone] = [503, 503]
    notify.publish("intake", "ApplicationAccepted", case, accepted(case, phone))
    wait_until(lambda: notify.rows(case) == [("receipt", "sms", "sent", 3)], what="sent on the third attempt")
    assert len(notify.gateway.of("/sms", phone)) == 1
    assert metric(notify.metrics_port, "onewindow_notices_total", notice="receipt", channel="sms",
                  outcome="retried") == 2


def test_a_permanent_failure_is_dead_and_visible(notify, database_url):
    case, phone = f"C{uuid.uuid4().hex[:8]}", "13900000003"
    notify.gateway.fail[phone] = [400]
    notify.publish("intake", "ApplicationAccepted", case, accepted(case, phone))
    wait_until(lambda: notify.rows(case) == [("receipt", "sms", "dead", 1)], what="the dead delivery")
    with psycopg.connect(database_url, autocommit=True, options="-c search_path=notify") as conn:
        failed = conn.execute("SELECT envelope->'payload' FROM outbox WHERE event_type = 'NoticeFailed' "
                              "AND envelope->>'case_number' = %s", [case]).fetchall()
    assert len(failed) == 1 and "HTTP 400" in failed[0][0]["error"] and failed[0][0]["recipient"] == "139****0003"
    assert notify.gateway.of("/sms", phone) == []


def test_departments_get_signed_webhooks_for_new_tasks(notify):
    case = f"C{uuid.uuid4().hex[:8]}"
    notify.publish("intake", "ApplicationAccepted", case, accepted(case, "13900000004"))
    notify.publish("approval", "StageOpened", case, {"stage": 1, "stage_name": "承办", "tasks": [
        {"task_id": f"{case}.1.water", "department": "water", "lead": True, "limit_days": 20,
         "deadline": "2026-03-16"},
        {"task_id": f"{case}.1.commerce", "department": "commerce", "lead": False, "limit_days": 20,
         "deadline": "2026-03-16"}]})
    wait_until(lambda: [r for r in notify.rows(case) if r[1] == "webhook"] == [("new_task", "webhook", "sent", 1)],
               what="the water bureau's webhook")  # commerce has no webhook configured: nothing planned
    body, headers = next((b, h) for p, b, h in notify.gateway.requests if p == "/hooks/water" and case in b["subject"])
    assert headers["X-Onewindow-Signature"] == signature(SECRET, headers["X-Onewindow-Timestamp"], headers["raw"])
    assert "20个工作日" in body["body"]


def test_the_warned_department_gets_the_supervision_offices_instruction(notify):
    case = f"C{uuid.uuid4().hex[:8]}"
    notify.publish("intake", "ApplicationAccepted", case, accepted(case, "13900000005"))
    notify.publish("supervision", "WarningInstructed", case, {
        "warning_id": 12, "colour": "red", "step": "task", "department": "water",
        "instruction": "请分管领导牵头，限期办结", "reply_by": "2026-03-18"})
    wait_until(lambda: [r for r in notify.rows(case) if r[1] == "webhook"] == [("instruction", "webhook", "sent", 1)],
               what="the instruction's webhook")
    body = next(b for p, b, _ in notify.gateway.requests if p == "/hooks/water" and case in b["subject"])
    assert body["subject"] == f"督办意见：{case}"
    assert "已亮红牌" in body["body"] and "请分管领导牵头，限期办结" in body["body"] and "2026-03-18" in body["body"]


def test_the_applicant_reads_the_rejecting_departments_name(notify):
    case, phone = f"C{uuid.uuid4().hex[:8]}", "13900000006"
    notify.publish("intake", "ApplicationAccepted", case, accepted(case, phone))
    notify.publish("approval", "CaseConcluded", case, {
        "result": "rejected", "concluded_on": "2026-03-02", "reasons": ["water: 不符合规划（《水法》）"],
        "decisions": [{"department": "water", "stage": 1, "decision": "reject", "opinion": "不符合规划",
                       "legal_basis": "《水法》"}]})
    (sms,) = wait_until(lambda: [b for b in notify.gateway.of("/sms", phone) if "办理结果通知" in b["text"]],
                        what="the decision's SMS")
    water = load_reference(SystemSettings()).org.department("water").name
    assert f"{water}：不符合规划（《水法》）" in sms["text"] and "water" not in sms["text"]
