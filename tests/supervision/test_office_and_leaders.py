"""What the supervision office and leaders read and do, on the real PostgreSQL with the clock
injected: supervision suggestions reviewed and closed, the warning board's filters and counts, the
day's summary signed by the leader on duty, the monthly 通报 archive, a department person's duties."""
from __future__ import annotations

import pytest

from services.access import Caller, Role
from services.errors import Forbidden, InvalidRequest, NotAllowedNow, NotFound
from supervision_svc import store
from supervision_svc.access import QUIET, ROLES
from supervision_svc.board import Board, WarningFilter
from supervision_svc.bulletins import MAX_PDF_BYTES, issue
from supervision_svc.day_summary import DaySummaries
from supervision_svc.feedback import Rating
from supervision_svc.suggestions import close_suggestion
from tests.supervision.conftest import D, stage

DEPT = Caller(Role.DEPARTMENT, "civil_affairs", "county-window-civil-affairs", person="SX0018",
              post="county-window-civil-affairs/handler/1", name="曾玉梅")
OFFICER = Caller(Role.SUPERVISOR, "supervision", "county-centre", person="SX0004",
                 post="county-centre/supervision_officer/1", name="吴霞")


def _reds(supervision, department: str, cases: int, on: D) -> None:
    """`cases` tasks of `department` opened on 2 March with 2 working days, red by `on`."""
    for i in range(cases):
        case = f"{department}-{i}"
        supervision.event("StageOpened", case, stage(case, 2, department=department), D(2026, 3, 2))
    while supervision.scan(on):
        pass


def test_a_suggestion_is_listed_and_closed_once_by_the_office_with_its_note(supervision):
    _reds(supervision, "water", 3, D(2026, 3, 10))
    with supervision.on(D(2026, 3, 11)) as uow:
        (open_one,) = store.suggestions(uow, None, True, 0, 10)
        assert not store.suggestions(uow, "civil_affairs", False, 0, 10)
    assert (open_one["department"], open_one["month"], open_one["reds_in_month"]) == ("water", "2026-03", 3)
    assert open_one["closed_on"] is None

    with supervision.on(D(2026, 3, 12)) as uow, pytest.raises(InvalidRequest) as bad:
        close_suggestion(uow, OFFICER, open_one["id"], " ")
    assert [f for f, _ in bad.value.violations] == ["note"]
    with supervision.on(D(2026, 3, 12)) as uow, pytest.raises(NotFound):
        close_suggestion(uow, OFFICER, 987654, "已约谈")
    with supervision.on(D(2026, 3, 12)) as uow:
        closed = close_suggestion(uow, OFFICER, open_one["id"], "已约谈水利局分管领导，限月底前清理超时件")
    assert (closed["closed_on"], closed["note"]) == (D(2026, 3, 12), "已约谈水利局分管领导，限月底前清理超时件")
    assert closed["closed_by"]["person"] == "SX0004"
    with supervision.on(D(2026, 3, 13)) as uow, pytest.raises(NotAllowedNow):
        close_suggestion(uow, OFFICER, open_one["id"], "再次关闭")
    with supervision.on(D(2026, 3, 13)) as uow:
        assert not store.suggestions(uow, None, True, 0, 10)
        assert store.suggestions(uow, "water", False, 0, 10)[0]["note"] == closed["note"]


def _accept(h, case: str, item: str, organisation: str, level: str) -> None:
    h.event("ApplicationAccepted", case, {
        "item_code": item, "kind": "promised", "level": level, "organisation": organisation, "channel": "window",
        "first_clerk": "c", "accepted_on": "2026-03-02", "promised_deadline": "2026-03-16"}, D(2026, 3, 2))


def _task(h, case: str, department: str, organisation: str, limit: int) -> None:
    h.event("StageOpened", case, {"stage": 1, "stage_name": "承办", "tasks": [{
        "task_id": f"{case}.1", "department": department, "lead": True, "limit_days": limit,
        "deadline": "2026-03-16", "organisation": organisation}]}, D(2026, 3, 2))


def _board_month(h) -> dict[str, int]:
    """A: a county window's task red; B: a village room's case (MZ-005, 3 days) red; C: a township
    desk's case red; D: water's back-office task yellow, then decided in time (withdrawn). A is
    instructed and replied to late, B instructed and not replied to. Returns the warnings' ids."""
    _accept(h, "A", "MZ-001", "county-desk", "county")
    _task(h, "A", "civil_affairs", "county-window-civil-affairs", 2)
    _accept(h, "B", "MZ-005", "zhangqiao-liugang-room", "village")
    _accept(h, "C", "MZ-005", "zhangqiao-desk", "township")
    _task(h, "C", "civil_affairs", "zhangqiao-window-civil-affairs", 8)
    _accept(h, "D", "MZ-001", "county-desk", "county")
    _task(h, "D", "water", "county-office-water", 5)
    h.scan(D(2026, 3, 6))
    h.event("TaskDecided", "D", {"task_id": "D.1", "department": "water", "stage": 1, "role": "lead",
                                 "decision": "approve", "opinion": "同意", "legal_basis": "法"}, D(2026, 3, 9))
    while h.scan(D(2026, 3, 10)):
        pass
    ids = dict(h.sql("SELECT case_number, id FROM warnings"))
    with h.on(D(2026, 3, 10)) as uow:
        h.instructions.instruct(uow, OFFICER, ids["A"], "限期办结", reply_days=1)
        h.instructions.instruct(uow, OFFICER, ids["B"], "限期办结", reply_days=5)
    with h.on(D(2026, 3, 13)) as uow:
        h.instructions.reply(uow, DEPT, ids["A"], "已办结")
    return ids


def test_the_board_counts_warnings_by_level_and_centre_of_the_organisation_that_accepted_or_decides(supervision):
    ids = _board_month(supervision)
    board = Board(supervision.feedback)
    today = D(2026, 3, 13)

    def counted(group_by: str, f: WarningFilter = WarningFilter()) -> dict[str, tuple]:
        with supervision.on(today) as uow:
            return {c["key"]: (c["yellow"], c["red"], c["open_yellow"], c["open_red"], c["instructed"], c["replied"],
                               c["late_replies"]) for c in board.counts(uow, f, today, group_by)}

    #                    yellow red open-y open-r instructed replied late
    assert counted("level") == {"county": (1, 1, 0, 0, 1, 1, 1), "township": (0, 1, 0, 1, 0, 0, 0),
                                "village": (0, 1, 0, 1, 1, 0, 0)}
    assert counted("centre") == {"county-centre": (1, 1, 0, 0, 1, 1, 1), "zhangqiao-centre": (0, 2, 0, 2, 1, 0, 0)}
    assert counted("department") == {"civil_affairs": (0, 3, 0, 2, 2, 1, 1), "water": (1, 0, 0, 0, 0, 0, 0)}
    assert counted("item") == {"MZ-001": (1, 1, 0, 0, 1, 1, 1), "MZ-005": (0, 2, 0, 2, 1, 0, 0)}
    assert counted("window")["county-office-water"] == (1, 0, 0, 0, 0, 0, 0)
    assert counted("", WarningFilter(until=D(2026, 3, 6), colour="red")) == {"": (0, 3, 0, 2, 2, 1, 1)}
    assert counted("", WarningFilter(since=D(2026, 3, 7))) == {}  # all were raised by 6 March

    def listed(f: WarningFilter, on: D = today) -> list[str]:
        with supervision.on(on) as uow:
            return [w["case_number"] for w in board.warnings(uow, f, on, 0, 100)]

    assert listed(WarningFilter(instructed_unreplied=True)) == ["B"]
    assert listed(WarningFilter(late_replies=True)) == ["A"]
    assert listed(WarningFilter(late_replies=True), D(2026, 3, 20)) == ["A", "B"]  # B's reply_by has passed
    assert listed(WarningFilter(open_only=True)) == ["B", "C"]
    assert listed(WarningFilter(item="MZ-005", level="village")) == ["B"]
    assert listed(WarningFilter(centre="zhangqiao-centre", colour="red")) == ["B", "C"]
    assert listed(WarningFilter(department="water")) == ["D"]
    with supervision.on(today) as uow:
        (b,) = board.warnings(uow, WarningFilter(item="MZ-005", level="village"), today, 0, 10)
        assert (b["id"], b["warned"], b["organisation"], b["level"], b["centre"]) == (
            ids["B"], "civil_affairs", "zhangqiao-liugang-room", "village", "zhangqiao-centre")
        with pytest.raises(InvalidRequest) as bad:
            board.warnings(uow, WarningFilter(level="province", centre="county-desk"), today, 0, 10)
    assert bad.value.violations == [("level", "county, township or village"), ("centre", "no centre 'county-desk'")]


LEADER = Caller(Role.LEADER, "zhangqiao-centre", "zhangqiao-centre", person="SX0084",
                post="zhangqiao-centre/leader/1", name="钟永红")


def test_a_leaders_only_act_in_the_api_is_signing_the_days_summary():
    acts = {m for m, roles in ROLES.items() if Role.LEADER in roles and m not in QUIET}
    assert acts == {"SignDaySummary"}


def _accept_on(h, case: str, item: str, organisation: str, level: str, on: D) -> None:
    h.event("ApplicationAccepted", case, {
        "item_code": item, "kind": "promised", "level": level, "organisation": organisation, "channel": "window",
        "first_clerk": "c", "accepted_on": str(on), "promised_deadline": str(on)}, on)


def test_the_days_summary_of_a_centre_is_signed_once_by_its_leader(supervision):
    h, day = supervision, D(2026, 3, 10)
    _accept(h, "B", "MZ-005", "zhangqiao-liugang-room", "village")  # 2 March: its case clock is red by the 10th
    h.scan(D(2026, 3, 10))
    _accept_on(h, "E", "MZ-005", "zhangqiao-desk", "township", day)
    _accept_on(h, "F", "MZ-005", "zhangqiao-liugang-room", "village", day)
    _accept_on(h, "G", "MZ-001", "county-desk", "county", day)  # another centre's
    h.event("StageOpened", "E", {"stage": 1, "stage_name": "承办", "tasks": [{
        "task_id": "E.1", "department": "civil_affairs", "lead": True, "limit_days": 3, "deadline": str(day),
        "organisation": "zhangqiao-window-civil-affairs"}]}, day)
    h.event("TaskDecided", "E", {"task_id": "E.1", "department": "civil_affairs", "stage": 1, "role": "lead",
                                 "decision": "approve", "opinion": "同意", "legal_basis": "法",
                                 "organisation": "zhangqiao-window-civil-affairs"}, day)
    h.event("CaseConcluded", "E", {"result": "issued", "concluded_on": str(day), "decisions": [], "reasons": []}, day)
    with h.on(day) as uow:  # the ball vote: 4 满意, 3 基本满意, 1 不满意 (the county's: not this centre's)
        h.feedback.rate(uow, Rating("r-e", "E", "on_site", "acceptance", 4, "applicant", "", False))
        h.feedback.rate(uow, Rating("r-e-task", "E", "on_site", "E.1", 5, "applicant", "", False))
        h.feedback.rate(uow, Rating("r-f", "F", "online", "", 3, "applicant", "", False))
        h.feedback.rate(uow, Rating("r-g", "G", "on_site", "acceptance", 1, "applicant", "", False))
    days = DaySummaries(Board(h.feedback))

    with h.on(day) as uow:
        summary = days.summary(uow, day, "zhangqiao-centre")
    assert summary["totals"] == {"accepted": 2, "concluded": 1, "decided": 1, "satisfied": 2,
                                 "basically_satisfied": 1, "dissatisfied": 0}
    assert summary["organisations"]["zhangqiao-window-civil-affairs"] == {
        "accepted": 0, "concluded": 0, "decided": 1, "satisfied": 1, "basically_satisfied": 0, "dissatisfied": 0}
    assert list(summary["organisations"]) == ["zhangqiao-desk", "zhangqiao-liugang-room",
                                              "zhangqiao-window-civil-affairs"]
    assert summary["open_reds"] == 1 and [w["case_number"] for w in summary["red_warnings"]] == ["B"]
    assert summary["signature"] is None
    with h.on(day) as uow:
        assert days.summary(uow, day, "county-centre")["totals"]["dissatisfied"] == 1

    other = Caller(Role.LEADER, "luqiao-centre", "luqiao-centre", person="SX0125", post="luqiao-centre/leader/1")
    for refused in (other, OFFICER):
        with h.on(day) as uow, pytest.raises(Forbidden):
            days.sign(uow, refused, day, "zhangqiao-centre")
    with h.on(day) as uow, pytest.raises(InvalidRequest) as bad:
        days.sign(uow, LEADER, D(2026, 3, 11), "zhangqiao-desk")
    assert bad.value.violations == [("day", "today or a day before"), ("centre", "no centre 'zhangqiao-desk'")]
    with h.on(D(2026, 3, 11)) as uow:
        signed = days.sign(uow, LEADER, day, "zhangqiao-centre")
    assert signed["signature"]["signed_by"]["person"] == "SX0084" and signed["totals"] == summary["totals"]
    with h.on(D(2026, 3, 11)) as uow, pytest.raises(NotAllowedNow):
        days.sign(uow, LEADER, day, "zhangqiao-centre")
    (figures,) = h.sql("SELECT figures FROM day_summaries WHERE day = %s AND centre = 'zhangqiao-centre'", [day])[0]
    assert figures["totals"] == summary["totals"] and figures["open_reds"] == 1


PDF = "%PDF-1.7\n通报\n%%EOF".encode()


def test_a_month_issued_again_is_a_new_version_and_the_one_before_is_kept(supervision):
    h = supervision

    def issued(request_id: str, month: str, pdf: bytes = PDF, summary: str = "") -> dict:
        with h.on(D(2026, 4, 2)) as uow:
            return issue(uow, OFFICER, request_id, month, pdf, summary)

    first = issued("b1", "2026-03", summary='{"accepted": 12}')
    again = issued("b1", "2026-03", pdf=PDF + b"x")  # a retried call: the same bulletin, nothing more
    second = issued("b2", "2026-03", pdf=PDF + b"corrected")
    other = issued("b3", "2026-02")
    assert (first["version"], again["id"], second["version"], other["version"]) == (1, first["id"], 2, 1)
    assert first["issued_by"]["person"] == "SX0004" and first["size_bytes"] == len(PDF)
    assert h.sql("SELECT month, version, pdf, summary FROM bulletins ORDER BY id") == [
        ("2026-03", 1, PDF, '{"accepted": 12}'), ("2026-03", 2, PDF + b"corrected", ""), ("2026-02", 1, PDF, "")]
    with h.on(D(2026, 4, 2)) as uow:
        assert [b["id"] for b in store.bulletins(uow, None, 0, 10)] == [other["id"], second["id"], first["id"]]
        assert [b["version"] for b in store.bulletins(uow, "2026-03", second["id"], 10)] == [1]
        assert bytes(store.bulletin(uow, second["id"])["pdf"]) == PDF + b"corrected"

    with h.on(D(2026, 4, 2)) as uow, pytest.raises(InvalidRequest) as bad:
        issue(uow, OFFICER, "", "2026-05", b"<html>", "")
    assert [f for f, _ in bad.value.violations] == ["request_id", "month", "pdf"]
    with h.on(D(2026, 4, 2)) as uow, pytest.raises(InvalidRequest) as bad:
        issue(uow, OFFICER, "b4", "2026-3", PDF + b"0" * MAX_PDF_BYTES, "")
    assert bad.value.violations == [("month", "a month (YYYY-MM)"),
                                    ("pdf", f"at most 3 MB ({len(PDF) + MAX_PDF_BYTES} bytes given)")]
    with h.on(D(2026, 4, 2)) as uow, pytest.raises(InvalidRequest) as bad:
        issue(uow, OFFICER, "b1", "2026-02", PDF, "")
    assert bad.value.violations == [("request_id", "issued already for 2026-03")]
    assert h.sql("SELECT count(*) FROM bulletins") == [(3,)]


ZENG = {"person": "SX0018", "name": "曾玉梅", "post": "county-window-civil-affairs/handler/1",
        "organisation": "county-window-civil-affairs", "holder": "civil_affairs"}


def _decided_and_rated(h, case: str, window: str, by: dict | None, level: int) -> None:
    _accept_on(h, case, "MZ-001", "county-desk", "county", D(2026, 3, 2))
    h.event("StageOpened", case, {"stage": 1, "stage_name": "承办", "tasks": [{
        "task_id": f"{case}.1", "department": "civil_affairs", "lead": True, "limit_days": 20,
        "deadline": "2026-03-30", "organisation": window}]}, D(2026, 3, 2))
    h.event("TaskDecided", case, {"task_id": f"{case}.1", "department": "civil_affairs", "stage": 1,
                                  "role": "lead", "decision": "approve", "opinion": "同意", "legal_basis": "法",
                                  "organisation": window, "by": by}, D(2026, 3, 3))
    with h.on(D(2026, 3, 3)) as uow:
        h.feedback.rate(uow, Rating(f"r-{case}", case, "on_site", f"{case}.1", level, "applicant", "", False))


def test_a_handlers_duties_are_the_items_of_their_post_and_the_instructions_to_their_window(supervision):
    h = supervision
    ids = _board_month(h)  # B (a village room's) instructed and not replied to; A replied to
    _decided_and_rated(h, "H", "county-window-civil-affairs", ZENG, 1)
    _decided_and_rated(h, "J", "zhangqiao-window-civil-affairs", None, 2)  # the station's system decided
    board, today = Board(h.feedback), D(2026, 3, 13)
    with h.on(today) as uow:
        mine = store.rectifications(uow, "civil_affairs", True, 0, 10, post=ZENG["post"])
        by_person = store.rectifications(uow, "civil_affairs", True, 0, 10, person="SX0018")
        everyone = store.rectifications(uow, "civil_affairs", True, 0, 10)
        to_reply = {o: [w["id"] for w in board.warnings(uow, WarningFilter(
            department="civil_affairs", instructed_unreplied=True, organisation=o), today, 0, 10)]
            for o in ("county-window-civil-affairs", "zhangqiao-liugang-room")}
    assert [r["case_number"] for r in mine] == [r["case_number"] for r in by_person] == ["H"]
    assert mine[0]["deadline"] > D(2026, 3, 3)
    assert sorted(r["case_number"] for r in everyone) == ["H", "J"]
    assert to_reply == {"county-window-civil-affairs": [], "zhangqiao-liugang-room": [ids["B"]]}
    with h.on(today) as uow, pytest.raises(InvalidRequest) as bad:
        board.warnings(uow, WarningFilter(organisation="nowhere"), today, 0, 10)
    assert bad.value.violations == [("organisation", "no organisation 'nowhere'")]
