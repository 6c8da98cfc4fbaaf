"""What the supervision office and leaders read and do, on the real PostgreSQL with the clock
injected: supervision suggestions reviewed and closed, the warning board's filters and counts, the
day's summary signed by the leader on duty, the monthly 通报 archive, a department person's duties."""
from __future__ import annotations

import pytest

from services.access import Caller, Role
from services.errors import InvalidRequest, NotAllowedNow, NotFound
from supervision_svc import store
from supervision_svc.suggestions import close_suggestion
from tests.supervision.conftest import D, stage

OFFICER = Caller(Role.SUPERVISOR, "supervision", "county-centre", person="SX0004",
                 post="county-centre/supervision_officer/1", name="吴霞")


def _reds(supervision, department: str, cases: int, on: D) -> None:
    """`cases` tasks of `department` opened on 2 March with 2 working days, red by `on`."""
    for i in range(cases):
        case = f"{department}-{i}"
        supervision.event("StageOpened", case, stage(case, 2, department=department), D(2026, 3, 2))
    while supervision.scan(on):
        pass


def test_a_suggestion_is_listed_and_closed_once_by_the_office_with_its_note(supervision):
    _reds(supervision, "water", 3, D(2026, 3, 10))
    with supervision.on(D(2026, 3, 11)) as uow:
        (open_one,) = store.suggestions(uow, None, True, 0, 10)
        assert not store.suggestions(uow, "civil_affairs", False, 0, 10)
    assert (open_one["department"], open_one["month"], open_one["reds_in_month"]) == ("water", "2026-03", 3)
    assert open_one["closed_on"] is None

    with supervision.on(D(2026, 3, 12)) as uow, pytest.raises(InvalidRequest) as bad:
        close_suggestion(uow, OFFICER, open_one["id"], " ")
    assert [f for f, _ in bad.value.violations] == ["note"]
    with supervision.on(D(2026, 3, 12)) as uow, pytest.raises(NotFound):
        close_suggestion(uow, OFFICER, 987654, "已约谈")
    with supervision.on(D(2026, 3, 12)) as uow:
        closed = close_suggestion(uow, OFFICER, open_one["id"], "已约谈水利局分管领导，限月底前清理超时件")
    assert (closed["closed_on"], closed["note"]) == (D(2026, 3, 12), "已约谈水利局分管领导，限月底前清理超时件")
    assert closed["closed_by"]["person"] == "SX0004"
    with supervision.on(D(2026, 3, 13)) as uow, pytest.raises(NotAllowedNow):
        close_suggestion(uow, OFFICER, open_one["id"], "再次关闭")
    with supervision.on(D(2026, 3, 13)) as uow:
        assert not store.suggestions(uow, None, True, 0, 10)
        assert store.suggestions(uow, "water", False, 0, 10)[0]["note"] == closed["note"]
