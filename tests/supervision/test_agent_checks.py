"""The 代办制's quotas and checks on the real PostgreSQL (agent_checks): a township's scripted month of
quotas and per-agent figures against values worked out by hand, the 抽查 draw reproducible with its seed and
recorded, the 回访 selection by the office's criteria with each call recorded, and the fee complaint (无偿代办)
counted per agent."""
from __future__ import annotations

import pytest

from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow
from supervision_svc.agent_checks import AgentChecks, Criteria
from supervision_svc.feedback import Complaint
from tests.supervision.conftest import D, accepted
from tests.supervision.test_feedback import conclude, rate

TOWNSHIP = "zhangqiao-centre"
LIUGANG, GROUP, DAYANG = "agent-zhangqiao-liugang", "agent-zhangqiao-liugang-g1", "agent-zhangqiao-dayang"
SHEQU, TOWNSHIP_AGENT = "agent-zhangqiao-zhangqiao", "agent-zhangqiao"
MANAGER = Caller(Role.MANAGER, "zhangqiao-centre", "zhangqiao-centre", "SX0083", "zhangqiao-centre/centre_manager/1",
                 "潘春梅")
OTHER_MANAGER = Caller(Role.MANAGER, "luqiao-centre", "luqiao-centre", "SX0124", "luqiao-centre/centre_manager/1",
                       "韩婷")
OFFICE = Caller(Role.SUPERVISOR, "supervision", "county-centre", "SX0004", "county-centre/supervision_officer/1",
                "吴霞")


def proxy(h, case: str, on: D, agent: str, room: str = "zhangqiao-liugang-room", **extra) -> None:
    h.event("ApplicationAccepted", case, {**accepted(on), "organisation": room, "first_clerk": "SX0118",
                                          "channel": "proxy_agent", "agent": agent, **extra}, on)


def march(h) -> None:
    """March 2026 in 张桥镇: 刘岗's village agent carries P1, P2 and accompanies A1 (3 against 2 a month); its
    group agent carries G1 (1 against 1 a month); the township agent carries T1 (1 against the 4 whole weeks
    of March); 大郢 and the 社区 carry none; 炉桥's agent L1 is another township's."""
    proxy(h, "P1", D(2026, 3, 2), LIUGANG)
    proxy(h, "P2", D(2026, 3, 9), LIUGANG)
    h.event("ApplicationAccepted", "A1", {**accepted(D(2026, 3, 3)), "organisation": "zhangqiao-liugang-room",
                                          "first_clerk": "SX0118", "channel": "village_room",
                                          "accompanied_by": LIUGANG}, D(2026, 3, 3))
    proxy(h, "G1", D(2026, 3, 10), GROUP)
    proxy(h, "T1", D(2026, 3, 11), TOWNSHIP_AGENT, room="zhangqiao-centre")
    proxy(h, "L1", D(2026, 3, 12), "agent-luqiao", room="luqiao-centre")
    conclude(h, "P1", D(2026, 3, 20))
    conclude(h, "G1", D(2026, 3, 25))
    conclude(h, "A1", D(2026, 4, 2))  # after March: not concluded in March's figures
    rate(h, "P1", 5, D(2026, 3, 21))
    rate(h, "G1", 2, D(2026, 3, 26), named=True)


def test_a_townships_month_of_quotas_and_figures_equals_the_hand_computed_one(supervision):
    march(supervision)
    checks = AgentChecks(supervision.feedback.ref, supervision.feedback)
    with supervision.on(D(2026, 3, 31)) as uow:
        complaint = supervision.feedback.complain(uow, Complaint("fee-1", "phone", "收了五十元代办费", "P2",
                                                                 kind="agent_fee"), OFFICE)
        open_month = checks.quotas(uow, TOWNSHIP, D(2026, 3, 1))
    assert complaint["agent"] == LIUGANG and complaint["department"] == "civil_affairs"
    assert not open_month.ended and open_month.below_quota == []  # listed at month end only
    with supervision.on(D(2026, 4, 1)) as uow:
        month = checks.quotas(uow, TOWNSHIP, D(2026, 3, 1))
    got = {a.figures.agent: (a.tier, a.figures.cases, a.figures.quota, a.figures.met, a.figures.concluded,
                             a.figures.ratings, a.figures.satisfied, a.fee_complaints) for a in month.agents}
    assert got == {
        LIUGANG: ("village", 3, 2, True, 1, 1, 1, 1),  # P1 P2 A1; P1 concluded and rated 5; the fee complaint
        GROUP: ("group", 1, 1, True, 1, 1, 0, 0),  # G1, concluded, rated 2
        TOWNSHIP_AGENT: ("township", 1, 4, False, 0, 0, 0, 0),
        DAYANG: ("village", 0, 2, False, 0, 0, 0, 0),
        SHEQU: ("village", 0, 2, False, 0, 0, 0, 0),
    }
    assert month.ended and month.below_quota == [TOWNSHIP_AGENT, DAYANG, SHEQU]  # by organisation, then code
    assert checks.township(MANAGER, "") == TOWNSHIP
    with pytest.raises(Forbidden):
        checks.township(OTHER_MANAGER, TOWNSHIP)
    with pytest.raises(InvalidRequest):
        checks.township(OFFICE, "zhangqiao-liugang-room")


def test_a_fee_complaint_names_an_agent_who_carried_the_case(supervision):
    march(supervision)
    with supervision.on(D(2026, 3, 31)) as uow, pytest.raises(InvalidRequest) as err:
        supervision.feedback.complain(uow, Complaint("fee-2", "phone", "收费", "P1", kind="agent_fee", agent=DAYANG),
                                      OFFICE)
    assert err.value.violations[0][0] == "agent"
    with supervision.on(D(2026, 3, 31)) as uow, pytest.raises(InvalidRequest):
        supervision.feedback.complain(uow, Complaint("fee-3", "phone", "态度差", "P1", agent=LIUGANG), OFFICE)
    with supervision.on(D(2026, 3, 31)) as uow:
        found = supervision.feedback.complain(uow, Complaint("fee-4", "phone", "代办员收了钱", kind="agent_fee",
                                                             agent=DAYANG), OFFICE)
    assert (found["kind"], found["agent"], found["department"]) == ("agent_fee", DAYANG, "supervision")


def test_the_spot_check_draw_is_random_reproducible_with_its_seed_and_recorded(supervision):
    march(supervision)
    checks = AgentChecks(supervision.feedback.ref, supervision.feedback)
    pool = {"A1", "G1", "P1", "P2", "T1"}  # 张桥's agents' March cases; L1 is 炉桥's
    with supervision.on(D(2026, 4, 2)) as uow:
        first = checks.draw(uow, MANAGER, "d1", TOWNSHIP, D(2026, 3, 1), 2, seed=7)
        again = checks.draw(uow, MANAGER, "d2", TOWNSHIP, D(2026, 3, 1), 2, seed=7)
        draws = [checks.draw(uow, MANAGER, f"s{n}", TOWNSHIP, D(2026, 3, 1), 2, seed=n) for n in range(8)]
        repeated = checks.draw(uow, MANAGER, "d1", TOWNSHIP, D(2026, 3, 1), 2)
    cases = [c["case_number"] for c in first["checks"]]
    assert len(cases) == 2 and set(cases) <= pool and first["pool"] == 5 and first["seed"] == 7
    assert [c["case_number"] for c in again["checks"]] == cases  # the same seed, the same cases
    assert len({tuple(c["case_number"] for c in d["checks"]) for d in draws}) > 1  # other seeds, other cases
    assert repeated["id"] == first["id"]  # the same request: the same draw
    assert first["drawn_by"]["person"] == "SX0083" and all(c["finding"] is None for c in first["checks"])
    check = first["checks"][0]
    with supervision.on(D(2026, 4, 3)) as uow, pytest.raises(InvalidRequest):
        checks.record_check(uow, MANAGER, check["id"], "not_carried_out", " ")  # a note is required
    with supervision.on(D(2026, 4, 3)) as uow, pytest.raises(Forbidden):
        checks.record_check(uow, OTHER_MANAGER, check["id"], "carried_out", "")
    with supervision.on(D(2026, 4, 3)) as uow:
        done = checks.record_check(uow, MANAGER, check["id"], "not_carried_out", "群众未收到结果")
    assert (done["finding"], done["note"], str(done["checked_on"]), done["checked_by"]["person"]) == (
        "not_carried_out", "群众未收到结果", "2026-04-03", "SX0083")
    with supervision.on(D(2026, 4, 3)) as uow, pytest.raises(NotAllowedNow):
        checks.record_check(uow, MANAGER, check["id"], "carried_out", "")
    with supervision.on(D(2026, 4, 3)) as uow:
        listed = checks.draws(uow, TOWNSHIP, D(2026, 3, 1))
    assert len(listed) == 10 and listed[0]["checks"][0]["finding"] == "not_carried_out"


def test_follow_ups_follow_the_offices_criteria_bad_ratings_first_and_every_call_is_recorded(supervision):
    march(supervision)  # concluded in March: P1 (rated 5) and G1 (rated 2, named)
    for n in range(8):  # eight more county cases concluded in March, W3 rated 1 (not named)
        supervision.event("ApplicationAccepted", f"W{n}", accepted(D(2026, 3, 2)), D(2026, 3, 2))
        conclude(supervision, f"W{n}", D(2026, 3, 16 + n))
    rate(supervision, "W3", 1, D(2026, 3, 27))
    proxy(supervision, "X1", D(2026, 3, 4), LIUGANG)  # concluded in April: outside the criteria's period
    conclude(supervision, "X1", D(2026, 4, 1))
    checks = AgentChecks(supervision.feedback.ref, supervision.feedback)
    march_cases = Criteria(D(2026, 3, 1), D(2026, 3, 31))
    with supervision.on(D(2026, 4, 2)) as uow:
        everything = checks.suggest(uow, march_cases, seed=3)
        same = checks.suggest(uow, march_cases, seed=3)
        by_agent = checks.suggest(uow, Criteria(D(2026, 3, 1), D(2026, 4, 30), agents=(LIUGANG,), share=1), seed=3)
        bad = checks.suggest(uow, Criteria(D(2026, 3, 1), D(2026, 3, 31), bad_only=True), seed=3)
    # 10 concluded in March; 35% of 10 is 3.5: 4 calls, the bad ratings first (W3's 1, then G1's 2), 2 drawn
    assert (everything.matched, everything.wanted) == (10, 4)
    names = [c["case_number"] for c in everything.cases]
    assert names[:2] == ["W3", "G1"] and len(set(names)) == 4 and [c["case_number"] for c in same.cases] == names
    # the agent's concluded in March and April, carried (P1, X1) or accompanied (A1); share 1: all of them
    assert sorted(c["case_number"] for c in by_agent.cases) == ["A1", "P1", "X1"]
    assert (bad.matched, bad.wanted, [c["case_number"] for c in bad.cases]) == (2, 1, ["W3"])
    with supervision.on(D(2026, 4, 2)) as uow, pytest.raises(InvalidRequest) as err:
        checks.select(uow, OFFICE, ["G1", "P2"], "")  # P2 is not concluded
    assert err.value.violations == [("case_numbers[1]", "'P2' is no concluded case")]
    with supervision.on(D(2026, 4, 2)) as uow:
        calls = checks.select(uow, OFFICE, names, march_cases.describe())
        after = checks.suggest(uow, march_cases, seed=99)
    assert [c["case_number"] for c in calls] == names and calls[0]["criteria"].startswith("2026-03-01..2026-03-31")
    assert sorted(c["case_number"] for c in after.cases) == sorted(names)  # chosen already: nothing more to add
    g1 = next(c for c in calls if c["case_number"] == "G1")
    w3 = next(c for c in calls if c["case_number"] == "W3")
    with pytest.raises(InvalidRequest), supervision.on(D(2026, 4, 7)) as uow:  # no agent carried W3: rolled back
        checks.record_call(uow, OFFICE, w3["id"], "说交了钱", agent_fee=True)
    with supervision.on(D(2026, 4, 7)) as uow:
        called = checks.record_call(uow, OFFICE, g1["id"], "已整改，群众表示满意；反映组长收了二十元", agent_fee=True)
        open_calls = checks.calls(uow, True, 0, 10)
        quotas = {a.figures.agent: a.fee_complaints for a in checks.quotas(uow, TOWNSHIP, D(2026, 4, 1)).agents}
    assert (called["outcome"], str(called["called_on"]), called["called_by"]["person"]) == (
        "已整改，群众表示满意；反映组长收了二十元", "2026-04-07", "SX0004")
    assert quotas[GROUP] == 1 and supervision.sql(  # the fee complaint heard on the call, once, against G1's agent
        "SELECT kind, agent, case_number, channel FROM complaints") == [("agent_fee", GROUP, "G1", "phone")]
    assert called["rating_id"] is not None  # G1's named bad rating: its rectification's follow-up too
    assert supervision.sql("SELECT follow_up, followed_up_on::text FROM rectifications WHERE rating_id = %s",
                           (called["rating_id"],)) == [("已整改，群众表示满意；反映组长收了二十元", "2026-04-07")]
    assert len(open_calls) == 3 and w3["id"] in [c["id"] for c in open_calls]  # W3's refused call: not recorded
    assert g1["id"] not in [c["id"] for c in open_calls]
    with supervision.on(D(2026, 4, 7)) as uow, pytest.raises(NotAllowedNow):
        checks.record_call(uow, OFFICE, g1["id"], "again")
