"""Ratings, rectification, complaints, faults, progress notices and the monthly figures, on the
real PostgreSQL with the clock injected. The figures of a scripted March 2026 are checked against
values worked out by hand in the comments."""
from __future__ import annotations

import pytest

from hall.holders import holder_role
from services.access import Caller
from services.errors import Forbidden, InvalidRequest, NotAllowedNow
from supervision_svc.feedback import Complaint, Rating
from supervision_svc.figures import agent_figures, figures
from tests.supervision.conftest import D

CLERK = "clerk-wang"


def holder(h, code: str) -> Caller:
    """The caller a token holder is, resolved as the API resolves its token."""
    return holder_role(code, h.feedback.ref.org)


def accept(h, case: str, item: str, kind: str, on: D, organisation: str = "county-desk", level: str = "county",
           channel: str = "window", agent: str | None = None, key: str | None = None, **extra) -> None:
    h.event("ApplicationAccepted", case, {
        "item_code": item, "kind": kind, "level": level, "organisation": organisation, "channel": channel,
        "first_clerk": CLERK, "agent": agent, "applicant_key": key or f"key-{case}", "accepted_on": str(on),
        "promised_deadline": str(on), **extra}, on)


def route(h, case: str, item: str, office: str, on: D, deciding: str = "county", hops: int = 0,
          department: str = "civil_affairs") -> None:
    transfers = [{"from_organisation": "a", "to_organisation": "b", "to_level": "county", "limit_days": 1,
                  "deadline": str(on)} for _ in range(hops)]
    h.event("CaseRouted", case, {"item_code": item, "kind": "promised", "transfers": transfers,
                                 "deciding_level": deciding, "reported_up": False, "stages": [
                                     {"index": 1, "name": "承办", "lead": department, "limit_days": 10,
                                      "tasks": [{"department": department, "organisation": office}]}]}, on)


def conclude(h, case: str, on: D, result: str = "issued") -> None:
    h.event("CaseConcluded", case, {"result": result, "concluded_on": str(on), "decisions": [], "reasons": []}, on)


def rate(h, case: str, level: int, on: D, channel: str = "online", act: str = "", named: bool = False,
         rater: str = "applicant", request_id: str | None = None) -> dict:
    with h.on(on) as uow:
        return h.feedback.rate(uow, Rating(request_id or f"r-{case}-{channel}-{act}", case, channel, act, level,
                                           rater, "", named))


def test_a_bad_rating_opens_a_rectification_item_that_warns_when_overdue(supervision):
    accept(supervision, "B1", "MZ-001", "promised", D(2026, 3, 2))
    conclude(supervision, "B1", D(2026, 3, 20))
    rating = rate(supervision, "B1", 2, D(2026, 3, 23), named=True)
    civil_affairs = holder(supervision, "civil_affairs")
    item = supervision.sql("SELECT r.department, c.deadline, c.red_on FROM rectifications r JOIN clocks c "
                           "ON c.step = 'rectification' AND c.ref = r.rating_id::text")
    # 15 working days after 23 March: 24–27, 30–31 March, 1–3 April, (Qingming: 4–6 April off), 7–10, 13–14
    assert item == [("civil_affairs", D(2026, 4, 14), D(2026, 4, 15))]
    with supervision.on(D(2026, 3, 25)) as uow:
        called = supervision.feedback.follow_up(uow, civil_affairs, rating["id"], "申请人表示理解")
    assert called["followed_up_on"] == D(2026, 3, 25)
    assert supervision.scan(D(2026, 4, 8)) == 0
    assert supervision.scan(D(2026, 4, 9)) == 1  # yellow: 12 of the 15 days used
    assert supervision.scan(D(2026, 4, 14)) == 0
    assert supervision.scan(D(2026, 4, 15)) == 1
    assert supervision.sql("SELECT step, department, colour, raised_on FROM warnings ORDER BY id") == [
        ("rectification", "civil_affairs", "yellow", D(2026, 4, 9)), ("rectification", "civil_affairs", "red",
                                                                       D(2026, 4, 15))]
    # another department may not close it; the department closes it late, and the applicant is told
    with pytest.raises(Forbidden), supervision.on(D(2026, 4, 16)) as uow:
        supervision.feedback.rectify(uow, holder(supervision, "water"), rating["id"], "fixed", "x")
    with supervision.on(D(2026, 4, 16)) as uow:
        done = supervision.feedback.rectify(uow, civil_affairs, rating["id"], "ledger", "增设引导员")
    assert (done["resolution"], done["resolved_on"]) == ("ledger", D(2026, 4, 16))
    assert supervision.sql("SELECT stopped_on FROM clocks WHERE step = 'rectification'") == [(D(2026, 4, 16),)]
    assert supervision.sql("SELECT envelope->'payload'->>'resolution' FROM outbox "
                           "WHERE event_type = 'RectificationCompleted'") == [("ledger",)]
    with pytest.raises(NotAllowedNow), supervision.on(D(2026, 4, 17)) as uow:
        supervision.feedback.rectify(uow, civil_affairs, rating["id"], "fixed", "again")


def test_ratings_are_one_per_case_online_and_one_per_act_on_site_never_by_the_cases_own_staff(supervision):
    accept(supervision, "B2", "MZ-001", "promised", D(2026, 3, 2), agent="agent-zhangqiao")
    supervision.event("StageOpened", "B2", {"stage": 1, "stage_name": "承办", "tasks": [
        {"task_id": "B2.1.civil_affairs", "department": "civil_affairs", "lead": True, "limit_days": 10,
         "deadline": "2026-03-16"}]}, D(2026, 3, 2))
    for rater in (CLERK, "agent-zhangqiao"):
        with pytest.raises(Forbidden):
            rate(supervision, "B2", 5, D(2026, 3, 3), rater=rater, request_id=f"own-{rater}")
    first = rate(supervision, "B2", 4, D(2026, 3, 3))
    assert rate(supervision, "B2", 4, D(2026, 3, 3))["id"] == first["id"]  # the same request again
    with pytest.raises(NotAllowedNow):
        rate(supervision, "B2", 5, D(2026, 3, 4), request_id="second-online")
    on_site = rate(supervision, "B2", 1, D(2026, 3, 3), channel="on_site", act="acceptance")
    task = rate(supervision, "B2", 3, D(2026, 3, 3), channel="on_site", act="B2.1.civil_affairs")
    assert (on_site["organisation"], on_site["department"]) == ("county-desk", None)
    assert task["department"] == "civil_affairs"
    with pytest.raises(InvalidRequest) as bad:
        rate(supervision, "B2", 7, D(2026, 3, 3), channel="on_site", request_id="bad")
    assert {f for f, _ in bad.value.violations} == {"level", "act"}
    with pytest.raises(InvalidRequest) as unknown:
        rate(supervision, "B2", 3, D(2026, 3, 3), channel="on_site", act="B2.9.water")
    assert unknown.value.violations == [("act", "no task 'B2.9.water' in case B2")]
    # only the bad on-site rating of the acceptance desk opened an item
    assert supervision.sql("SELECT organisation FROM rectifications") == [("county-desk",)]


def test_a_bad_rating_of_the_acceptance_at_a_township_desk_is_its_centres_to_answer(supervision):
    h = supervision
    accept(h, "Z1", "MZ-005", "promised", D(2026, 3, 2), organisation="zhangqiao-desk", level="township")
    rating = rate(h, "Z1", 1, D(2026, 3, 3), channel="on_site", act="acceptance", named=True)
    assert (rating["organisation"], rating["department"]) == ("zhangqiao-desk", None)
    assert h.sql("SELECT organisation, department FROM rectifications") == [("zhangqiao-desk", None)]
    # another township's centre, the desk that was rated, a department: none of theirs
    for other in ("luqiao-centre", "zhangqiao-desk", "civil_affairs"):
        with pytest.raises(Forbidden, match="zhangqiao-centre's to answer"), h.on(D(2026, 3, 4)) as uow:
            h.feedback.rectify(uow, holder(h, other), rating["id"], "fixed", "x")
        with pytest.raises(Forbidden), h.on(D(2026, 3, 4)) as uow:
            h.feedback.appeal(uow, holder(h, other), rating["id"], "x")
    centre = holder(h, "zhangqiao-centre")
    with h.on(D(2026, 3, 4)) as uow:
        h.feedback.follow_up(uow, centre, rating["id"], "已致歉，申请人表示理解")
        done = h.feedback.rectify(uow, centre, rating["id"], "explained", "受理员已重新培训")
    assert (done["resolution"], done["resolved_on"], done["followed_up_on"]) == (
        "explained", D(2026, 3, 4), D(2026, 3, 4))
    assert h.sql("SELECT stopped_on FROM clocks WHERE step = 'rectification'") == [(D(2026, 3, 4),)]


def test_a_village_rooms_acceptance_is_answered_by_its_township_centre_or_the_office(supervision):
    h = supervision
    accept(h, "Z2", "MZ-005", "promised", D(2026, 3, 2), organisation="zhangqiao-liugang-room", level="village")
    rating = rate(h, "Z2", 2, D(2026, 3, 3), channel="on_site", act="acceptance")
    # the room is its own centre in the transfer rules, but its duty clerks answer to the township
    with pytest.raises(Forbidden, match="zhangqiao-centre's to answer"), h.on(D(2026, 3, 4)) as uow:
        h.feedback.appeal(uow, holder(h, "zhangqiao-liugang-room"), rating["id"], "x")
    with h.on(D(2026, 3, 4)) as uow:
        appealed = h.feedback.appeal(uow, holder(h, "zhangqiao-centre"), rating["id"], "评价器误触")
    assert appealed["appealed_on"] == D(2026, 3, 4)
    with h.on(D(2026, 3, 5)) as uow:
        done = h.feedback.rectify(uow, holder(h, "supervision"), rating["id"], "explained", "核实后说明")
    assert (done["resolution"], done["resolved_on"]) == ("explained", D(2026, 3, 5))


def test_an_upheld_appeal_voids_the_rating_and_closes_its_item(supervision):
    accept(supervision, "B3", "AJ-001", "promised", D(2026, 3, 2))
    rating = rate(supervision, "B3", 1, D(2026, 3, 10))
    work_safety, office = holder(supervision, "work_safety"), holder(supervision, "supervision")
    with supervision.on(D(2026, 3, 11)) as uow:
        supervision.feedback.appeal(uow, work_safety, rating["id"], "评价人误选")
    with pytest.raises(Forbidden), supervision.on(D(2026, 3, 12)) as uow:
        supervision.feedback.review_appeal(uow, work_safety, rating["id"], True, "自己复核")
    with supervision.on(D(2026, 3, 12)) as uow:
        reviewed = supervision.feedback.review_appeal(uow, office, rating["id"], True, "核实为误评")
    assert (reviewed["appeal_upheld"], reviewed["resolution"]) == (True, "voided")
    assert supervision.sql("SELECT voided_on FROM ratings") == [(D(2026, 3, 12),)]
    assert supervision.sql("SELECT stopped_on FROM clocks WHERE step = 'rectification'") == [(D(2026, 3, 12),)]


def test_a_complaint_is_answered_within_its_limit_or_warns(supervision):
    accept(supervision, "P1", "MZ-001", "promised", D(2026, 3, 2))
    with supervision.on(D(2026, 3, 20)) as uow:
        late = supervision.feedback.complain(uow, Complaint("k1", "phone", "窗口人员态度差", case_number="P1",
                                                            contact={"name": "李四", "phone": "13900001111"}))
        quick = supervision.feedback.complain(uow, Complaint("k2", "letter", "排队太久", department="water"))
    assert (late["department"], quick["department"]) == ("civil_affairs", "water")
    # 10 working days after 20 March: 23–27, 30–31 March, 1–3 April; red on 7 April (6 April is Qingming)
    assert supervision.sql("SELECT ref, deadline, red_on FROM clocks WHERE step = 'complaint' ORDER BY ref") == [
        (str(late["id"]), D(2026, 4, 3), D(2026, 4, 7)), (str(quick["id"]), D(2026, 4, 3), D(2026, 4, 7))]
    with supervision.on(D(2026, 3, 24)) as uow:
        supervision.feedback.answer_complaint(uow, holder(supervision, "water"), quick["id"], "已增设取号机")
    with pytest.raises(Forbidden), supervision.on(D(2026, 3, 24)) as uow:
        supervision.feedback.answer_complaint(uow, holder(supervision, "water"), late["id"], "不是我们的")
    supervision.scan(D(2026, 4, 7))
    assert supervision.sql("SELECT step, department, colour FROM warnings WHERE step = 'complaint'") == [
        ("complaint", "civil_affairs", "red")]
    answered = supervision.sql("SELECT envelope->'payload'->>'answer', envelope->'payload'->'contact' FROM outbox "
                               "WHERE event_type = 'ComplaintAnswered'")
    assert answered == [("已增设取号机", None)]
    with pytest.raises(InvalidRequest) as bad, supervision.on(D(2026, 3, 24)) as uow:
        supervision.feedback.complain(uow, Complaint("k3", "fax", " "))
    assert {f for f, _ in bad.value.violations} == {"text", "channel", "case_number"}


def test_faults_seen_in_events_accepted_twice_late_transfer_no_legal_basis(supervision):
    accept(supervision, "F1", "MZ-001", "promised", D(2026, 3, 2), key="same-applicant")
    accept(supervision, "F2", "MZ-001", "promised", D(2026, 3, 3), organisation="zhangqiao-desk", level="township",
           key="same-applicant")
    route(supervision, "F2", "MZ-001", "county-window-civil-affairs", D(2026, 3, 3), hops=2)
    supervision.event("StageOpened", "F2", {"stage": 1, "stage_name": "承办", "tasks": []}, D(2026, 3, 9))
    supervision.event("TaskDecided", "F1", {"task_id": "F1.1.civil_affairs", "department": "civil_affairs",
                                            "stage": 1, "role": "lead", "decision": "approve", "opinion": "同意",
                                            "legal_basis": " "}, D(2026, 3, 10))
    assert supervision.sql("SELECT case_number, kind, department FROM faults ORDER BY id") == [
        ("F2", "accepted_twice", "civil_affairs"), ("F2", "late_transfer", None),
        ("F1", "no_legal_basis", "civil_affairs")]
    # a concluded case no longer makes the next one a second acceptance
    conclude(supervision, "F1", D(2026, 3, 11))
    conclude(supervision, "F2", D(2026, 3, 11))
    accept(supervision, "F3", "MZ-001", "promised", D(2026, 3, 12), key="same-applicant")
    assert supervision.sql("SELECT count(*) FROM faults WHERE case_number = 'F3'") == [(0,)]


def test_a_beyond_township_case_gets_its_written_progress_notice_once_on_the_fifth_working_day(supervision):
    accept(supervision, "N1", "MZ-001", "promised", D(2026, 3, 2))
    route(supervision, "N1", "MZ-001", "county-window-civil-affairs", D(2026, 3, 2))
    accept(supervision, "N2", "MZ-005", "promised", D(2026, 3, 2), organisation="zhangqiao-desk", level="township")
    route(supervision, "N2", "MZ-005", "zhangqiao-window-civil-affairs", D(2026, 3, 2), deciding="township")
    notices = "SELECT envelope->>'case_number', envelope->'payload'->>'days_used' FROM outbox " \
              "WHERE event_type = 'ProgressNoticeRequired'"
    supervision.scan(D(2026, 3, 6))
    assert supervision.sql(notices) == []
    supervision.scan(D(2026, 3, 9))
    supervision.scan(D(2026, 3, 10))
    assert supervision.sql(notices) == [("N1", "5")]  # the township's own case N2 needs none


def test_a_lapsed_commitment_is_reported_once_for_the_case_to_end(supervision):
    accept(supervision, "L1", "MZ-001", "promised", D(2026, 3, 2), commitment_deadline="2026-03-09")
    assert supervision.sql("SELECT deadline, red_on FROM clocks WHERE step = 'commitment'") == [
        (D(2026, 3, 9), D(2026, 3, 10))]
    supervision.scan(D(2026, 3, 10))
    supervision.scan(D(2026, 3, 11))
    assert supervision.sql("SELECT envelope->>'case_number', envelope->'payload'->>'deadline' FROM outbox "
                           "WHERE event_type = 'CommitmentLapsed'") == [("L1", "2026-03-09")]


def test_the_figures_of_a_scripted_month_match_the_hand_computed_values(supervision):
    h = supervision
    # A: promised 20/30, window, county; decided at the county window; 9 working days; on time
    accept(h, "A", "MZ-001", "promised", D(2026, 3, 2))
    route(h, "A", "MZ-001", "county-window-civil-affairs", D(2026, 3, 2))
    conclude(h, "A", D(2026, 3, 13))
    # B: promised 10/20, through a township agent; 14 working days: late
    accept(h, "B", "MZ-004", "promised", D(2026, 3, 2), organisation="zhangqiao-desk", level="township",
           channel="proxy_agent", agent="agent-zhangqiao")
    route(h, "B", "MZ-004", "county-window-civil-affairs", D(2026, 3, 2), hops=1)
    conclude(h, "B", D(2026, 3, 20))
    # C: 即办件 0/0 at the window, concluded the same day
    accept(h, "C", "MZ-006", "immediate", D(2026, 3, 3), organisation="county-window-civil-affairs")
    route(h, "C", "MZ-006", "county-window-civil-affairs", D(2026, 3, 3))
    conclude(h, "C", D(2026, 3, 3))
    # D: work safety 10/20, decided in its back office (not on site); 8 working days
    accept(h, "D", "AJ-001", "promised", D(2026, 3, 4))
    route(h, "D", "AJ-001", "county-office-work-safety", D(2026, 3, 4), department="work_safety")
    conclude(h, "D", D(2026, 3, 16))
    # E: accepted, still open; F: accepted in February, concluded in March: 5 working days
    # (27 and 28 February, 28 being a worked Saturday of the Spring Festival swap, and 2–4 March)
    accept(h, "E", "MZ-001", "promised", D(2026, 3, 5))
    accept(h, "F", "MZ-001", "promised", D(2026, 2, 26))
    route(h, "F", "MZ-001", "county-window-civil-affairs", D(2026, 2, 26))
    conclude(h, "F", D(2026, 3, 4))
    # G: a project accepted with its code (30/45); one project application not accepted
    h.event("ApplicationRejected", "X", {"item_code": "TZ-002", "organisation": "county-desk",
                                         "reasons": ["项目代码无效"]}, D(2026, 3, 6))
    accept(h, "G", "TZ-002", "joint", D(2026, 3, 9), project_code="2026-340000-01-01-000001")
    # H: 20/30, withdrawn: accepted but never concluded
    accept(h, "H", "MZ-002", "promised", D(2026, 3, 10))
    h.event("ApplicationWithdrawn", "H", {"reason": "不再需要"}, D(2026, 3, 11))
    # ratings: A 5, B 2 (named, called back), C 4 on site, D 1 voided on appeal
    rate(h, "A", 5, D(2026, 3, 16))
    bad = rate(h, "B", 2, D(2026, 3, 23), named=True)
    rate(h, "C", 4, D(2026, 3, 3), channel="on_site", act="acceptance")
    wrong = rate(h, "D", 1, D(2026, 3, 17))
    with h.on(D(2026, 3, 24)) as uow:
        h.feedback.follow_up(uow, holder(h, "civil_affairs"), bad["id"], "已道歉")
        h.feedback.appeal(uow, holder(h, "work_safety"), wrong["id"], "误评")
        h.feedback.review_appeal(uow, holder(h, "supervision"), wrong["id"], True, "核实误评")
        h.feedback.complain(uow, Complaint("c1", "phone", "办理慢", case_number="B"))
        h.feedback.complain(uow, Complaint("c2", "mailbox", "找不到窗口", department="work_safety"))
    # a complaint and a rating in April do not count
    with h.on(D(2026, 4, 1)) as uow:
        h.feedback.complain(uow, Complaint("c3", "phone", "四月的投诉", case_number="A"))

    with h.uows[0]() as uow:
        (march,) = figures(uow, h.feedback.ref, D(2026, 3, 1), D(2026, 3, 31))
        by_department = {f.counts.key: f for f in figures(uow, h.feedback.ref, D(2026, 3, 1), D(2026, 3, 31),
                                                           "department")}
        agents = {a.agent: a for a in agent_figures(uow, h.feedback.ref, D(2026, 3, 1), D(2026, 3, 31))}
    c, r = march.counts, march.ratios
    assert (c.accepted, c.immediate, c.concluded) == (7, 1, 5)  # A B C D E G H; C; A B C D F
    assert r["immediate_share"] == pytest.approx(1 / 7)
    # promised 20+10+0+10+20+30+20 = 110 of legal 30+20+0+20+30+45+30 = 175
    assert r["compression_ratio"] == pytest.approx(1 - 110 / 175)
    assert r["on_site_rate"] == pytest.approx(4 / 5)  # D was decided in a back office
    assert r["on_time_rate"] == pytest.approx(4 / 5)  # B used 14 of 10
    assert (c.days_used, c.limit_days) == (9 + 14 + 0 + 8 + 5, 20 + 10 + 0 + 10 + 20)
    assert r["days_used_ratio"] == pytest.approx(36 / 60)
    assert r["average_days_used"] == pytest.approx(36 / 5)
    assert r["entry_rate"] == pytest.approx(1 / 2)  # G entered, X not accepted
    assert (c.ratings, r["satisfaction_rate"], r["dissatisfaction_rate"]) == (3, pytest.approx(2 / 3),
                                                                              pytest.approx(1 / 3))
    assert r["follow_up_rate"] == 1.0
    assert r["complaint_rate"] == pytest.approx(2 / 7)
    # 39 items are accepted at all; 5 are decided in back offices: AJ-001, JT-001, SH-001, SL-001, CZ-001
    assert (c.items, c.window_items) == (39, 34)
    safety = by_department["work_safety"]
    assert (safety.counts.accepted, safety.counts.concluded, safety.counts.complaints) == (1, 1, 1)
    assert (safety.ratios["on_site_rate"], safety.ratios["window_authorisation_rate"]) == (0.0, 0.0)
    assert safety.ratios["satisfaction_rate"] is None  # its only rating was voided
    # agent-zhangqiao carried B against a quota of 1 a week: 4 whole weeks in March
    assert (agents["agent-zhangqiao"].cases, agents["agent-zhangqiao"].quota, agents["agent-zhangqiao"].met) == (
        1, 4, False)
