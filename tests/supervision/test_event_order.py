"""Supervision's events come through a queue each, so after a backlog they arrive in any order:
whatever the order, every clock of a concluded case ends stopped and the case is known concluded."""
from __future__ import annotations

import pytest

from services.inbox import Early
from tests.supervision.conftest import D, accepted, stage

CASE = "O1"
TASK = f"{CASE}.1.civil_affairs"
ROUTED = {"item_code": "MZ-001", "kind": "promised", "deciding_level": "county", "reported_up": False,
          "transfers": [{"from_organisation": "a", "to_organisation": "b", "to_level": "county", "limit_days": 1,
                         "deadline": "2026-03-03"}],
          "stages": [{"index": 1, "name": "承办", "lead": "civil_affairs", "limit_days": 10,
                      "tasks": [{"department": "civil_affairs", "organisation": "county-window-civil-affairs"}]}]}
DECIDED = {"task_id": TASK, "department": "civil_affairs", "stage": 1, "role": "lead", "decision": "approve",
           "opinion": "同意", "legal_basis": "法"}
CONCLUDED = {"result": "issued", "concluded_on": "2026-03-04", "decisions": [], "reasons": []}


def running(supervision) -> list[tuple]:
    return supervision.sql("SELECT step, ref FROM clocks WHERE stopped_on IS NULL ORDER BY id")


def test_a_conclusion_before_the_acceptance_waits_for_it(supervision):
    with pytest.raises(Early):
        supervision.event("CaseConcluded", CASE, CONCLUDED, D(2026, 3, 4))
    assert supervision.sql("SELECT count(*) FROM cases") == [(0,)]
    supervision.event("ApplicationAccepted", CASE, accepted(D(2026, 3, 2)), D(2026, 3, 2))
    supervision.event("CaseConcluded", CASE, CONCLUDED, D(2026, 3, 4))
    supervision.event("StageOpened", CASE, stage(CASE, 10), D(2026, 3, 3))  # overtaken by the conclusion
    assert supervision.sql("SELECT concluded_on FROM cases") == [(D(2026, 3, 4),)]
    assert running(supervision) == []


def test_a_stage_opened_before_the_routing_ends_the_transfer_on_its_day(supervision):
    supervision.event("ApplicationAccepted", CASE, accepted(D(2026, 3, 2)), D(2026, 3, 2))
    supervision.event("StageOpened", CASE, stage(CASE, 10), D(2026, 3, 3))
    supervision.event("CaseRouted", CASE, ROUTED, D(2026, 3, 2))
    assert supervision.sql("SELECT stopped_on FROM clocks WHERE step = 'transfer'") == [(D(2026, 3, 3),)]
    assert supervision.sql("SELECT count(*) FROM faults") == [(0,)]


def test_a_decision_before_its_stage_leaves_no_task_clock_running(supervision):
    supervision.event("ApplicationAccepted", CASE, accepted(D(2026, 3, 2)), D(2026, 3, 2))
    supervision.event("TaskDecided", CASE, DECIDED, D(2026, 3, 4))
    supervision.event("StageOpened", CASE, stage(CASE, 10), D(2026, 3, 3))
    assert running(supervision) == [("case", "")]
    supervision.event("CaseConcluded", CASE, CONCLUDED, D(2026, 3, 4))
    assert running(supervision) == []
    assert supervision.scan(D(2026, 6, 1)) == 0
