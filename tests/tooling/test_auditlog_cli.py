"""`onewindow audit-log`: every service's chain verified, exported and pruned, on a database of the
test's own (its chains are tampered with, so no other test shares them)."""
from __future__ import annotations

import datetime as dt
import json
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from click.testing import CliRunner

from services.auditlog import AuditEntry, append, check_entries
from services.db import drop_database, ensure_database, migrate, service_migrations
from services.timesource import CHINA
from tooling import auditlog
from tooling.cli import main
from tooling.processes import SERVICES

T0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=CHINA)
NOT_MIGRATED = "notify"


@pytest.fixture
def url(database_url):
    """A database with every service's schema migrated but notify's: intake has 3 entries (days 0, 1, 2),
    approval 2 (days 0, 300)."""
    own = urlunsplit(urlsplit(database_url)._replace(path=f"/onewindow_audit_{uuid.uuid4().hex[:8]}"))
    ensure_database(own)
    for service in SERVICES:
        if service.name != NOT_MIGRATED:
            migrate(own, service.name, service_migrations(service.package))
    for schema, days in (("intake", [0, 1, 2]), ("approval", [0, 300])):
        with psycopg.connect(own, options=f"-c search_path={schema}") as conn:
            for n, day in enumerate(days):
                with conn.transaction():
                    append(conn, AuditEntry("desk.Claim", person="1001", target=f"TASK-{n}", detail="认领"),
                           T0 + dt.timedelta(days=day))
    yield own
    drop_database(own)


def tamper(url: str, schema: str, statement: str) -> None:
    with psycopg.connect(url, autocommit=True, options=f"-c search_path={schema}") as conn:
        conn.execute("ALTER TABLE audit_log DISABLE TRIGGER ALL")
        conn.execute(statement)
        conn.execute("ALTER TABLE audit_log ENABLE TRIGGER ALL")


def cli(url: str, *args: str):
    return CliRunner().invoke(main, ["audit-log", *args], env={"ONEWINDOW_DATABASE_URL": url})


def test_verify_reports_each_migrated_service_and_fails_on_a_broken_chain(url):
    checks = auditlog.verify_all(url)
    assert list(checks) == [s.name for s in SERVICES if s.name != NOT_MIGRATED]
    assert (checks["intake"].entries, checks["approval"].entries, checks["routing"].entries) == (3, 2, 0)
    result = cli(url, "verify")
    assert result.exit_code == 0, result.output
    assert "intake: 3 entries, OK" in result.output and "routing: 0 entries, OK" in result.output
    assert NOT_MIGRATED not in result.output

    tamper(url, "approval", "UPDATE audit_log SET detail = '没有' WHERE seq = 2")
    result = cli(url, "verify")
    assert result.exit_code == 1
    assert "intake: 3 entries, OK" in result.output
    assert "approval: 2 entries, BROKEN at seq 2: entry 2 does not match its hash (edited)" in result.output


def test_export_writes_json_lines_naming_their_service_that_check_on_their_own(url, tmp_path):
    out = tmp_path / "audit.jsonl"
    result = cli(url, "export", "--since", "2026-01-06", "--until", "2026-01-07", "--out", str(out))
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [(e["service"], e["seq"]) for e in lines] == [("intake", 2), ("intake", 3)]
    assert lines[0]["detail"] == "认领" and lines[0]["at"] == "2026-01-06T01:00:00.000000+00:00"
    assert check_entries(lines).ok

    result = cli(url, "export", "--since", "2026-01-01", "--until", "2026-12-31", "--service", "approval")
    assert result.exit_code == 0
    assert [json.loads(line)["seq"] for line in result.stdout.splitlines()] == [1, 2]
    assert cli(url, "export", "--since", "2026-01-01", "--until", "2026-01-02", "--service", "nope").exit_code == 2


def test_prune_keeps_six_months_at_least_and_every_chain_still_verifies(url):
    assert cli(url, "prune", "--keep-days", "100").exit_code == 2
    now = T0 + dt.timedelta(days=400)
    expected = {s.name: 0 for s in SERVICES if s.name != NOT_MIGRATED} | {"intake": 3, "approval": 1}
    assert auditlog.prune_all(url, 366, now) == expected
    assert all(check.ok for check in auditlog.verify_all(url).values())
    result = cli(url, "prune")  # the default keeps 366 days from today: nothing left that old
    assert result.exit_code == 0 and "approval: 0 entries deleted" in result.output
