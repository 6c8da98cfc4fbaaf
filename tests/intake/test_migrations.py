"""Intake's migrations upgrade a running hall's store: cases that ended before 建档 covered every
ending get their archived_at (not accepted: on receipt; withdrawn: when the withdrawal was recorded)."""
from __future__ import annotations

import datetime as dt
import shutil
import uuid

import psycopg
import pytest

from intake_svc.history import GENESIS, new_entry
from services.db import KERNEL_MIGRATIONS, migrate, service_migrations
from services.timesource import CHINA

RECEIVED = dt.datetime(2026, 3, 2, 9, 0, tzinfo=CHINA)
WITHDRAWN = dt.datetime(2026, 3, 4, 15, 30, tzinfo=CHINA)


@pytest.fixture
def previous_release(database_url, tmp_path):
    """A schema with intake's tables as the previous release left them (migrations 0001 and 0002)."""
    schema = f"intake_{uuid.uuid4().hex[:8]}"
    (own,) = [s for s in service_migrations("intake_svc") if s != KERNEL_MIGRATIONS]
    old = tmp_path / "migrations"
    old.mkdir()
    for name in ("0001_cases.sql", "0002_track_failures.sql"):
        shutil.copy(own / name, old / name)
    migrate(database_url, schema, [KERNEL_MIGRATIONS, old])
    conn = psycopg.connect(database_url, autocommit=True, options=f"-c search_path={schema}")
    yield schema, conn
    conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    conn.close()


def _case(conn, number: str, status: str) -> None:
    conn.execute(
        "INSERT INTO cases (case_number, request_id, request_hash, item_code, item_name, kind, status, level, "
        "organisation, channel, first_clerk, applicant, application, receipt, provided, received_at, history_head) "
        "VALUES (%s, %s, 'h', 'MZ-001', 'x', 'promised', %s, 'county', 'county-desk', 'window', 'c', '{}', '{}', "
        "'{}', '{}', %s, %s)", [number, f"r-{number}", status, RECEIVED, GENESIS])


def test_cases_that_ended_get_archived_at_from_their_own_history(database_url, previous_release):
    schema, conn = previous_release
    _case(conn, "N1", "not_accepted")
    _case(conn, "W1", "withdrawn")
    _case(conn, "H1", "in_handling")
    entry = new_entry("W1", 1, GENESIS, WITHDRAWN.isoformat(), "withdrawn", "applicant", {"reason": "x"})
    conn.execute("INSERT INTO history (case_number, seq, body, prev_hash, hash) VALUES ('W1', 1, %s, %s, %s)",
                 [entry.body, entry.prev_hash, entry.hash])

    applied = migrate(database_url, schema, service_migrations("intake_svc"))

    assert applied == ["0003_archive_ended_cases", "0004_consultations"]
    archived = dict(conn.execute("SELECT case_number, archived_at FROM cases").fetchall())
    assert archived == {"N1": RECEIVED, "W1": WITHDRAWN, "H1": None}
