"""带领当事人协同办理 counts for the agent, on the real PostgreSQL: a case the agent carried and one it
accompanied the applicant to are both the agent's cases of the period against its quota."""
from __future__ import annotations

from supervision_svc.figures import agent_figures
from tests.supervision.conftest import D, accepted

AGENT = "agent-zhangqiao-liugang"  # 2 a month


def test_a_case_the_agent_accompanied_counts_for_it_as_a_carried_one_does(supervision):
    room = {"organisation": "zhangqiao-liugang-room", "first_clerk": "SX0118"}
    supervision.event("ApplicationAccepted", "P1", {**accepted(D(2026, 3, 2)), **room, "channel": "proxy_agent",
                                                    "agent": AGENT}, D(2026, 3, 2))
    supervision.event("ApplicationAccepted", "A1", {**accepted(D(2026, 3, 3)), **room, "channel": "village_room",
                                                    "item_code": "GA-002", "accompanied_by": AGENT}, D(2026, 3, 3))
    supervision.event("ApplicationAccepted", "W1", {**accepted(D(2026, 3, 4)), **room, "channel": "village_room"},
                      D(2026, 3, 4))
    with supervision.uows[0]() as uow:
        found = {a.agent: a for a in agent_figures(uow, supervision.feedback.ref, D(2026, 3, 1), D(2026, 3, 31))}
    assert (found[AGENT].cases, found[AGENT].quota, found[AGENT].met) == (2, 2, True)
    assert supervision.sql("SELECT case_number, agent, accompanied_by FROM cases ORDER BY case_number") == [
        ("A1", None, AGENT), ("P1", AGENT, None), ("W1", None, None)]
