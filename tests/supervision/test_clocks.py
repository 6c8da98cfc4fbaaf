"""Electronic supervision on the real PostgreSQL with the clock injected: warnings on the right
working days across the 2026 Spring Festival, pauses and suspensions moving them, and two
replicas scanning together raising each warning exactly once."""
from __future__ import annotations

import threading

from tests.supervision.conftest import D, accepted, stage


def test_a_20_day_case_across_the_spring_festival_warns_yellow_then_red_on_the_right_days(supervision):
    supervision.event("ApplicationAccepted", "C1", accepted(D(2026, 2, 10)), D(2026, 2, 10))
    # 16 working days (80%) after 10 Feb: 11–14 Feb (14 is a worked Saturday), 24–28 Feb (28 worked),
    # 2–6 Mar, 9–10 Mar → yellow on 10 March; the 20th working day is 16 March, red on the 17th.
    assert supervision.sql("SELECT deadline, yellow_on, red_on FROM clocks WHERE case_number = 'C1'") == [
        (D(2026, 3, 16), D(2026, 3, 10), D(2026, 3, 17))]
    assert supervision.scan(D(2026, 3, 9)) == 0
    assert supervision.scan(D(2026, 3, 10)) == 1
    assert supervision.scan(D(2026, 3, 16)) == 0  # yellow raised once, red not yet due
    assert supervision.scan(D(2026, 3, 17)) == 1
    assert supervision.scan(D(2026, 3, 18)) == 0
    assert supervision.sql("SELECT colour, raised_on FROM warnings ORDER BY id") == [
        ("yellow", D(2026, 3, 10)), ("red", D(2026, 3, 17))]
    emitted = supervision.sql("SELECT envelope->'payload'->>'colour' FROM outbox WHERE event_type = 'WarningRaised'")
    assert emitted == [("yellow",), ("red",)]


def test_a_supplement_pause_and_a_suspension_move_the_task_deadline(supervision):
    case = "C2"
    supervision.event("ApplicationAccepted", case, accepted(D(2026, 3, 2)), D(2026, 3, 2))
    supervision.event("StageOpened", case, stage(case, 10), D(2026, 3, 2))
    task = f"{case}.1.civil_affairs"
    assert supervision.sql("SELECT deadline FROM clocks WHERE step = 'task'") == [(D(2026, 3, 16),)]
    supervision.event("SupplementRequested", case, {"task_id": task, "department": "civil_affairs",
                                                    "materials": [], "note": "", "late": False}, D(2026, 3, 3))
    assert supervision.sql("SELECT deadline, paused_by FROM clocks ORDER BY step") == [(None, [task]), (None, [task])]
    assert supervision.scan(D(2026, 4, 30)) == 0  # a paused clock never warns
    supervision.event("TaskResumed", case, {"task_id": task, "department": "civil_affairs", "reason": "supplement",
                                            "extension_days": 0}, D(2026, 3, 6))
    # 4–6 March did not count: the deadline moves three working days, to 19 March.
    assert supervision.sql("SELECT deadline FROM clocks WHERE step = 'task'") == [(D(2026, 3, 19),)]
    supervision.event("TaskPaused", case, {"task_id": task, "department": "civil_affairs", "reason": "suspension",
                                           "note": "", "until": "2026-04-30"}, D(2026, 3, 9))
    supervision.event("TaskResumed", case, {"task_id": task, "department": "civil_affairs", "reason": "suspension",
                                            "extension_days": 3}, D(2026, 3, 13))
    # 10–13 March paused (4 working days) and 3 more days granted: 19 March + 7 working days.
    assert supervision.sql("SELECT deadline FROM clocks WHERE step = 'task'") == [(D(2026, 3, 30),)]
    supervision.event("TaskDecided", case, {"task_id": task, "department": "civil_affairs", "stage": 1,
                                            "role": "lead", "decision": "approve", "opinion": "同意",
                                            "legal_basis": "法"}, D(2026, 3, 20))
    assert supervision.sql("SELECT stopped_on, deadline FROM clocks WHERE step = 'task'") == [(D(2026, 3, 20), None)]


def test_a_step_finished_in_time_withdraws_its_yellow_warning(supervision):
    case = "C3"
    supervision.event("ApplicationAccepted", case, accepted(D(2026, 3, 2)), D(2026, 3, 2))
    supervision.event("StageOpened", case, stage(case, 5), D(2026, 3, 2))
    assert supervision.scan(D(2026, 3, 6)) == 1  # 4 of 5 days used: yellow for the task
    supervision.event("TaskDecided", case, {"task_id": f"{case}.1.civil_affairs", "department": "civil_affairs",
                                            "stage": 1, "role": "lead", "decision": "approve", "opinion": "同意",
                                            "legal_basis": "法"}, D(2026, 3, 9))
    assert supervision.sql("SELECT colour, withdrawn_on FROM warnings") == [("yellow", D(2026, 3, 9))]


def test_two_replicas_scanning_together_raise_each_warning_exactly_once(supervision):
    for i in range(60):
        case = f"R{i}"
        supervision.event("StageOpened", case, stage(case, 2, department="water"), D(2026, 3, 2))
    results = [0, 0]

    def scan(replica):
        while (n := supervision.scan(D(2026, 3, 10), replica)):
            results[replica] += n

    threads = [threading.Thread(target=scan, args=(r,)) for r in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == 60
    assert supervision.sql("SELECT colour, count(*) FROM warnings GROUP BY colour") == [("red", 60)]
    assert supervision.sql("SELECT count(*) FROM outbox WHERE event_type = 'WarningRaised'") == [(60,)]
    # repeated red warnings of one department in a month: one supervision suggestion
    assert supervision.sql("SELECT department, month FROM suggestions") == [("water", "2026-03")]
