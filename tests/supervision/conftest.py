"""Harnesses shared by the integration tests."""
from __future__ import annotations

import datetime as dt
import uuid

import psycopg
import pytest

from hall.reference import load_reference
from services.contracts import new_envelope
from services.db import migrate, open_pool, service_migrations
from services.timesource import CHINA, ManualTime
from services.uow import unit_of_work_factory
from supervision_svc.feedback import Feedback
from supervision_svc.instructions import Instructions
from supervision_svc.service import HANDLERS
from supervision_svc.use_cases import Supervision
from tooling.settings import SystemSettings

D = dt.date
SOURCES = {"ApplicationAccepted": "intake", "MaterialsSupplied": "intake", "ApplicationRejected": "intake",
           "SupplementNoticeIssued": "intake", "ApplicationWithdrawn": "intake", "FeeCollected": "intake",
           "CaseRouted": "routing", "ResultCardSigned": "intake", "CaseAgentsChanged": "intake"}


@pytest.fixture
def supervision(database_url):
    schema = f"sup_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, service_migrations("supervision_svc"))
    pools = [open_pool(database_url, schema, max_size=4) for _ in range(2)]
    time = ManualTime(dt.datetime(2026, 2, 10, 9, tzinfo=CHINA))
    sup = Supervision(load_reference(SystemSettings()), warn_share=0.8, suggestion_after_reds=2)
    feedback = Feedback(sup, rectification_days=15, complaint_limit_days=10)

    class Harness:
        def __init__(self):
            self.time = time
            self.uows = [unit_of_work_factory(p, "supervision", schema, time) for p in pools]
            self.feedback = feedback
            self.instructions = Instructions(sup, reply_days=5)

        def on(self, day: D):
            """A unit of work on `day` (for the feedback use cases)."""
            self.time.set(dt.datetime.combine(day, dt.time(11), CHINA))
            return self.uows[0]()

        def event(self, name: str, case: str, payload: dict, on: D) -> None:
            self.time.set(dt.datetime.combine(on, dt.time(10), CHINA))
            envelope = new_envelope(SOURCES.get(name, "approval"), name, case, payload, self.time.now())
            with self.uows[0]() as uow:
                handler = next(h for h in HANDLERS if h.event == name)
                handler.handle(sup, uow, envelope)

        def scan(self, on: D, replica: int = 0) -> int:
            with self.uows[replica]() as uow:
                return sup.scan(uow, on)

        def sql(self, query: str, params=()):
            with psycopg.connect(database_url, autocommit=True, options=f"-c search_path={schema}") as conn:
                return conn.execute(query, params).fetchall()

    yield Harness()
    for p in pools:
        p.close()
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def accepted(on: D) -> dict:
    return {"item_code": "MZ-001", "kind": "promised", "level": "county", "organisation": "county-desk",
            "channel": "window", "first_clerk": "c", "accepted_on": str(on), "promised_deadline": "2026-03-16"}


def stage(case: str, limit: int, department: str = "civil_affairs") -> dict:
    return {"stage": 1, "stage_name": "承办", "tasks": [{"task_id": f"{case}.1.{department}", "department": department,
                                                        "lead": True, "limit_days": limit, "deadline": "2026-03-16"}]}


