"""Department handling rules: the supplement once, pauses, suspension caps, co-handling, the join."""
import datetime as dt
from dataclasses import replace

import pytest

from approval_svc import desk
from approval_svc.desk import Task
from hall.calendar import WorkingCalendar
from hall.domain import Decision, ResultCode, TaskStatus
from hall.reference import load_reference
from routing_svc.plan import route
from services.errors import InvalidRequest, NotAllowedNow
from tooling.settings import SystemSettings

D = dt.date
CAL = WorkingCalendar()
NOW = dt.datetime(2026, 2, 10, 10)
SYSTEM = {"holder": "development_reform"}
DEPTS = {"land_resources", "water", "environment", "transport", "development_reform"}


def task(**kw) -> Task:
    fields = dict(id="C1.1.development_reform", case_number="C1", item_code="TZ-002", stage=1, stage_name="立项",
                  department="development_reform", organisation="county-window-development-reform", role=desk.LEAD,
                  status=TaskStatus.ASSIGNED, assigned_on=D(2026, 2, 2), limit_days=20)
    return Task(**{**fields, **kw})


def test_a_supplement_within_two_working_days_stops_the_clock():
    asked = desk.request_supplement(task(), CAL, D(2026, 2, 4), [("site_map", "不清")])
    assert asked.status == TaskStatus.WAITING_SUPPLEMENT and not asked.supplement_late
    assert asked.read(CAL, D(2026, 2, 6)).paused
    back = desk.materials_supplied(asked, D(2026, 2, 6))
    assert back.status == TaskStatus.CLAIMED
    assert back.read(CAL, D(2026, 2, 6)).deadline == CAL.add(task().clock.deadline(CAL), 2)
    with pytest.raises(NotAllowedNow, match="once"):
        desk.request_supplement(back, CAL, D(2026, 2, 9), [("site_map", "again")])


def test_a_late_supplement_request_is_the_departments_delay():
    asked = desk.request_supplement(task(), CAL, D(2026, 2, 5), [("site_map", "不清")])
    assert asked.supplement_late and not asked.read(CAL, D(2026, 2, 6)).paused
    assert asked.read(CAL, D(2026, 2, 6)).deadline == task().clock.deadline(CAL)


def test_suspension_at_most_three_months_and_the_limit_grows_at_most_30_percent():
    with pytest.raises(InvalidRequest):
        desk.suspend(task(), D(2026, 2, 10), D(2026, 5, 11))
    suspended = desk.suspend(task(), D(2026, 2, 10), D(2026, 5, 10))
    with pytest.raises(InvalidRequest):
        desk.resume(suspended, D(2026, 3, 2), 7)  # 30% of 20 is 6
    resumed = desk.resume(suspended, D(2026, 3, 2), 6)
    assert resumed.extension_days == 6 and desk.growth_cap(resumed) == 0
    with pytest.raises(NotAllowedNow):
        desk.resume(resumed, D(2026, 3, 3), 0)


def test_a_special_procedure_pauses_and_blocks_the_decision():
    special = desk.start_special_procedure(task(), D(2026, 2, 3), "hearing")
    with pytest.raises(NotAllowedNow):
        desk.decide(special, Decision.APPROVE, "同意", "法", [], 0, NOW, SYSTEM)
    ended = desk.end_special_procedure(special, D(2026, 2, 12))
    assert ended.read(CAL, D(2026, 2, 12)).deadline > task().clock.deadline(CAL)


def test_co_handling_is_asked_all_at_once_and_a_second_ask_names_its_cause():
    lead = task()
    asks = [("water", "水土保持意见", 5), ("environment", "环评意见", 3)]
    first, growth = desk.co_handling(lead, asks, None, [], DEPTS, D(2026, 2, 3))
    assert [t.round for t in first] == [1, 1] and growth == 0
    with pytest.raises(NotAllowedNow, match="all at once"):
        desk.co_handling(lead, [("transport", "x", 2)], None, first, DEPTS, D(2026, 2, 4))
    with pytest.raises(NotAllowedNow, match="not answered"):
        desk.co_handling(lead, [("water", "again", 4)], "co_handler_missed", first, DEPTS, D(2026, 2, 4))
    answered = [replace(t, status=TaskStatus.DECIDED) for t in first]
    second, growth = desk.co_handling(lead, [("water", "again", 4)], "co_handler_missed", answered, DEPTS,
                                      D(2026, 2, 5))
    assert second[0].round == 2 and growth == 4  # the co-handler's delay: the lead's limit grows
    _, growth = desk.co_handling(lead, [("environment", "clearer", 3)], "lead_unclear", answered, DEPTS, D(2026, 2, 5))
    assert growth == 0  # the lead's own delay
    with pytest.raises(NotAllowedNow, match="second time"):
        desk.co_handling(lead, [("water", "third", 4)], "co_handler_missed",
                         [replace(second[0], status=TaskStatus.DECIDED)], DEPTS, D(2026, 2, 6))
    with pytest.raises(InvalidRequest):
        desk.co_handling(lead, [("development_reform", "self", 2), ("nowhere", "", 0)], None, [], DEPTS, D(2026, 2, 3))


def test_decide_once_with_reasons():
    with pytest.raises(InvalidRequest):
        desk.decide(task(), None, "", "", [], 0, NOW, SYSTEM)
    with pytest.raises(NotAllowedNow, match="co-handling"):
        desk.decide(task(), Decision.APPROVE, "同意", "法", [], 1, NOW, SYSTEM)
    decided = desk.decide(task(), Decision.APPROVE, "同意", "法", ["批复.pdf"], 0, NOW, SYSTEM)
    with pytest.raises(NotAllowedNow, match="already decided"):
        desk.decide(decided, Decision.APPROVE, "同意", "法", [], 0, NOW, SYSTEM)


def _stage(*decisions):
    return [task(id=f"t{i}", department=f"d{i}", status=TaskStatus.DECIDED if d else TaskStatus.CLAIMED,
                 decision=d, opinion="意见", legal_basis="依据") for i, d in enumerate(decisions)]


def test_the_join_waits_for_every_department_then_decides_the_case():
    assert not desk.join(_stage(Decision.APPROVE, None), last_stage=True, reported_up=False).complete
    assert desk.join(_stage(Decision.APPROVE, Decision.APPROVE), False, False) == desk.Join(True)
    assert desk.join(_stage(Decision.APPROVE), True, False).result == ResultCode.ISSUED
    assert desk.join(_stage(Decision.APPROVE), True, True).result == ResultCode.REPORTED_UP
    rejected = desk.join(_stage(Decision.REJECT, Decision.APPROVE, Decision.REJECT), False, False)
    assert rejected.result == ResultCode.REJECTED and len(rejected.reasons) == 2


REF = load_reference(SystemSettings())


def test_routing_up_from_a_village_room_to_a_county_window():
    plan = route(REF.org, REF.catalogue.item("MZ-001"), "zhangqiao-liugang-room", D(2026, 2, 10), CAL, 1)
    assert [t["to_organisation"] for t in plan["transfers"]] == ["zhangqiao-desk", "county-desk",
                                                                 "county-window-civil-affairs"]
    assert [t["deadline"] for t in plan["transfers"]] == [D(2026, 2, 11), D(2026, 2, 12), D(2026, 2, 13)]
    assert plan["stages"] == [{"index": 1, "name": "承办", "lead": "civil_affairs", "limit_days": 20,
                               "tasks": [{"department": "civil_affairs",
                                          "organisation": "county-window-civil-affairs"}]}]


def test_what_the_township_decides_stays_there():
    plan = route(REF.org, REF.catalogue.item("MZ-005"), "zhangqiao-liugang-room", D(2026, 2, 10), CAL, 1)
    assert [t["to_organisation"] for t in plan["transfers"]] == ["zhangqiao-desk", "zhangqiao-window-civil-affairs"]
    assert plan["deciding_level"] == "township"


def test_parallel_approval_stages_with_their_leads():
    plan = route(REF.org, REF.catalogue.item("TZ-001"), "county-window-development-reform", D(2026, 2, 10), CAL, 1)
    assert plan["transfers"] == []
    assert [(s["lead"], len(s["tasks"])) for s in plan["stages"]] == [
        ("development_reform", 5), ("planning_office", 3), ("planning_construction", 2), ("planning_construction", 5)]
    joint = route(REF.org, REF.catalogue.item("GT-001"), "zhangqiao-desk", D(2026, 2, 10), CAL, 1)
    assert [t["department"] for t in joint["stages"][0]["tasks"]] == ["land_resources", "agriculture",
                                                                      "planning_construction"]
    assert REF.catalogue.item("HB-002").kind.value == "reported"
    assert route(REF.org, REF.catalogue.item("HB-002"), "county-desk", D(2026, 2, 10), CAL, 1)["reported_up"]
