"""督办 on the real PostgreSQL with the clock injected: the supervision office instructs the warned
department, the department replies, and a reply left late warns in turn."""
from __future__ import annotations

import pytest

from hall.holders import holder_role
from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound
from tests.supervision.conftest import D, accepted, stage

OFFICE = "supervision"
# a supervision officer and a handler of the register, signed in at their posts
OFFICER = Caller(Role.SUPERVISOR, OFFICE, "county-centre", person="SX0004", post="county-centre/supervision_officer/1",
                 name="吴霞")
HANDLER = Caller(Role.DEPARTMENT, "civil_affairs", "county-window-civil-affairs", person="SX0018",
                 post="county-window-civil-affairs/handler/1", name="曾玉梅")


def _red_task_warning(supervision, case: str) -> dict:
    """A case whose civil-affairs task (5 working days from 2 March) went red on 10 March."""
    supervision.event("ApplicationAccepted", case, accepted(D(2026, 3, 2)), D(2026, 3, 2))
    supervision.event("StageOpened", case, stage(case, 5), D(2026, 3, 2))
    supervision.scan(D(2026, 3, 6))
    supervision.scan(D(2026, 3, 10))
    (warning_id,) = supervision.sql("SELECT id FROM warnings WHERE case_number = %s AND colour = 'red'", [case])[0]
    return warning_id


def _caller(supervision, caller: str | Caller) -> Caller:
    """A person as given, or the system of a token holder's code."""
    return caller if isinstance(caller, Caller) else holder_role(caller, supervision.feedback.ref.org)


def _instruct(supervision, on: D, warning_id: int, text: str, caller: str | Caller = OFFICE,
              reply_days: int = 0) -> dict:
    with supervision.on(on) as uow:
        return supervision.instructions.instruct(uow, _caller(supervision, caller), warning_id, text, reply_days)


def _reply(supervision, on: D, warning_id: int, text: str, caller: str | Caller = "civil_affairs") -> dict:
    with supervision.on(on) as uow:
        return supervision.instructions.reply(uow, _caller(supervision, caller), warning_id, text)


def test_the_office_instructs_the_warned_department_which_replies_in_time(supervision):
    warning = _red_task_warning(supervision, "I1")
    with pytest.raises(Forbidden):
        _instruct(supervision, D(2026, 3, 11), warning, "请办结", caller="civil_affairs")
    with pytest.raises(InvalidRequest) as bad:
        _instruct(supervision, D(2026, 3, 11), warning, "  ", reply_days=31)
    assert {f for f, _ in bad.value.violations} == {"instruction", "reply_days"}
    with pytest.raises(NotFound):
        _instruct(supervision, D(2026, 3, 11), warning + 1000, "请办结")
    assert supervision.sql("SELECT count(*) FROM clocks WHERE step = 'instruction'") == [(0,)]

    done = _instruct(supervision, D(2026, 3, 11), warning, "请分管领导牵头，限期办结", caller=OFFICER)
    # five working days after Wednesday 11 March: 12, 13, 16, 17, 18
    assert (done["department"], done["instructed_on"], done["reply_by"]) == ("civil_affairs", D(2026, 3, 11),
                                                                             D(2026, 3, 18))
    assert supervision.sql("SELECT department, deadline, stopped_on FROM clocks WHERE step = 'instruction'") == [
        ("civil_affairs", D(2026, 3, 18), None)]
    # the same call again answers as the first time; a different instruction is refused
    assert _instruct(supervision, D(2026, 3, 11), warning, "请分管领导牵头，限期办结", caller=OFFICER) == done
    assert done["instructed_by"] == OFFICER.actor() and done["replied_by"] is None
    with pytest.raises(NotAllowedNow):
        _instruct(supervision, D(2026, 3, 12), warning, "另一条意见")
    emitted = supervision.sql("SELECT envelope->'payload' FROM outbox WHERE event_type = 'WarningInstructed'")
    assert emitted == [({"warning_id": warning, "colour": "red", "step": "task", "department": "civil_affairs",
                         "instruction": "请分管领导牵头，限期办结", "reply_by": "2026-03-18", "by": {
                             "person": "SX0004", "name": "吴霞", "post": "county-centre/supervision_officer/1",
                             "organisation": "county-centre", "holder": "supervision"}},)]

    with pytest.raises(Forbidden):
        _reply(supervision, D(2026, 3, 13), warning, "已办结", caller="water")
    replied = _reply(supervision, D(2026, 3, 13), warning, "已于3月12日办结，并约谈经办人", caller=HANDLER)
    assert (replied["reply"], replied["replied_on"]) == ("已于3月12日办结，并约谈经办人", D(2026, 3, 13))
    assert replied["replied_by"]["person"] == "SX0018" and replied["instructed_by"]["person"] == "SX0004"
    assert supervision.sql("SELECT stopped_on FROM clocks WHERE step = 'instruction'") == [(D(2026, 3, 13),)]
    with pytest.raises(NotAllowedNow):
        _reply(supervision, D(2026, 3, 16), warning, "补充说明")
    assert supervision.scan(D(2026, 3, 23)) == 0  # the reply came in time: its clock raises nothing


def test_a_reply_left_late_warns_the_department_in_turn(supervision):
    warning = _red_task_warning(supervision, "I2")
    _instruct(supervision, D(2026, 3, 11), warning, "请限期办结", reply_days=2)  # by Friday 13 March
    assert supervision.scan(D(2026, 3, 13)) == 1  # yellow: both days used on the last day
    assert supervision.scan(D(2026, 3, 16)) == 1  # red: the reply is late
    assert supervision.sql("SELECT step, department, colour FROM warnings WHERE step = 'instruction' ORDER BY id") == [
        ("instruction", "civil_affairs", "yellow"), ("instruction", "civil_affairs", "red")]
    _reply(supervision, D(2026, 3, 17), warning, "已办结")
    assert supervision.sql("SELECT withdrawn_on FROM warnings WHERE step = 'instruction' AND colour = 'yellow'") \
        == [(None,)]  # replied late: the yellow stands


def test_what_may_not_be_instructed_and_where_a_case_warning_goes(supervision):
    # a case's own clock names no department: the instruction goes to the item's department
    supervision.event("ApplicationAccepted", "I3", accepted(D(2026, 2, 10)), D(2026, 2, 10))
    supervision.scan(D(2026, 3, 17))
    (case_red,) = supervision.sql("SELECT id FROM warnings WHERE case_number = 'I3' AND step = 'case' "
                                  "AND colour = 'red'")[0]
    assert _instruct(supervision, D(2026, 3, 18), case_red, "请牵头部门督促办结")["department"] == "civil_affairs"
    # a reply before any instruction, and an instruction on a yellow withdrawn in time, are refused
    supervision.event("ApplicationAccepted", "I4", accepted(D(2026, 3, 2)), D(2026, 3, 2))
    supervision.event("StageOpened", "I4", stage("I4", 5), D(2026, 3, 2))
    supervision.scan(D(2026, 3, 6))
    (yellow,) = supervision.sql("SELECT id FROM warnings WHERE case_number = 'I4'")[0]
    with pytest.raises(NotAllowedNow):
        _reply(supervision, D(2026, 3, 6), yellow, "已办")
    supervision.event("TaskDecided", "I4", {"task_id": "I4.1.civil_affairs", "department": "civil_affairs",
                                            "stage": 1, "role": "lead", "decision": "approve", "opinion": "同意",
                                            "legal_basis": "法"}, D(2026, 3, 9))
    with pytest.raises(NotAllowedNow):
        _instruct(supervision, D(2026, 3, 10), yellow, "请办结")
    assert supervision.sql("SELECT count(*) FROM outbox WHERE event_type = 'WarningInstructed'") == [(1,)]
