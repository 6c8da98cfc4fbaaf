"""Approval's reactions to time, on the real PostgreSQL with the clock injected: a lapsed 容缺
commitment ends the case (补正超时驳回) once, a suspension ends on its `until` day, and a planned
special procedure is expected to end on the county's working days."""
from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from approval_svc.commands import Resume, StartSpecialProcedure, Suspend
from approval_svc.events import TaskPaused
from approval_svc.use_cases import Handling
from hall.domain import Decision
from hall.reference import load_reference
from hall.staff import Staff
from services.access import Caller, Role
from services.contracts import new_envelope
from services.db import migrate, open_pool, service_migrations
from services.errors import InvalidRequest
from services.timesource import CHINA, ManualTime
from services.uow import unit_of_work_factory
from tooling.settings import SystemSettings

D = dt.date
WATER = Caller(Role.DEPARTMENT, "water")  # the water bureau's system
PLAN = {"item_code": "TZ-002", "kind": "joint", "transfers": [], "deciding_level": "county", "reported_up": False,
        "stages": [{"index": 1, "name": "立项用地规划许可", "lead": "development_reform", "limit_days": 10, "tasks": [
            {"department": "development_reform", "organisation": "county-window-development-reform"},
            {"department": "water", "organisation": "county-office-water"}]}]}


@pytest.fixture
def approval(database_url):
    schema = f"apv_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, service_migrations("approval_svc"))
    pool = open_pool(database_url, schema, max_size=2)
    time = ManualTime(dt.datetime(2026, 3, 2, 9, tzinfo=CHINA))
    unit_of_work = unit_of_work_factory(pool, "approval", schema, time)
    settings = SystemSettings()
    reference = load_reference(settings)
    handling = Handling(reference, Staff(settings.staff, reference.org))

    class Harness:
        def on(self, day: D):
            time.set(dt.datetime.combine(day, dt.time(10), CHINA))
            return unit_of_work()

        def deliver(self, source: str, name: str, case: str, payload: dict, day: D) -> None:
            with self.on(day) as uow:
                envelope = new_envelope(source, name, case, payload, time.now())
                {"CaseRouted": handling.open_case, "CommitmentLapsed": handling.lapse}[name](uow, envelope)

        def sql(self, query: str):
            with psycopg.connect(database_url, autocommit=True, options=f"-c search_path={schema}") as conn:
                return conn.execute(query).fetchall()

    h = Harness()
    h.handling = handling
    yield h
    pool.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def test_a_lapsed_commitment_ends_the_case_once_and_withdraws_its_open_tasks(approval):
    approval.deliver("routing", "CaseRouted", "L1", PLAN, D(2026, 3, 2))
    with approval.on(D(2026, 3, 3)) as uow:
        approval.handling.decide(uow, WATER, "L1.1.water", Decision.APPROVE, "同意", "《水法》", [])
    lapsed = {"deadline": "2026-03-09", "lapsed_on": "2026-03-10"}
    approval.deliver("supervision", "CommitmentLapsed", "L1", lapsed, D(2026, 3, 10))
    approval.deliver("supervision", "CommitmentLapsed", "L1", lapsed, D(2026, 3, 10))  # another replica's scan
    assert approval.sql("SELECT status, result FROM cases") == [("concluded", "supplement_timeout")]
    assert approval.sql("SELECT id, status FROM tasks ORDER BY id") == [
        ("L1.1.development_reform", "withdrawn"), ("L1.1.water", "decided")]
    concluded = approval.sql("SELECT envelope->'payload'->>'result', jsonb_array_length(envelope->'payload'->'decisions') "
                             "FROM outbox WHERE event_type = 'CaseConcluded'")
    assert concluded == [("supplement_timeout", 1)]


def test_a_suspension_resumes_on_its_until_day_without_extension(approval):
    approval.deliver("routing", "CaseRouted", "S1", PLAN, D(2026, 3, 2))
    with approval.on(D(2026, 3, 3)) as uow:
        approval.handling.act(uow, WATER, Suspend("S1.1.water", until=D(2026, 3, 20), reason="等待司法认定"))
    with approval.on(D(2026, 3, 19)) as uow:
        assert approval.handling.suspensions_due(uow) == []
    with approval.on(D(2026, 3, 20)) as uow:
        due = approval.handling.suspensions_due(uow)
        assert due == [("water", "S1.1.water")]
        for department, task_id in due:
            approval.handling.act(uow, Caller(Role.DEPARTMENT, department), Resume(task_id, extension_days=0))
    assert approval.sql("SELECT status, suspended_until, extension_days FROM tasks WHERE id = 'S1.1.water'") == [
        ("claimed", None, 0)]
    assert approval.sql("SELECT envelope->'payload'->>'task_id' FROM outbox WHERE event_type = 'TaskResumed'") == [
        ("S1.1.water",)]


def _paused(approval) -> dict[str, dict]:
    """The TaskPaused payloads, by task."""
    return {row[0]["task_id"]: row[0] for row in approval.sql(
        "SELECT envelope->'payload' FROM outbox WHERE event_type = 'TaskPaused'")}


def test_a_planned_special_procedure_is_expected_to_end_on_the_countys_working_days(approval):
    approval.deliver("routing", "CaseRouted", "P1", PLAN, D(2026, 3, 2))
    with approval.on(D(2026, 9, 29)) as uow:  # a Tuesday before the National Day holiday
        approval.handling.act(uow, WATER, StartSpecialProcedure("P1.1.water", "hearing", "", planned_days=5))
    # 30 Sep; 1-7 Oct off; 8, 9, 10 Oct (a Saturday worked in exchange), 12 Oct
    paused = _paused(approval)["P1.1.water"]
    assert (paused["planned_days"], paused["expected_end"]) == (5, "2026-10-12")


def test_an_unplanned_or_uncharted_special_procedure_has_no_expected_end(approval):
    approval.deliver("routing", "CaseRouted", "P2", PLAN, D(2026, 3, 2))
    with approval.on(D(2026, 3, 3)) as uow:
        approval.handling.act(uow, WATER, StartSpecialProcedure("P2.1.water", "hearing", ""))
    approval.deliver("routing", "CaseRouted", "P3", PLAN, D(2026, 3, 2))
    with approval.on(D(2027, 12, 1)) as uow:  # 365 working days run into 2028, which no calendar holds yet
        approval.handling.act(uow, WATER, StartSpecialProcedure("P3.1.water", "expert_review", "", planned_days=365))
    unplanned, uncharted = _paused(approval)["P2.1.water"], _paused(approval)["P3.1.water"]
    assert (unplanned["planned_days"], unplanned["expected_end"]) == (None, None)
    assert (uncharted["planned_days"], uncharted["expected_end"]) == (365, None)


@pytest.mark.parametrize("days", [-1, 366])
def test_planned_days_out_of_bounds_are_a_field_error_and_change_nothing(approval, days):
    approval.deliver("routing", "CaseRouted", "P4", PLAN, D(2026, 3, 2))
    with pytest.raises(InvalidRequest) as info, approval.on(D(2026, 3, 3)) as uow:
        approval.handling.act(uow, WATER, StartSpecialProcedure("P4.1.water", "hearing", "", planned_days=days))
    assert [field for field, _ in info.value.violations] == ["planned_days"]
    assert approval.sql("SELECT status FROM tasks WHERE id = 'P4.1.water'") == [("assigned",)]
    assert _paused(approval) == {}


def test_a_task_paused_event_from_before_planned_days_still_validates():
    old = TaskPaused.model_validate({"task_id": "C1.1.water", "department": "water", "reason": "special_procedure",
                                     "procedure": "hearing", "note": ""})
    assert old.planned_days is None and old.expected_end is None
