"""Results come back to the proxy agent (代办制), on the real PostgreSQL: notify keeps the agent carrying a
case from intake's ApplicationAccepted, and a department's supplement request, the written progress notice
of a matter decided above the township, the conclusion (with the
pickup of an issued result) and the agent's own warning (the 办结反馈单 not signed in time) reach the persons
holding that agent's post by SMS at their work phones, as well as the applicant; a case without an agent
tells no agent."""
from __future__ import annotations

import pytest

from hall.staff import Staff
from notify_svc.service import HANDLERS
from notify_svc.use_cases import Notify
from services.contracts import new_envelope
from services.inbox import Early
from tests.notify import test_windows
from tests.notify.test_windows import AT, REF, _accepted, _concluded, _own_migrations
from tooling.settings import SystemSettings

store = test_windows.store  # the fixture
AGENT = "agent-zhangqiao-liugang"
AGENT_PERSON = "SX0120"  # 江秀兰, who holds that agent's post (deploy/staff.yaml)


def _deliver(uow, source: str, name: str, case: str, payload: dict) -> None:
    notify = Notify(REF.catalogue, REF.org, {"sms": object()}, attempts=3, backoff_seconds=1,
                    staff=Staff(SystemSettings().staff, REF.org))
    (handler,) = [h for h in HANDLERS if h.event == name]
    with uow() as work:
        handler.handle(notify, work, new_envelope(source, name, case, payload, AT))


def test_the_agent_is_told_of_a_supplement_request_the_result_and_its_own_warning(store, tmp_path):
    uow, sql, _ = store(_own_migrations(None, tmp_path))
    _deliver(uow, "intake", "ApplicationAccepted", "P1", {**_accepted("P1"), "channel": "proxy_agent",
                                                          "agent": AGENT})
    _deliver(uow, "approval", "SupplementRequested", "P1", {
        "task_id": "P1.1.civil_affairs", "department": "civil_affairs", "note": "复印件不清",
        "materials": [{"code": "id_card", "problem": "复印件不清晰"}], "late": False})
    _deliver(uow, "supervision", "ProgressNoticeRequired", "P1", {
        "item_code": "MZ-005", "accepted_on": "2026-02-10", "days_used": 5, "limit_days": 10,
        "deadline": "2026-02-24", "paused": False})
    _deliver(uow, "approval", "CaseConcluded", "P1", _concluded())
    _deliver(uow, "supervision", "WarningRaised", "P1", {"colour": "red", "step": "result_card",
                                                         "deadline": "2026-02-27", "agent": AGENT})
    assert sql("SELECT agent FROM contacts WHERE case_number = 'P1'") == [(AGENT,)]
    phone = Staff(SystemSettings().staff, REF.org).register.person(AGENT_PERSON).work_phone
    to_agent = dict(sql("SELECT notice, body FROM deliveries WHERE recipient = %s", [phone]))
    assert set(to_agent) == {"agent_supplement_request", "agent_progress", "agent_result", "agent_card_overdue"}
    assert "已用5个工作日" in to_agent["agent_progress"] and "书面告知委托人" in to_agent["agent_progress"]
    assert "复印件不清晰" in to_agent["agent_supplement_request"] and "王*明" in to_agent["agent_supplement_request"]
    assert "准予许可" in to_agent["agent_result"] and "办结反馈单" in to_agent["agent_result"]
    assert "2026-02-27" in to_agent["agent_card_overdue"]
    assert all("王小明" not in body and "13912345678" not in body for body in to_agent.values())
    to_applicant = {n for (n,) in sql("SELECT notice FROM deliveries WHERE recipient = '13912345678'")}
    assert {"supplement_request", "progress", "decision", "pickup"} <= to_applicant


def test_a_case_without_an_agent_tells_no_agent(store, tmp_path):
    uow, sql, _ = store(_own_migrations(None, tmp_path))
    _deliver(uow, "intake", "ApplicationAccepted", "W1", _accepted("W1"))
    _deliver(uow, "approval", "CaseConcluded", "W1", _concluded())
    assert sql("SELECT count(*) FROM deliveries WHERE notice LIKE 'agent_%%'") == [(0,)]


def test_after_an_agent_left_office_its_successor_is_told_and_an_early_change_waits_for_the_case(store, tmp_path):
    uow, sql, _ = store(_own_migrations(None, tmp_path))
    successor = "agent-zhangqiao-dayang"
    changed = {"agent": successor, "carrier": None, "organisation": "zhangqiao-liugang-room"}
    with pytest.raises(Early):  # through its own queue, ahead of the acceptance that names the case's contact
        _deliver(uow, "intake", "CaseAgentsChanged", "P2", changed)
    _deliver(uow, "intake", "ApplicationAccepted", "P2", {**_accepted("P2"), "channel": "proxy_agent",
                                                          "agent": AGENT})
    _deliver(uow, "intake", "CaseAgentsChanged", "P2", changed)
    _deliver(uow, "approval", "CaseConcluded", "P2", _concluded())
    assert sql("SELECT agent FROM contacts WHERE case_number = 'P2'") == [(successor,)]
    register = Staff(SystemSettings().staff, REF.org).register
    told = {r for (r,) in sql("SELECT recipient FROM deliveries WHERE notice = 'agent_result'")}
    holders = {p.work_phone for p in register.persons if any(post.agent == successor for post in p.posts)}
    assert told and told == holders and register.person(AGENT_PERSON).work_phone not in told
