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

    assert applied == ["0003_archive_ended_cases", "0004_consultations", "0005_board_indexes",
                       "0006_consultation_requests", "0007_case_lists", "0008_fees", "0009_agent_ledger",
                       "0010_hand_overs", "0011_accompanied"]
    archived = dict(conn.execute("SELECT case_number, archived_at FROM cases").fetchall())
    assert archived == {"N1": RECEIVED, "W1": WITHDRAWN, "H1": None}


def test_an_upgraded_store_keeps_old_cases_readable_by_signed_in_persons(database_url, tmp_path):
    """The store before people and sign-in (no audit log): a proxy case accepted with free-text
    clerk and agent code; after `migrate` it reads the same for a clerk or an agent signed in."""
    from hall.domain import Applicant, Application, Channel, ProvidedMaterial
    from hall.reference import load_reference
    from intake_svc.use_cases import Intake
    from services import auditlog
    from services.access import Caller, Role
    from services.db import open_pool
    from services.timesource import ManualTime
    from services.uow import unit_of_work_factory
    from tests.flow_steps import id_number
    from tooling.settings import SystemSettings

    schema = f"intake_{uuid.uuid4().hex[:8]}"
    kernel_before = tmp_path / "kernel"
    kernel_before.mkdir()
    shutil.copy(KERNEL_MIGRATIONS / "0000_kernel_outbox_inbox.sql", kernel_before)
    own = [s for s in service_migrations("intake_svc") if s != KERNEL_MIGRATIONS]
    migrate(database_url, schema, [kernel_before, *own])
    ref = load_reference(SystemSettings())
    intake = Intake(ref, commitment_days=5)
    item = ref.catalogue.item("MZ-001")
    pool = open_pool(database_url, schema, 2)
    try:
        uow = unit_of_work_factory(pool, "intake", schema, ManualTime(dt.datetime(2026, 11, 30, 9, 0, tzinfo=CHINA)))
        app = Application(item_code="MZ-001", applicant=Applicant("王小明", id_number(7), "13912345678", ""),
                          channel=Channel.PROXY_AGENT, organisation="zhangqiao-liugang-room", first_clerk="刘会计",
                          materials=tuple(ProvidedMaterial(m.code, None) for m in item.materials), form={},
                          agent="agent-zhangqiao-liugang", consent_ref="WT-2026-0001", project_code=None,
                          request_id="before-sign-in", commitment_signed=False)
        with uow() as work:  # as the previous release's agent token did
            number = intake.submit(work, Caller(Role.AGENT, "agent-zhangqiao-liugang", "zhangqiao-liugang-room"),
                                   app)["case_number"]

        assert migrate(database_url, schema, service_migrations("intake_svc")) == ["0001_audit_log"]

        clerk = Caller(Role.CLERK, "zhangqiao-liugang-room", "zhangqiao-liugang-room", person="SX0120",
                       post="zhangqiao-liugang-room/acceptance_clerk/1", name="村干部")
        agent = Caller(Role.AGENT, "agent-zhangqiao-liugang", "zhangqiao-liugang-room", person="SX0121",
                       post="zhangqiao-liugang-room/proxy_agent/1", name="代办员")
        with uow() as work:
            for person in (clerk, agent):
                case = intake.read(work, person, number)
                assert (case["first_clerk"], case["agent"]) == ("刘会计", "agent-zhangqiao-liugang")
                assert [e.data["kind"] for e in case["history"]][0] == "received"
            check = auditlog.verify(work.conn)
        assert check.ok and check.entries == 0
    finally:
        pool.close()
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
