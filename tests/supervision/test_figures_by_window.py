"""The figures of a scripted March 2026 by window and by person, and its assessment, on the real
PostgreSQL with the events fed to supervision's use cases: every value is worked out by hand in
the comments."""
from __future__ import annotations

from hall.holders import holder_role
from services.access import Caller, Role
from supervision_svc.assessment import AssessmentRule, assess
from supervision_svc.feedback import Rating
from supervision_svc.figures import figures
from tests.supervision.conftest import D

DESK, WINDOW, OFFICE = "county-desk", "county-window-civil-affairs", "county-office-work-safety"
# persons of the register at their posts: (staff number, name, post)
TIAN = ("SX0008", "田萍", f"{DESK}/acceptance_clerk/1")
SUN = ("SX0017", "孙桂英", f"{WINDOW}/window_clerk/1")
ZENG = ("SX0018", "曾玉梅", f"{WINDOW}/handler/1")
XIAO = ("SX0069", "肖金凤", f"{OFFICE}/handler/1")


def actor(person: tuple[str, str, str], holder: str) -> dict:
    number, name, post = person
    return {"person": number, "name": name, "post": post, "organisation": post.split("/")[0], "holder": holder}


def accept(h, case: str, item: str, on: D, clerk=TIAN, kind: str = "promised") -> None:
    organisation = clerk[2].split("/")[0]
    h.event("ApplicationAccepted", case, {
        "item_code": item, "kind": kind, "level": "county", "organisation": organisation, "channel": "window",
        "first_clerk": clerk[0], "accepted_on": str(on), "promised_deadline": str(on),
        "by": actor(clerk, organisation)}, on)


def task(h, case: str, department: str, organisation: str, limit: int, opened: D, decided: D | None,
         handler=None) -> str:
    """A stage of one task at `organisation`, decided on `decided` by `handler` (None: the
    department's own system, which names no person)."""
    task_id = f"{case}.1.{department}"
    h.event("StageOpened", case, {"stage": 1, "stage_name": "承办", "tasks": [
        {"task_id": task_id, "department": department, "lead": True, "limit_days": limit, "deadline": str(opened),
         "organisation": organisation, "holder": handler[0] if handler else ""}]}, opened)
    if decided:
        h.event("TaskDecided", case, {
            "task_id": task_id, "department": department, "stage": 1, "role": "lead", "decision": "approve",
            "opinion": "同意", "legal_basis": "《条例》第十条", "organisation": organisation,
            "by": actor(handler, department) if handler else None}, decided)
    return task_id


def rate(h, case: str, level: int, on: D, act: str = "", named: bool = False) -> dict:
    with h.on(on) as uow:
        return h.feedback.rate(uow, Rating(f"r-{case}-{act}", case, "on_site" if act else "online", act, level,
                                           "applicant", "", named))


def by_key(h, group_by: str) -> dict:
    with h.uows[0]() as uow:
        return {f.counts.key: f for f in figures(uow, h.feedback.ref, D(2026, 3, 1), D(2026, 3, 31), group_by)}


def counted(f) -> tuple:
    c = f.counts
    return (c.accepted, c.concluded, c.concluded_on_time, c.concluded_on_site, c.ratings, c.satisfied,
            c.dissatisfied, c.rectified)


def test_a_scripted_month_by_window_and_by_person_matches_the_hand_computed_values(supervision):
    h = supervision
    # A: accepted at the desk by 田萍; decided at the civil-affairs window by 曾玉梅 in 4 of its 10 days
    accept(h, "A", "MZ-001", D(2026, 3, 2))
    task(h, "A", "civil_affairs", WINDOW, 10, D(2026, 3, 2), D(2026, 3, 6), ZENG)
    # B: 3 working days from Tuesday 3 March (4, 5, 6): decided on 12 March, late
    accept(h, "B", "MZ-001", D(2026, 3, 3))
    b_task = task(h, "B", "civil_affairs", WINDOW, 3, D(2026, 3, 3), D(2026, 3, 12), ZENG)
    # C: 即办件 accepted at the window itself by 孙桂英, decided there the same day
    accept(h, "C", "MZ-006", D(2026, 3, 4), clerk=SUN, kind="immediate")
    task(h, "C", "civil_affairs", WINDOW, 1, D(2026, 3, 4), D(2026, 3, 4), ZENG)
    # D: work safety decides in its back office (not on site), in time
    accept(h, "D", "AJ-001", D(2026, 3, 5))
    d_task = task(h, "D", "work_safety", OFFICE, 10, D(2026, 3, 5), D(2026, 3, 10), XIAO)
    # E: accepted in February (not this month's acceptance), decided on 2 March, in time
    accept(h, "E", "MZ-001", D(2026, 2, 26))
    task(h, "E", "civil_affairs", WINDOW, 10, D(2026, 2, 26), D(2026, 3, 2), ZENG)
    # F: decided in April; G: decided by the department's own system (no person), in time
    accept(h, "F", "MZ-001", D(2026, 3, 6))
    task(h, "F", "civil_affairs", WINDOW, 20, D(2026, 3, 6), D(2026, 4, 1), ZENG)
    accept(h, "G", "MZ-001", D(2026, 3, 9))
    task(h, "G", "civil_affairs", WINDOW, 10, D(2026, 3, 9), D(2026, 3, 11))

    # ratings: A online 5 (the whole case counts for its acceptance: the desk and 田萍); B's task 1,
    # rectified; C's acceptance 2, left open; D's task 4; A's acceptance on site 1, voided on appeal
    rate(h, "A", 5, D(2026, 3, 16))
    bad_task = rate(h, "B", 1, D(2026, 3, 13), act=b_task, named=True)
    bad_acceptance = rate(h, "C", 2, D(2026, 3, 5), act="acceptance")
    good_task = rate(h, "D", 4, D(2026, 3, 11), act=d_task)
    wrong = rate(h, "A", 1, D(2026, 3, 3), act="acceptance")
    assert (bad_task["by_organisation"], bad_task["by_person"], bad_task["by_post"]) == (WINDOW, *ZENG[::2])
    assert (good_task["by_organisation"], good_task["by_person"]) == (OFFICE, "SX0069")
    # each bad rating's item goes to the post whose act was rated
    assert h.sql("SELECT rating_id, post FROM rectifications ORDER BY rating_id") == [
        (bad_task["id"], ZENG[2]), (bad_acceptance["id"], SUN[2]), (wrong["id"], TIAN[2])]
    manager = Caller(Role.MANAGER, "county-centre", "county-centre", person="SX0001",
                     post="county-centre/centre_manager/1", name="张敏")
    handler = Caller(Role.DEPARTMENT, "civil_affairs", WINDOW, person="SX0018", post=ZENG[2], name="曾玉梅")
    with h.on(D(2026, 3, 17)) as uow:
        done = h.feedback.rectify(uow, handler, bad_task["id"], "fixed", "已当面致歉并重新办理")
        appealed = h.feedback.appeal(uow, manager, wrong["id"], "评价器误触")
        h.feedback.review_appeal(uow, holder_role("supervision", h.feedback.ref.org), wrong["id"], True, "核实误评")
    assert done["resolved_by"] == handler.actor() and appealed["appealed_by"]["person"] == "SX0001"
    assert h.sql("SELECT resolution, reviewed_by->>'holder', resolved_by->>'holder' FROM rectifications "
                 "WHERE rating_id = %s", [wrong["id"]]) == [("voided", "supervision", "supervision")]

    windows = by_key(h, "window")
    # (accepted, concluded, on time, on site, ratings, satisfied, dissatisfied, rectified)
    assert counted(windows[DESK]) == (5, 0, 0, 0, 1, 1, 0, 0)  # A B D F G; A's online 5
    assert counted(windows[WINDOW]) == (1, 5, 4, 5, 2, 0, 2, 1)  # C; A B C E G, B late; B's 1, C's 2
    assert counted(windows[OFFICE]) == (0, 1, 1, 0, 1, 1, 0, 0)  # D, in its back office
    assert set(windows) == {DESK, WINDOW, OFFICE}
    assert windows[WINDOW].ratios["on_time_rate"] == 4 / 5 and windows[DESK].ratios["on_time_rate"] is None

    persons = by_key(h, "person")
    assert counted(persons["SX0008"]) == (5, 0, 0, 0, 1, 1, 0, 0)
    assert counted(persons["SX0017"]) == (1, 0, 0, 0, 1, 0, 1, 0)
    assert counted(persons["SX0018"]) == (0, 4, 3, 4, 1, 0, 1, 1)  # A B C E; B's rating
    assert counted(persons["SX0069"]) == (0, 1, 1, 0, 1, 1, 0, 0)
    assert counted(persons[""]) == (0, 1, 1, 1, 0, 0, 0, 0)  # G, decided by the department's system
    assert set(persons) == {"SX0008", "SX0017", "SX0018", "SX0069", ""}

    # the month's assessment: the desk qualifies (a desk decides nothing, so has nothing late); the
    # window left C's bad rating unrectified and satisfied no one; a back office is no window
    rule = AssessmentRule(min_acts=1, min_on_time_rate=0.75, min_satisfaction_rate=0.9, max_unrectified=0,
                          red_flags=2)
    assessed = {a.window: a for a in assess(list(windows.values()), h.feedback.ref.org, rule)}
    assert (assessed[DESK].red_flag, assessed[DESK].rank, assessed[DESK].shortfalls) == (True, 1, ())
    assert assessed[WINDOW].shortfalls == ("satisfied 0.0%, below 90.0%", "1 bad rating(s) not rectified")
    assert (assessed[WINDOW].red_flag, assessed[WINDOW].unrectified) == (False, 1)
    assert assessed[OFFICE].shortfalls == ("not a window serving the public",) and not assessed[OFFICE].red_flag


def test_a_decision_recorded_after_its_case_closed_still_counts_for_its_window_and_person(supervision):
    h = supervision
    accept(h, "K", "MZ-001", D(2026, 3, 2))
    task_id = task(h, "K", "civil_affairs", WINDOW, 5, D(2026, 3, 2), None)
    h.event("CaseConcluded", "K", {"result": "issued", "concluded_on": "2026-03-04", "decisions": [], "reasons": []},
            D(2026, 3, 4))
    h.event("TaskDecided", "K", {"task_id": task_id, "department": "civil_affairs", "stage": 1, "role": "lead",
                                 "decision": "approve", "opinion": "同意", "legal_basis": "法",
                                 "organisation": WINDOW, "by": actor(ZENG, "civil_affairs")}, D(2026, 3, 4))
    assert h.sql("SELECT organisation, decided_by, decided_post, decided_on, on_time, stopped_on FROM clocks "
                 "WHERE ref = %s", [task_id]) == [(WINDOW, "SX0018", ZENG[2], D(2026, 3, 4), True, D(2026, 3, 4))]
    assert counted(by_key(h, "person")["SX0018"]) == (0, 1, 1, 1, 0, 0, 0, 0)


def test_a_decision_before_this_release_named_no_one_and_counts_for_no_window(supervision):
    # the events of the release before: no organisation on the task, no `by` on the decision
    h = supervision
    accept(h, "O", "MZ-001", D(2026, 3, 2))
    h.event("StageOpened", "O", {"stage": 1, "stage_name": "承办", "tasks": [
        {"task_id": "O.1.civil_affairs", "department": "civil_affairs", "lead": True, "limit_days": 5,
         "deadline": "2026-03-09"}]}, D(2026, 3, 2))
    h.event("TaskDecided", "O", {"task_id": "O.1.civil_affairs", "department": "civil_affairs", "stage": 1,
                                 "role": "lead", "decision": "approve", "opinion": "同意", "legal_basis": "法"},
            D(2026, 3, 3))
    windows = by_key(h, "window")
    assert counted(windows[""]) == (0, 1, 1, 0, 0, 0, 0, 0) and counted(windows[DESK])[0] == 1
