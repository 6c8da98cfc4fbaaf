"""The proxy agent's ledger (代办台账) and 办结反馈单 on the real PostgreSQL, through intake's use cases with
time injected: only the agent's own cases, in each view (open, waiting for the agent, concluded) with the
days used and what is waited for, paged without repeats; the card recorded once, by the case's agent, on a
concluded case, on a day it can have been signed, with its history entry and its event."""
from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from intake_svc import agents
from intake_svc.ledger import AgentLedger
from services.access import Caller, Role
from services.contracts import new_envelope
from services.errors import Forbidden, InvalidRequest, NotAllowedNow
from services.timesource import CHINA
from tests.intake import test_desk
from tests.intake.test_desk import AGENT, ROOM, TODAY, application, proxy

desk = test_desk.desk  # the fixture

OTHER_AGENT = Caller(Role.AGENT, "agent-zhangqiao-dayang", "zhangqiao-dayang-room")


def ledger(desk, caller=AGENT, view=agents.View.ALL, size=0, token="") -> dict:
    with desk.uow() as work:
        return AgentLedger(desk.intake).list(work, caller, view, size, token)


def numbers(page: dict) -> list[str]:
    return [row["summary"]["case_number"] for row in page["cases"]]


def agents_changed(desk, numbers: list[str]) -> list[tuple]:
    """The CaseAgentsChanged events of these cases in the outbox: (case, agent, carrier), in order."""
    return desk.sql("SELECT envelope->>'case_number', envelope->'payload'->>'agent', envelope->'payload'->>'carrier' "
                    "FROM outbox WHERE event_type = 'CaseAgentsChanged' AND envelope->>'case_number' = ANY(%s) "
                    "ORDER BY seq", [numbers])


def conclude(desk, number: str, result: str = "issued", on: dt.date = TODAY) -> None:
    """approval's CaseConcluded, as the bus side of intake records it."""
    desk.clock.set(dt.datetime.combine(on, dt.time(10), CHINA))
    envelope = new_envelope("approval", "CaseConcluded", number, {"result": result, "decisions": [], "stage": 1,
                             "concluded_on": str(on), "reasons": []},
                            desk.clock.now())
    with desk.uow() as work:
        desk.intake.concluded(work, envelope)


def card(desk, number: str, caller=AGENT, signed_on: str = "", mark="signature", request_id="card-1") -> dict:
    with desk.uow() as work:
        return AgentLedger(desk.intake).record_card(work, caller, number, agents.result_card(
            request_id, signed_on or str(TODAY + dt.timedelta(days=1)), mark))


def test_the_ledger_lists_the_agents_own_cases_in_each_view_with_what_it_waits_for(desk):
    accepted = desk.submit(proxy(), AGENT)["case_number"]
    owing = desk.submit(proxy(missing=("id_card",)), AGENT)["case_number"]  # a one-time notice
    issued = desk.submit(proxy(), ROOM)["case_number"]  # the room's clerk files it for the agent
    rejected = desk.submit(proxy(), AGENT)["case_number"]
    desk.submit(dataclasses.replace(proxy(), organisation="zhangqiao-dayang-room", agent=OTHER_AGENT.code),
                OTHER_AGENT)
    desk.submit(application(organisation=ROOM.organisation), ROOM)  # the room's own case: no agent
    conclude(desk, issued)
    conclude(desk, rejected, "rejected")
    desk.clock.set(dt.datetime(2026, 2, 13, 9, tzinfo=CHINA))  # three working days after acceptance

    every = ledger(desk)
    assert numbers(every) == [rejected, issued, owing, accepted] and every["next_page_token"] == ""
    assert every["counts"] == (2, 3, 2)  # open, waiting for the agent, concluded
    rows = {row["summary"]["case_number"]: row for row in every["cases"]}
    assert rows[accepted]["waiting_for"] == [] and rows[accepted]["days_used"] == 3
    assert rows[accepted]["limit_days"] == 20 and rows[accepted]["summary"]["promised_deadline"]
    assert rows[owing]["waiting_for"] == ["materials"] and rows[owing]["days_used"] == 0  # never accepted
    assert [code for code, _, _ in rows[owing]["summary"]["owed"]] == ["id_card"]
    assert rows[issued]["waiting_for"] == ["result", "card"] and rows[issued]["ended_on"] == TODAY
    assert rows[issued]["days_used"] == 0 and rows[issued]["result"] == "issued"
    assert rows[rejected]["waiting_for"] == ["card"]
    assert "*" in rows[accepted]["summary"]["id_number"] and "*" in rows[accepted]["summary"]["phone"]

    assert numbers(ledger(desk, view=agents.View.OPEN)) == [owing, accepted]
    assert numbers(ledger(desk, view=agents.View.WAITING)) == [rejected, issued, owing]
    assert numbers(ledger(desk, view=agents.View.CONCLUDED)) == [rejected, issued]
    assert numbers(ledger(desk, OTHER_AGENT))[:1] and accepted not in numbers(ledger(desk, OTHER_AGENT))

    seen, token = [], ""
    while True:
        page = ledger(desk, size=1, token=token)
        seen += numbers(page)
        token = page["next_page_token"]
        if not token:
            break
    assert seen == numbers(every)


def test_only_an_agent_has_a_ledger_and_bad_pages_are_field_errors(desk):
    with pytest.raises(Forbidden):
        ledger(desk, ROOM)
    with pytest.raises(InvalidRequest) as info:
        ledger(desk, size=101, token="not a token")
    assert [f for f, _ in info.value.violations] == ["page_size", "page_token"]


def test_the_card_is_recorded_once_by_the_cases_agent_after_it_concluded(desk):
    number = desk.submit(proxy(), AGENT)["case_number"]
    with pytest.raises(NotAllowedNow):
        card(desk, number)  # no result yet
    conclude(desk, number, on=TODAY)
    desk.clock.set(dt.datetime(2026, 2, 12, 9, tzinfo=CHINA))
    with pytest.raises(Forbidden):
        card(desk, number, OTHER_AGENT)
    with pytest.raises(InvalidRequest) as info:
        card(desk, number, signed_on="2026-02-09")  # before it concluded
    assert [f for f, _ in info.value.violations] == ["signed_on"]
    with pytest.raises(InvalidRequest):
        card(desk, number, signed_on="2026-02-13")  # tomorrow
    with pytest.raises(InvalidRequest) as info:
        agents.result_card("", "12 Feb", "stamp")
    assert [f for f, _ in info.value.violations] == ["request_id", "signed_on", "mark"]

    case = card(desk, number, signed_on="2026-02-11", mark="thumbprint")
    assert (case["card_signed_on"], case["card_mark"]) == (dt.date(2026, 2, 11), "thumbprint")
    assert case["history"][-1].data["kind"] == "result_card_signed"
    assert card(desk, number, signed_on="2026-02-11", mark="thumbprint")["history_seq"] == case["history_seq"]
    with pytest.raises(NotAllowedNow):
        card(desk, number, request_id="card-2")
    (event,) = desk.events("ResultCardSigned")  # once
    assert (event["agent"], event["signed_on"], event["mark"]) == (AGENT.code, "2026-02-11", "thumbprint")
    assert ledger(desk, view=agents.View.WAITING)["cases"] == []


TOWNSHIP_AGENT = Caller(Role.AGENT, "agent-zhangqiao", "zhangqiao-centre")


def hand_over(desk, number: str, to: str = TOWNSHIP_AGENT.code, caller=AGENT, note="户口本原件随件") -> dict:
    with desk.uow() as work:
        return AgentLedger(desk.intake).hand_over(work, caller, number, to, note)


def confirm(desk, number: str, caller=TOWNSHIP_AGENT) -> dict:
    with desk.uow() as work:
        return AgentLedger(desk.intake).confirm_hand_over(work, caller, number)


def test_a_village_agent_hands_a_county_matter_to_the_township_agent_who_confirms_it(desk):
    county = desk.submit(proxy(), AGENT)["case_number"]  # MZ-001: decided at the county
    township = desk.submit(proxy("MZ-005"), AGENT)["case_number"]  # decided at the township
    with pytest.raises(InvalidRequest) as info:
        hand_over(desk, county, to="agent-luqiao", note="x" * 501)  # another township's agent
    assert [f for f, _ in info.value.violations] == ["to_agent", "note"]
    with pytest.raises(NotAllowedNow):
        hand_over(desk, township)
    with pytest.raises(Forbidden):
        hand_over(desk, county, caller=OTHER_AGENT)
    with pytest.raises(Forbidden):
        confirm(desk, county)  # nothing is waiting for the township agent yet

    case = hand_over(desk, county)
    assert case["handover_to"] == TOWNSHIP_AGENT.code and case["history"][-1].data["kind"] == "handed_over"
    assert hand_over(desk, county)["history_seq"] == case["history_seq"]  # the same again: the same
    (row,) = ledger(desk, TOWNSHIP_AGENT, agents.View.WAITING)["cases"]
    assert (row["summary"]["case_number"], row["role"], row["waiting_for"]) == (county, "receiving", ["handover"])
    with pytest.raises(Forbidden):
        confirm(desk, county, OTHER_AGENT)

    carried = confirm(desk, county)
    assert (carried["carrier"], carried["handover_to"]) == (TOWNSHIP_AGENT.code, None)
    kinds = [e.data["kind"] for e in carried["history"]]
    assert kinds[-2:] == ["handed_over", "handover_confirmed"]
    assert carried["history"][-2].data["by"]["holder"] == AGENT.code
    assert carried["history"][-1].data["by"]["holder"] == TOWNSHIP_AGENT.code
    assert confirm(desk, county)["history_seq"] == carried["history_seq"]
    # once, for supervision (the case counts for the township agent too) and notify
    assert agents_changed(desk, [county]) == [(county, AGENT.code, TOWNSHIP_AGENT.code)]
    with pytest.raises(NotAllowedNow):
        hand_over(desk, county)  # carried already
    (row,) = ledger(desk, TOWNSHIP_AGENT)["cases"]
    assert (row["role"], row["waiting_for"]) == ("carrier", [])
    assert ledger(desk, TOWNSHIP_AGENT)["counts"] == (1, 0, 0)
    mine = {r["summary"]["case_number"]: r["role"] for r in ledger(desk)["cases"]}
    assert mine[county] == "agent"  # the village agent still answers to the applicant
    conclude(desk, county)
    assert ledger(desk, TOWNSHIP_AGENT, agents.View.WAITING)["cases"] == []  # the card is the village agent's
    assert [r["waiting_for"] for r in ledger(desk, view=agents.View.WAITING)["cases"]] == [["result", "card"]]


def test_an_agent_who_accompanied_the_applicant_to_an_in_person_item_has_it_in_the_ledger(desk):
    with_agent = dataclasses.replace(application("GA-002", ROOM.organisation), accompanied_by=AGENT.code)
    number = desk.submit(with_agent, ROOM)["case_number"]
    with desk.uow() as work:
        row = desk.intake.read(work, ROOM, number)
    assert row["accompanied_by"] == AGENT.code and row["history"][0].data["detail"]["accompanied_by"] == AGENT.code
    (event,) = [e for e in desk.events("ApplicationAccepted") if e["accompanied_by"]]
    assert event["accompanied_by"] == AGENT.code and event["agent"] is None
    (listed,) = ledger(desk)["cases"]
    assert (listed["summary"]["case_number"], listed["role"], listed["waiting_for"]) == (number, "accompanied", [])
    with desk.uow() as work:
        assert desk.intake.read(work, AGENT, number)["case_number"] == number  # the agent may read it

    for wrong, field_error in (
            (dataclasses.replace(application("MZ-001", ROOM.organisation), accompanied_by=AGENT.code),
             "may be carried"),
            (dataclasses.replace(application("GA-002", ROOM.organisation), accompanied_by="agent-nobody"), "known"),
            (dataclasses.replace(proxy("GA-002"), accompanied_by=AGENT.code), "carried by its agent")):
        with pytest.raises(InvalidRequest) as info:
            desk.submit(wrong, ROOM)
        assert [(f, field_error in why) for f, why in info.value.violations if f == "accompanied_by"] == [
            ("accompanied_by", True)]


def carry_list(desk, caller=AGENT, on_or_after: str = "") -> dict:
    with desk.uow() as work:
        return AgentLedger(desk.intake).carry_list(work, caller, on_or_after)


def test_the_carry_list_is_what_goes_to_the_township_on_its_next_fixed_day_and_what_comes_back(desk):
    desk.clock.set(dt.datetime(2026, 2, 5, 9, tzinfo=CHINA))  # a Thursday, before the last fixed day
    old = desk.submit(proxy("MZ-005"), AGENT)["case_number"]
    desk.clock.set(dt.datetime(2026, 2, 10, 9, tzinfo=CHINA))  # Tuesday: next Wednesday 11th, last Sunday 8th
    county = desk.submit(proxy(), AGENT)["case_number"]
    township = desk.submit(proxy("MZ-005"), AGENT)["case_number"]
    owing = desk.submit(proxy("MZ-005", missing=("id_card",)), AGENT)["case_number"]
    handed = desk.submit(proxy(), AGENT)["case_number"]
    hand_over(desk, handed)
    issued = desk.submit(proxy("MZ-005"), AGENT)["case_number"]
    conclude(desk, issued, "issued")
    desk.clock.set(dt.datetime(2026, 2, 10, 18, tzinfo=CHINA))

    found = carry_list(desk)
    assert (found["carry_day"], found["previous_day"], found["township"]) == (
        dt.date(2026, 2, 11), dt.date(2026, 2, 8), "zhangqiao-centre")
    assert {r["summary"]["case_number"]: r["carry"] for r in found["cases"]} == {
        county: ["papers", "handover"], township: ["papers"], owing: ["materials"], issued: ["result"]}
    assert old not in {r["summary"]["case_number"] for r in found["cases"]} and handed not in str(found)
    later = carry_list(desk, on_or_after="2026-02-12")  # Sunday the 15th: today's files went on the 11th
    assert later["carry_day"] == dt.date(2026, 2, 15)
    assert {r["summary"]["case_number"]: r["carry"] for r in later["cases"]} == {
        county: ["handover"], owing: ["materials"], issued: ["result"]}
    for wrong in ("next Sunday", "9999-12-31", "2026-02-30"):
        with pytest.raises(InvalidRequest):
            carry_list(desk, on_or_after=wrong)
    with pytest.raises(NotAllowedNow):
        carry_list(desk, TOWNSHIP_AGENT)  # a township agent is at its centre


def test_a_township_sets_its_own_fixed_days_and_only_a_township_centre_has_them():
    from pydantic import ValidationError

    from hall.catalogue import Organisation

    centre = {"code": "t", "name": "镇中心", "kind": "centre", "level": "township", "parent": "county-centre"}
    assert Organisation(**centre).carry_weekdays() == (2, 6)  # seeds/004: Sunday and Wednesday
    assert Organisation(**centre, carry_days=["thursday", "monday"]).carry_weekdays() == (0, 3)
    assert agents.carry_days(dt.date(2026, 2, 12), (0, 3)) == (dt.date(2026, 2, 12), dt.date(2026, 2, 9))
    with pytest.raises(ValidationError):
        Organisation(**{**centre, "kind": "village_room", "level": "village"}, carry_days=["sunday"])
    with pytest.raises(ValidationError):
        Organisation(**centre, carry_days=["someday"])


def reassign(desk, caller, from_agent=AGENT.code, to="agent-zhangqiao-dayang", reason="村委会换届，原代办员离任"):
    with desk.uow() as work:
        return AgentLedger(desk.intake).reassign(work, caller, from_agent, to, reason)


def test_an_agent_leaving_office_leaves_no_case_without_an_agent(desk):
    open_case = desk.submit(proxy(), AGENT)["case_number"]
    handed = desk.submit(proxy(), AGENT)["case_number"]
    hand_over(desk, handed)
    unsigned = desk.submit(proxy(), AGENT)["case_number"]
    conclude(desk, unsigned)
    signed = desk.submit(proxy(), AGENT)["case_number"]
    conclude(desk, signed)
    desk.clock.set(dt.datetime(2026, 2, 10, 18, tzinfo=CHINA))
    card(desk, signed, signed_on="2026-02-10")
    manager = Caller(Role.MANAGER, "zhangqiao-centre", "zhangqiao-centre", person="SX0083")
    other_manager = Caller(Role.MANAGER, "luqiao-centre", "luqiao-centre")

    with pytest.raises(InvalidRequest) as info:
        reassign(desk, AGENT, to="agent-luqiao", reason="")  # another township's agent
    assert [f for f, _ in info.value.violations] == ["to_agent", "reason"]
    with pytest.raises(Forbidden):
        reassign(desk, other_manager)
    with pytest.raises(Forbidden):
        reassign(desk, OTHER_AGENT)  # not its own cases

    moved = reassign(desk, manager)
    assert moved == [open_case, handed, unsigned]  # the card signed is done with
    with desk.uow() as work:
        rows = {n: desk.intake.read(work, OTHER_AGENT, n) for n in moved}
    assert {n: r["agent"] for n, r in rows.items()} == dict.fromkeys(moved, OTHER_AGENT.code)
    assert rows[handed]["handover_to"] == TOWNSHIP_AGENT.code  # the hand-over stands
    entry = rows[open_case]["history"][-1].data
    assert entry["kind"] == "agent_reassigned" and entry["by"]["person"] == "SX0083"
    assert entry["detail"]["to_agent"] == OTHER_AGENT.code
    assert ledger(desk)["counts"] == (0, 0, 1) and reassign(desk, AGENT) == []  # nothing left, again
    assert agents_changed(desk, moved) == [(n, OTHER_AGENT.code, None) for n in moved]
    assert reassign(desk, TOWNSHIP_AGENT, TOWNSHIP_AGENT.code, "agent-zhangqiao-liugang") == [handed]
    with desk.uow() as work:
        assert desk.intake.read(work, AGENT, handed)["handover_to"] == AGENT.code
    assert len(agents_changed(desk, moved)) == 3  # a hand-over still to confirm: nobody else has the case yet
