"""The proxy agent's clock (代办事项落实卡) on the real PostgreSQL: a proxy case concluded is to have its
办结反馈单 signed within the set working days; unsigned, it warns the agent once (red, no yellow); signed in
time, or signed before the conclusion is seen, it never warns; a case without an agent has no such clock."""
from __future__ import annotations

import json

from tests.supervision.conftest import D, accepted

AGENT = "agent-zhangqiao-liugang"
CONCLUDED = {"result": "issued", "concluded_on": "2026-03-09", "decisions": [], "reasons": []}


def proxy_case(supervision, case: str, agent: str | None = AGENT) -> None:
    payload = {**accepted(D(2026, 3, 2)), "organisation": "zhangqiao-liugang-room", "channel": "proxy_agent"}
    if agent:
        payload["agent"] = agent
    supervision.event("ApplicationAccepted", case, payload, D(2026, 3, 2))


def signed(supervision, case: str, on: D) -> None:
    supervision.event("ResultCardSigned", case, {"agent": AGENT, "organisation": "zhangqiao-liugang-room",
                                                 "signed_on": str(on), "mark": "signature"}, on)


def test_an_unsigned_card_warns_the_agent_once_after_the_set_working_days(supervision):
    proxy_case(supervision, "C1")
    supervision.event("CaseConcluded", "C1", CONCLUDED, D(2026, 3, 9))
    assert supervision.sql("SELECT ref, organisation, deadline, yellow_on, red_on FROM clocks "
                           "WHERE step = 'result_card'") == [
        (AGENT, "zhangqiao-liugang-room", D(2026, 3, 16), None, D(2026, 3, 17))]  # 5 working days, red only
    assert supervision.scan(D(2026, 3, 16)) == 0
    assert supervision.scan(D(2026, 3, 17)) == 1
    assert supervision.scan(D(2026, 3, 18)) == 0  # once
    assert supervision.sql("SELECT step, colour, deadline FROM warnings") == [("result_card", "red", D(2026, 3, 16))]
    (raised,) = [json.loads(e) if isinstance(e, str) else e for (e,) in supervision.sql(
        "SELECT envelope FROM outbox WHERE event_type = 'WarningRaised'")]
    assert raised["payload"]["agent"] == AGENT and raised["payload"]["step"] == "result_card"
    signed(supervision, "C1", D(2026, 3, 19))  # late: the clock stops, the warning stands
    assert supervision.sql("SELECT stopped_on FROM clocks WHERE step = 'result_card'") == [(D(2026, 3, 19),)]
    assert supervision.sql("SELECT withdrawn_on FROM warnings") == [(None,)]


def test_a_card_signed_in_time_or_before_the_conclusion_is_seen_never_warns(supervision):
    proxy_case(supervision, "C2")
    supervision.event("CaseConcluded", "C2", CONCLUDED, D(2026, 3, 9))
    signed(supervision, "C2", D(2026, 3, 10))
    proxy_case(supervision, "C3")
    signed(supervision, "C3", D(2026, 3, 10))  # through its own queue, ahead of approval's CaseConcluded
    supervision.event("CaseConcluded", "C3", CONCLUDED, D(2026, 3, 9))
    proxy_case(supervision, "C4", agent=None)
    supervision.event("CaseConcluded", "C4", CONCLUDED, D(2026, 3, 9))
    assert supervision.sql("SELECT case_number, stopped_on FROM clocks WHERE step = 'result_card' "
                           "ORDER BY case_number") == [("C2", D(2026, 3, 10)), ("C3", D(2026, 3, 10))]
    assert supervision.scan(D(2026, 3, 30)) == 0
    assert supervision.sql("SELECT count(*) FROM warnings") == [(0,)]
