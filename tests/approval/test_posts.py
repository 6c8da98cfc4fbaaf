"""Posts at work, the pure rules: where new work goes (A, B, the pool) and the sign-off chain."""
import datetime as dt

import pytest

from approval_svc import desk
from approval_svc.assignment import assign, candidates
from hall.catalogue import load_org
from hall.domain import Decision, TaskStatus
from hall.staff import StaffRegister
from services.errors import InvalidRequest, NotAllowedNow
from tests.approval.test_desk import task
from tests.conftest import ROOT

ORG = load_org(ROOT / "deploy" / "org.yaml")
WINDOW = "county-window-planning-construction"
NOW = dt.datetime(2026, 3, 2, 10)


def register(*persons: dict) -> StaffRegister:
    return StaffRegister.model_validate({"county": "示范县", "persons": list(persons)})


def person(staff: str, *posts: tuple, active: bool = True) -> dict:
    return {"staff_number": staff, "name": f"员工{staff}", "work_phone": "0550-6012000", "active": active,
            "posts": [{"post": kind, "at": at, "seat": seat, "holder": mark} for kind, at, seat, mark in posts]}


STAFF = register(person("SA1", ("handler", WINDOW, 1, "A")), person("SB1", ("handler", WINDOW, 1, "B")),
                 person("SA2", ("handler", WINDOW, 2, "A")), person("SX1", ("approver", WINDOW, 1, "A")))


def test_new_work_goes_to_a_then_b_while_a_is_away_then_the_pool():
    assert candidates(STAFF, WINDOW) == ["SA1", "SB1", "SA2"]
    assert assign(STAFF, WINDOW, set()).holder == "SA1"
    second = assign(STAFF, WINDOW, {"SA1"})
    assert (second.holder, second.post, second.cover) == ("SA2", f"{WINDOW}/handler/2", False)  # the next seat's A
    covered = assign(STAFF, WINDOW, {"SA1", "SA2"})
    assert (covered.holder, covered.post, covered.cover) == ("SB1", f"{WINDOW}/handler/1", True)
    pooled = assign(STAFF, WINDOW, {"SA1", "SA2", "SB1"})
    assert pooled.pooled and pooled.post == f"{WINDOW}/handler/1"
    assert assign(STAFF, "county-window-forestry", set()).pooled  # nobody holds a handler post there


def test_an_a_holder_who_left_is_covered_by_b():
    left = register(person("SA1", ("handler", WINDOW, 1, "A"), active=False), person("SB1", ("handler", WINDOW, 1, "B")))
    assert assign(left, WINDOW, set()).holder == "SB1"


HANDLER = {"person": "SA1", "name": "甲", "post": f"{WINDOW}/handler/1", "organisation": WINDOW, "holder": ""}
APPROVER = {**HANDLER, "person": "SX1", "post": f"{WINDOW}/approver/1"}
CHECKER = {**HANDLER, "person": "SY1", "post": f"{WINDOW}/checker/1"}
CHAIN = ["approver", "checker"]


def proposed():
    return desk.propose(task(status=TaskStatus.CLAIMED), Decision.APPROVE, "同意", "城乡规划法第四十条", [], 0,
                        HANDLER, CHAIN)


def test_a_proposal_takes_effect_when_approver_then_checker_have_signed():
    p = proposed()
    assert p.status == TaskStatus.CLAIMED and p.proposal.awaiting == "approver"
    with pytest.raises(NotAllowedNow, match="approver"):
        desk.sign_off(p, "checker", CHECKER, True, "", 0, NOW)
    with pytest.raises(NotAllowedNow, match="approver"):  # nothing else while it waits
        desk.suspend(p, dt.date(2026, 3, 2), dt.date(2026, 4, 1))
    approved = desk.sign_off(p, "approver", APPROVER, True, "拟同意", 0, NOW)
    assert approved.status == TaskStatus.CLAIMED and approved.proposal.awaiting == "checker"
    with pytest.raises(NotAllowedNow, match="once"):  # the approver cannot check too
        desk.sign_off(approved, "checker", APPROVER, True, "", 0, NOW)
    decided = desk.sign_off(approved, "checker", CHECKER, True, "", 0, NOW)
    assert decided.status == TaskStatus.DECIDED and decided.decision == Decision.APPROVE
    assert decided.decided_by == HANDLER and decided.proposal is None
    assert [(s["person"], s["step"], s["opinion"]) for s in decided.signed_off] == [
        ("SX1", "approver", "拟同意"), ("SY1", "checker", "")]


def test_a_refused_sign_off_sends_the_proposal_back_with_its_reasons():
    with pytest.raises(InvalidRequest):
        desk.sign_off(proposed(), "approver", APPROVER, False, "", 0, NOW)  # a refusal says why
    back = desk.sign_off(proposed(), "approver", APPROVER, False, "用地面积与红线图不符", 0, NOW)
    assert back.proposal is None and back.status == TaskStatus.CLAIMED
    with pytest.raises(NotAllowedNow, match="own proposal|once"):
        desk.sign_off(proposed(), "approver", HANDLER, True, "", 0, NOW)
    with pytest.raises(NotAllowedNow, match="no proposed decision"):
        desk.sign_off(task(), "approver", APPROVER, True, "", 0, NOW)


def test_a_system_names_one_signer_per_post_in_order():
    ok = desk.checked_signers(CHAIN, [("SX1", APPROVER, True), ("SY1", CHECKER, True)])
    assert [s["step"] for s in ok] == CHAIN
    for signers, field in (([("SX1", APPROVER, True)], "signed_off"),
                           ([("SX1", APPROVER, True), ("SY1", CHECKER, False)], "signed_off[1]"),
                           ([("SX1", APPROVER, True), ("SX1", APPROVER, True)], "signed_off[1]"),
                           ([("SZ9", None, False), ("SY1", CHECKER, True)], "signed_off[0]")):
        with pytest.raises(InvalidRequest) as info:
            desk.checked_signers(CHAIN, signers)
        assert field in [f for f, _ in info.value.violations]


def test_a_pooled_task_claimed_by_a_person_is_theirs_and_only_open_tasks_move():
    pooled = task()
    assert desk.claim(pooled, "SB1").holder == "SB1"
    assert desk.claim(task(holder="SA1"), "SB1").holder == "SA1"  # B working on A's task: A still holds it
    moved = desk.move(task(holder="SA1"), "SB1", f"{WINDOW}/handler/1")
    assert moved.holder == "SB1"
    with pytest.raises(NotAllowedNow):
        desk.move(task(status=TaskStatus.DECIDED), "SB1", "")
