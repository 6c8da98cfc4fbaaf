"""What the desk API tells of a task beyond its state: how long a suspension may last and how much
the limit may still grow, whether a supplement request would still stop the clock, the procedure
under way. (The department's pages explain each action with it.)"""
from __future__ import annotations

import datetime as dt

from approval_svc import desk
from approval_svc.desk import Task
from approval_svc.grpc_api import task_view
from hall.domain import TaskStatus
from hall.reference import load_reference
from hall.staff import StaffRegister
from tooling.settings import SystemSettings

D = dt.date
REF = load_reference(SystemSettings())
REGISTER = StaffRegister(county="示范县", persons=[])


def task(**kw) -> Task:
    fields = dict(id="C1.1.civil_affairs", case_number="C1", item_code="MZ-001", stage=1, stage_name="审核",
                  department="civil_affairs", organisation="county-window-civil-affairs", role=desk.LEAD,
                  status=TaskStatus.ASSIGNED, assigned_on=D(2026, 2, 2), limit_days=20)
    return Task(**{**fields, **kw})


def test_a_supplement_request_stops_the_clock_only_within_two_working_days_and_only_once():
    cal = REF.calendar
    two = cal.add(D(2026, 2, 2), 2)
    assert task_view(task(), REF, two, REGISTER).supplement_stops_clock
    assert not task_view(task(), REF, cal.add(two, 1), REGISTER).supplement_stops_clock
    asked = desk.request_supplement(task(), cal, two, [("application", "缺少")])
    assert not task_view(asked, REF, two, REGISTER).supplement_stops_clock


def test_a_suspension_shows_its_last_day_and_the_growth_left():
    suspended = desk.suspend(task(), D(2026, 2, 10), D(2026, 4, 1))
    view = task_view(suspended, REF, D(2026, 2, 11), REGISTER)
    assert view.suspended_until == "2026-04-01" and view.extension_left == 6  # 30% of 20
    resumed = desk.resume(suspended, D(2026, 3, 2), 4)
    view = task_view(resumed, REF, D(2026, 3, 2), REGISTER)
    assert view.suspended_until == "" and view.extension_left == 2


def test_a_special_procedure_is_named():
    special = desk.start_special_procedure(task(), D(2026, 2, 3), "hearing")
    assert task_view(special, REF, D(2026, 2, 4), REGISTER).procedure == "hearing"
