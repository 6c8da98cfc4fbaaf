"""Each agent's figures for a scripted month, on the real PostgreSQL, against hand-computed values: the
cases it carried and those it accompanied an applicant to (带领) against its quota, of them those concluded
by the month's end (办结率), and the month's ratings of its cases (测评满意率)."""
from __future__ import annotations

import json

from supervision_svc.figures import agent_figures
from tests.supervision.conftest import D, accepted
from tests.supervision.test_feedback import conclude, rate

AGENT, TOWNSHIP = "agent-zhangqiao-liugang", "agent-zhangqiao"  # 2 a month; 1 a week
ROOM = {"organisation": "zhangqiao-liugang-room", "first_clerk": "SX0118"}


def test_an_agents_month_counts_carried_and_accompanied_cases_their_conclusion_and_ratings(supervision):
    def proxy(case: str, on: D, agent: str = AGENT) -> None:
        supervision.event("ApplicationAccepted", case, {**accepted(on), **ROOM, "channel": "proxy_agent",
                                                        "agent": agent}, on)

    proxy("P1", D(2026, 3, 2))
    proxy("P2", D(2026, 3, 9))
    proxy("P0", D(2026, 2, 26))  # February's: not counted in March, but rated in March
    supervision.event("ApplicationAccepted", "A1", {**accepted(D(2026, 3, 3)), **ROOM, "channel": "village_room",
                                                    "item_code": "GA-002", "accompanied_by": AGENT}, D(2026, 3, 3))
    supervision.event("ApplicationAccepted", "W1", {**accepted(D(2026, 3, 4)), **ROOM, "channel": "village_room"},
                      D(2026, 3, 4))
    proxy("T1", D(2026, 3, 5), TOWNSHIP)
    conclude(supervision, "P0", D(2026, 3, 2))
    conclude(supervision, "P1", D(2026, 3, 20))
    conclude(supervision, "A1", D(2026, 4, 2))  # after the month: not concluded in March's figures
    rate(supervision, "P1", 5, D(2026, 3, 21))
    rate(supervision, "P0", 2, D(2026, 3, 3))
    rate(supervision, "W1", 5, D(2026, 3, 10))  # no agent's
    with supervision.uows[0]() as uow:
        found = {a.agent: a for a in agent_figures(uow, supervision.feedback.ref, D(2026, 3, 1), D(2026, 3, 31))}
    village = found[AGENT]
    assert (village.cases, village.quota, village.met) == (3, 2, True)  # P1, P2, A1
    assert (village.concluded, village.ratings, village.satisfied) == (1, 2, 1)  # P1; P1 and P0 rated, P1 well
    township = found[TOWNSHIP]  # 1 a week: the 4 whole weeks of March
    assert (township.cases, township.quota, township.met, township.concluded) == (1, 4, False, 0)
    assert found["agent-zhangqiao-dayang"].cases == 0
    assert supervision.sql("SELECT case_number, agent, accompanied_by FROM cases WHERE case_number IN "
                           "('A1', 'P1', 'W1') ORDER BY case_number") == [
        ("A1", None, AGENT), ("P1", AGENT, None), ("W1", None, None)]


def test_a_hand_over_counts_for_the_township_agent_and_a_departed_agents_card_clock_follows_the_case(supervision):
    """乡级代办员: the township agent who confirmed a village agent's hand-over carries the case, and it counts
    for both; an agent leaving office gives the case to another, who then holds its 办结反馈单's clock."""
    supervision.event("ApplicationAccepted", "H1", {**accepted(D(2026, 3, 2)), **ROOM, "channel": "proxy_agent",
                                                    "agent": AGENT}, D(2026, 3, 2))
    changed = {"agent": AGENT, "carrier": TOWNSHIP, "organisation": ROOM["organisation"]}
    supervision.event("CaseAgentsChanged", "H1", changed, D(2026, 3, 3))
    conclude(supervision, "H1", D(2026, 3, 10))
    with supervision.uows[0]() as uow:
        found = {a.agent: a for a in agent_figures(uow, supervision.feedback.ref, D(2026, 3, 1), D(2026, 3, 31))}
    assert (found[AGENT].cases, found[AGENT].concluded) == (1, 1)
    assert (found[TOWNSHIP].cases, found[TOWNSHIP].concluded) == (1, 1)
    assert supervision.sql("SELECT ref FROM clocks WHERE step = 'result_card'") == [(AGENT,)]
    successor = "agent-zhangqiao-liugang-g1"  # the village agent left office: the case goes to its group's agent
    supervision.event("CaseAgentsChanged", "H1", {**changed, "agent": successor}, D(2026, 3, 11))
    assert supervision.sql("SELECT agent, carrier FROM cases WHERE case_number = 'H1'") == [(successor, TOWNSHIP)]
    assert supervision.sql("SELECT ref, organisation FROM clocks WHERE step = 'result_card'") == [
        (successor, "zhangqiao-liugang-room")]
    assert supervision.scan(D(2026, 3, 31)) == 1
    assert supervision.sql("SELECT step FROM warnings") == [("result_card",)]
    (raised,) = [e for (e,) in supervision.sql("SELECT envelope FROM outbox WHERE event_type = 'WarningRaised'")]
    assert (raised if isinstance(raised, dict) else json.loads(raised))["payload"]["agent"] == successor
