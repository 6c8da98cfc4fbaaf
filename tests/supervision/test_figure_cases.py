"""The cases behind each number of the figures, on the real PostgreSQL with a scripted March 2026 fed
to supervision's use cases: for every grouping, key and listable count, the rows listed (page by
page) are exactly as many as the number; the figures by centre add up the windows of each centre;
each caller lists what it may."""
from __future__ import annotations

import pytest

from services.errors import InvalidRequest
from supervision_svc.feedback import Complaint
from supervision_svc.figure_cases import ACT_GROUPINGS, COUNTS, Scope, figure_cases, organisations_of_centre
from supervision_svc.figures import GROUPINGS, figures
from tests.supervision.conftest import D
from tests.supervision.test_feedback import conclude, route
from tests.supervision.test_figures_by_window import OFFICE, SUN, TIAN, WINDOW, XIAO, ZENG, accept, rate, task

MARCH = (D(2026, 3, 1), D(2026, 3, 31))
TOWN_DESK, TOWN_WINDOW, ROOM = "zhangqiao-desk", "zhangqiao-window-civil-affairs", "zhangqiao-liugang-room"
ROOM_CLERK = ("SX0118", "肖文华", f"{ROOM}/acceptance_clerk/1")
TOWN_CLERK = ("SX0087", "董晓东", f"{TOWN_DESK}/acceptance_clerk/1")
TOWN_HANDLER = ("SX0094", "蔡艳", f"{TOWN_WINDOW}/handler/1")


def a_month(h) -> None:
    """Cases at the county desk and window, a township desk and a village room; decisions at windows
    and a back office, by persons and by a department's system; conclusions in time and late, one
    withdrawn; ratings on site and online, one voided; complaints with and without a case."""
    accept(h, "A", "MZ-001", D(2026, 3, 2))
    route(h, "A", "MZ-001", WINDOW, D(2026, 3, 2))
    task(h, "A", "civil_affairs", WINDOW, 10, D(2026, 3, 2), D(2026, 3, 6), ZENG)
    conclude(h, "A", D(2026, 3, 6))
    accept(h, "B", "MZ-001", D(2026, 3, 3))
    b_task = task(h, "B", "civil_affairs", WINDOW, 3, D(2026, 3, 3), D(2026, 3, 12), ZENG)  # late
    conclude(h, "B", D(2026, 3, 30))  # 20 working days of 20: in time; its task was not
    accept(h, "C", "MZ-006", D(2026, 3, 4), clerk=SUN, kind="immediate")
    route(h, "C", "MZ-006", WINDOW, D(2026, 3, 4))
    task(h, "C", "civil_affairs", WINDOW, 1, D(2026, 3, 4), D(2026, 3, 4), ZENG)
    conclude(h, "C", D(2026, 3, 4))
    accept(h, "D", "AJ-001", D(2026, 3, 5))
    route(h, "D", "AJ-001", OFFICE, D(2026, 3, 5), department="work_safety")
    d_task = task(h, "D", "work_safety", OFFICE, 10, D(2026, 3, 5), D(2026, 3, 10), XIAO)
    conclude(h, "D", D(2026, 3, 10))
    accept(h, "E", "MZ-001", D(2026, 2, 26))  # accepted in February, decided in March
    task(h, "E", "civil_affairs", WINDOW, 10, D(2026, 2, 26), D(2026, 3, 2), ZENG)
    accept(h, "G", "MZ-001", D(2026, 3, 9))  # decided by the department's system, no person
    task(h, "G", "civil_affairs", WINDOW, 10, D(2026, 3, 9), D(2026, 3, 11))
    # the township: its desk and a village room of it (whose centre is the township's)
    accept(h, "T", "MZ-005", D(2026, 3, 10), clerk=TOWN_CLERK)
    task(h, "T", "civil_affairs", TOWN_WINDOW, 5, D(2026, 3, 10), D(2026, 3, 12), TOWN_HANDLER)
    conclude(h, "T", D(2026, 3, 12))
    accept(h, "V", "MZ-005", D(2026, 3, 11), clerk=ROOM_CLERK, kind="immediate")
    task(h, "V", "civil_affairs", TOWN_WINDOW, 1, D(2026, 3, 11), D(2026, 3, 20), TOWN_HANDLER)  # late
    conclude(h, "V", D(2026, 3, 31))  # late too
    accept(h, "W", "MZ-002", D(2026, 3, 12), clerk=ROOM_CLERK)
    h.event("ApplicationWithdrawn", "W", {"reason": "不再需要"}, D(2026, 3, 13))
    rate(h, "A", 5, D(2026, 3, 16))
    rate(h, "B", 1, D(2026, 3, 13), act=b_task, named=True)
    rate(h, "C", 2, D(2026, 3, 5), act="acceptance")
    rate(h, "D", 4, D(2026, 3, 11), act=d_task)
    rate(h, "V", 2, D(2026, 3, 31))
    rate(h, "T", 3, D(2026, 4, 1))  # April's
    with h.on(D(2026, 3, 24)) as uow:
        h.feedback.complain(uow, Complaint("c1", "phone", "办理慢", case_number="B"))
        h.feedback.complain(uow, Complaint("c2", "mailbox", "找不到窗口", department="work_safety"))
        h.feedback.complain(uow, Complaint("c3", "phone", "村里跑了两趟", case_number="V"))


def listed(h, group_by: str, key: str, count: str, scope: Scope = Scope(), size: int = 2) -> list[dict]:
    """Every row, a page of `size` at a time, as the API pages them."""
    rows, after = [], ""
    with h.uows[0]() as uow:
        while True:
            page = figure_cases(uow, h.feedback.ref, *MARCH, group_by, key, count, scope, after, size + 1)
            rows += page[:size]
            if len(page) <= size:
                return rows
            after = str(page[size - 1]["seq"])


def number(f, count: str) -> int:
    c = f.counts
    return c.concluded - c.concluded_on_time if count == "concluded_late" else getattr(c, count)


def test_every_number_of_every_grouping_lists_exactly_as_many_rows(supervision):
    h = supervision
    a_month(h)
    checked = 0
    for group_by in GROUPINGS:
        with h.uows[0]() as uow:
            groups = figures(uow, h.feedback.ref, *MARCH, group_by)
        for f in groups:
            for count in COUNTS:
                if count == "complaints" and group_by in ACT_GROUPINGS:
                    continue
                rows = listed(h, group_by, f.counts.key, count)
                assert len(rows) == number(f, count), (group_by, f.counts.key, count)
                assert len({r["seq"] for r in rows}) == len(rows)
                checked += number(f, count)
    assert checked > 150  # the month has something behind most numbers
    assert listed(h, "item", "NO-SUCH", "accepted") == []


def test_the_figures_by_centre_add_up_the_windows_of_each_centre(supervision):
    h = supervision
    a_month(h)
    with h.uows[0]() as uow:
        by_centre = {f.counts.key: f.counts for f in figures(uow, h.feedback.ref, *MARCH, "centre")}
        by_window = {f.counts.key: f.counts for f in figures(uow, h.feedback.ref, *MARCH, "window")}
    town, county = by_centre["zhangqiao-centre"], by_centre["county-centre"]
    # T at the township desk, V and W in the village room: the room's centre is the township's
    assert (town.accepted, town.immediate) == (3, 1) == (
        by_window[TOWN_DESK].accepted + by_window[ROOM].accepted, by_window[ROOM].immediate)
    # T and V decided at the township window (V late); A B C E G at the county window, D in its office
    assert (town.concluded, town.concluded_on_time, town.concluded_on_site) == (2, 1, 2)
    assert (county.concluded, county.concluded_on_time, county.concluded_on_site) == (6, 5, 5)
    assert (town.ratings, town.dissatisfied) == (1, 1)  # V online: for its acceptance, the room
    assert county.ratings == 4 and county.complaints == town.complaints == 0  # complaints: not by centre
    assert set(by_centre) == {"county-centre", "zhangqiao-centre"}
    rows = listed(h, "centre", "zhangqiao-centre", "accepted")
    assert [(r["case_number"], r["organisation"]) for r in rows] == [("T", TOWN_DESK), ("V", ROOM), ("W", ROOM)]
    late = listed(h, "centre", "zhangqiao-centre", "concluded_late")
    assert [(r["case_number"], r["task_id"], r["on_time"], r["days_used"], r["limit_days"]) for r in late] == [
        ("V", "V.1.civil_affairs", False, 7, 1)]  # 12 to 20 March: 7 working days of 1


def test_rows_carry_the_case_and_each_caller_lists_what_it_may(supervision):
    h = supervision
    a_month(h)
    (late,) = listed(h, "", "", "concluded_late")
    assert (late["case_number"], late["item_code"], late["organisation"], str(late["accepted_on"]),
            str(late["concluded_on"]), late["on_time"], late["days_used"], late["limit_days"]) == (
        "V", "MZ-005", ROOM, "2026-03-11", "2026-03-31", False, 14, 3)
    complaints = listed(h, "department", "work_safety", "complaints")
    assert [(r["case_number"], r["complaint_id"] > 0) for r in complaints] == [(None, True)]  # names no case
    by_person = listed(h, "person", ZENG[0], "concluded")
    assert [r["case_number"] for r in by_person] == ["A", "B", "C", "E"]
    assert [r["case_number"] for r in listed(h, "person", "", "concluded")] == ["G"]  # the system's decision
    assert [r["case_number"] for r in listed(h, "person", TIAN[0], "accepted")] == ["A", "B", "D", "G"]

    # a department its own; a centre's manager the rows of the organisations its centre answers for
    work_safety = Scope(department="work_safety")
    assert [r["case_number"] for r in listed(h, "", "", "accepted", work_safety)] == ["D"]
    assert [r["task_id"] for r in listed(h, "window", OFFICE, "concluded", work_safety)] == ["D.1.work_safety"]
    assert listed(h, "window", WINDOW, "concluded", work_safety) == []
    town = Scope(organisations=organisations_of_centre(h.feedback.ref, "zhangqiao-centre"))
    assert [r["case_number"] for r in listed(h, "", "", "accepted", town)] == ["T", "V", "W"]
    assert [r["case_number"] for r in listed(h, "", "", "complaints", town)] == ["V"]
    assert listed(h, "centre", "county-centre", "ratings", town) == []

    def refused(group_by: str, count: str, after: str = "") -> list[str]:
        with pytest.raises(InvalidRequest) as info, h.uows[0]() as uow:
            figure_cases(uow, h.feedback.ref, *MARCH, group_by, "", count, Scope(), after, 10)
        return [f for f, _ in info.value.violations]

    assert refused("window", "complaints") == ["count"]
    assert refused("", "satisfied") == ["count"]
    assert refused("street", "accepted") == ["group_by"]
    assert refused("", "ratings", after="not-a-number") == ["page_token"]
