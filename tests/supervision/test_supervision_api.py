"""Supervision through its gRPC API, in an in-process hall: cases flow through every service, then
are rated, complained about, instructed on and counted."""
from __future__ import annotations

import datetime as dt
import uuid

import grpc
import pytest
from onewindow.supervision.v1 import supervision_pb2 as spb

from services.contracts import new_envelope
from services.grpcutil import field_violations
from services.timesource import SystemTime, local_day
from tests.flow.test_access import holder_of
from tests.flow_steps import concluded_case, submission, tasks_of
from tests.support import wait_until


def _error(call) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value


def test_rating_rectification_and_complaint_through_the_api(system):
    number = concluded_case(system)
    office, dept, water = system.supervision(), system.supervision("civil_affairs"), system.supervision("water")
    device = system.supervision("county-desk")  # the rating device at the window that accepted the case
    anonymous = system._supervision

    own = _error(lambda: device.Rate(spb.RateRequest(request_id="r0", case_number=number, channel=spb.ONLINE,
                                                     level=5, rater="clerk-01")))
    assert own.code() == grpc.StatusCode.PERMISSION_DENIED  # the case's own clerk
    bad = _error(lambda: device.Rate(spb.RateRequest(request_id="r1", case_number=number, channel=spb.ON_SITE,
                                                     level=9, rater="applicant")))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT and {f for f, _ in field_violations(bad)} == {"level", "act"}

    rating = device.Rate(spb.RateRequest(request_id=uuid.uuid4().hex, case_number=number, channel=spb.ONLINE,
                                         level=1, rater="applicant", comment="等了很久", named=True))
    assert rating.rectification_opened and rating.department == "civil_affairs"
    (item,) = dept.ListRectifications(spb.ListRectificationsRequest(open_only=True)).items
    assert item.rating_id == rating.id and item.deadline > item.opened_on
    assert not water.ListRectifications(spb.ListRectificationsRequest()).items  # not water's
    assert _error(lambda: water.ListRectifications(spb.ListRectificationsRequest(department="civil_affairs"))).code() \
        == grpc.StatusCode.PERMISSION_DENIED
    dept.FollowUp(spb.FollowUpRequest(rating_id=rating.id, outcome="已致歉，申请人表示理解"))
    closed = dept.Rectify(spb.RectifyRequest(rating_id=rating.id, resolution=spb.FIXED, note="当场补办并致歉"))
    assert closed.resolution == spb.FIXED and closed.followed_up_on
    assert _error(lambda: dept.Rectify(spb.RectifyRequest(rating_id=rating.id, resolution=spb.FIXED, note="x"))) \
        .code() == grpc.StatusCode.FAILED_PRECONDITION
    # the applicant is told the result (notify's deliveries; no channel configured here, so planned only)
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM outbox WHERE event_type = 'RectificationCompleted'"),
               what="RectificationCompleted")

    complaint = office.Complain(spb.ComplainRequest(request_id=uuid.uuid4().hex, channel=spb.PHONE,
                                                    case_number=number, text="窗口解释不清"))
    assert complaint.department == "civil_affairs" and complaint.deadline > complaint.registered_on
    assert _error(lambda: water.AnswerComplaint(spb.AnswerComplaintRequest(complaint_id=complaint.id, answer="x"))) \
        .code() == grpc.StatusCode.PERMISSION_DENIED
    answered = dept.AnswerComplaint(spb.AnswerComplaintRequest(complaint_id=complaint.id, answer="已重新解释"))
    assert answered.answered_on and not office.ListComplaints(spb.ListComplaintsRequest(open_only=True)).complaints
    assert _error(lambda: anonymous.ListWarnings(spb.ListWarningsRequest(period=spb.Period(month="2026-03")),
                                                 timeout=10)).code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_bad_rating_of_a_township_desks_acceptance_is_listed_and_closed_by_its_centre(system):
    number = system.intake.Submit(submission("MZ-005", "zhangqiao-desk"), timeout=10).case_number
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s", [number]),
               what="the case in supervision")
    device, centre = system.supervision("zhangqiao-desk"), system.supervision("zhangqiao-centre")
    other, dept = system.supervision("luqiao-centre"), system.supervision("civil_affairs")
    rating = device.Rate(spb.RateRequest(request_id=uuid.uuid4().hex, case_number=number, channel=spb.ON_SITE,
                                         act="acceptance", level=2, rater="applicant", comment="受理员不耐烦"))
    assert rating.rectification_opened and rating.department == ""

    (item,) = centre.ListRectifications(spb.ListRectificationsRequest(open_only=True)).items
    assert (item.rating_id, item.organisation, item.department) == (rating.id, "zhangqiao-desk", "")
    assert not other.ListRectifications(spb.ListRectificationsRequest()).items
    assert rating.id not in [i.rating_id for i in dept.ListRectifications(spb.ListRectificationsRequest()).items]
    assert _error(lambda: centre.ListRectifications(spb.ListRectificationsRequest(department="civil_affairs"))) \
        .code() == grpc.StatusCode.PERMISSION_DENIED
    for refused in (other, dept, device):
        assert _error(lambda: refused.Rectify(spb.RectifyRequest(rating_id=rating.id, resolution=spb.FIXED,
                                                                 note="x"))).code() == grpc.StatusCode.PERMISSION_DENIED
    closed = centre.Rectify(spb.RectifyRequest(rating_id=rating.id, resolution=spb.EXPLAINED, note="已约谈受理员"))
    assert closed.resolution == spb.EXPLAINED and closed.resolved_on


def test_the_office_instructs_on_a_red_warning_and_the_department_replies(system):
    number = system.intake.Submit(submission("MZ-001", "county-desk"), timeout=10).case_number
    (task,) = tasks_of(system.desk("civil_affairs"), number)
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM clocks WHERE step = 'task' AND ref = %s",
                                  [task.task_id]), what="the task's clock")
    # the task's days have run out: its clock comes due today, as on its red day
    today = str(local_day(SystemTime().now()))
    system.sql("supervision", "UPDATE clocks SET yellow_on = NULL, red_on = %s WHERE step = 'task' AND ref = %s",
               [today, task.task_id])
    office, dept, water = system.supervision(), system.supervision("civil_affairs"), system.supervision("water")
    listed = spb.ListWarningsRequest(period=spb.Period(**{"from": today, "to": today}), colour=spb.RED)
    warning = wait_until(lambda: next((w for w in office.ListWarnings(listed).warnings if w.case_number == number),
                                      None), what="the red warning")
    assert (warning.step, warning.department, warning.instruction) == ("task", "civil_affairs", "")

    bad = _error(lambda: office.Instruct(spb.InstructRequest(warning_id=warning.id, instruction=" ", reply_days=99)))
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {f for f, _ in field_violations(bad)} == {"instruction", "reply_days"}
    assert _error(lambda: dept.Instruct(spb.InstructRequest(warning_id=warning.id, instruction="x"))).code() \
        == grpc.StatusCode.PERMISSION_DENIED
    instructed = office.Instruct(spb.InstructRequest(warning_id=warning.id, instruction="请分管领导牵头，限期办结",
                                                     reply_days=3))
    assert (instructed.instruction, instructed.instructed_on) == ("请分管领导牵头，限期办结", today)
    assert instructed.reply_by > today and not instructed.replied_on
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM outbox WHERE event_type = 'WarningInstructed' "
                                                 "AND envelope->>'case_number' = %s AND published_at IS NOT NULL",
                                  [number]), what="WarningInstructed published")

    assert _error(lambda: water.ReplyToInstruction(spb.ReplyToInstructionRequest(warning_id=warning.id, reply="x"))) \
        .code() == grpc.StatusCode.PERMISSION_DENIED
    replied = dept.ReplyToInstruction(spb.ReplyToInstructionRequest(warning_id=warning.id, reply="已办结并约谈经办人"))
    assert (replied.reply, replied.replied_on) == ("已办结并约谈经办人", today)
    (seen,) = [w for w in dept.ListWarnings(listed).warnings if w.id == warning.id]
    assert (seen.instruction, seen.reply) == ("请分管领导牵头，限期办结", "已办结并约谈经办人")
    assert _error(lambda: dept.ReplyToInstruction(spb.ReplyToInstructionRequest(warning_id=warning.id,
                                                                               reply="另一个答复"))).code() \
        == grpc.StatusCode.FAILED_PRECONDITION


def test_figures_for_this_month_count_what_happened(system):
    number = concluded_case(system)
    today = local_day(SystemTime().now())
    reply = system.supervision("civil_affairs").GetFigures(spb.GetFiguresRequest(
        period=spb.Period(month=f"{today:%Y-%m}"), group_by=spb.DEPARTMENT))
    civil = next(f for f in reply.figures if f.key == "civil_affairs")
    in_db = system.sql("supervision", "SELECT count(*) FILTER (WHERE accepted_on >= %s), "
                                      "count(*) FILTER (WHERE concluded_on >= %s AND result <> 'withdrawn') "
                                      "FROM cases WHERE department = 'civil_affairs'",
                       [today.replace(day=1), today.replace(day=1)])
    assert (civil.counts["accepted"], civil.counts["concluded"]) == in_db[0] and civil.counts["concluded"] >= 1
    assert civil.HasField("on_time_rate") and 0 <= civil.on_time_rate <= 1
    assert reply.agents and all(a.quota >= 0 for a in reply.agents)
    assert system.sql("supervision", "SELECT department FROM cases WHERE case_number = %s", [number]) == [
        ("civil_affairs",)]
    bad = _error(lambda: system.supervision().GetFigures(spb.GetFiguresRequest(
        period=spb.Period(**{"from": "2026-03-31", "to": "2026-03-01"}))))
    assert field_violations(bad) == [("period.to", "on or after from")]


def test_each_number_of_the_figures_by_centre_lists_its_cases_to_each_caller_what_it_may_see(system):
    number = concluded_case(system)
    month = spb.Period(month=f"{local_day(SystemTime().now()):%Y-%m}")
    leader = system.as_person(system.supervision_stub, *holder_of("leader", "county-centre"))
    manager = system.as_person(system.supervision_stub, *holder_of("centre_manager", "zhangqiao-centre"))
    civil_affairs, water = system.supervision("civil_affairs"), system.supervision("water")
    by_centre = leader.GetFigures(spb.GetFiguresRequest(period=month, group_by=spb.CENTRE))
    county = next(f for f in by_centre.figures if f.key == "county-centre")
    assert {f.key for f in by_centre.figures} <= {"", "county-centre", "zhangqiao-centre", "luqiao-centre",
                                                  "sangjian-centre", "fangang-centre"}

    def listed(caller, count: str, group_by=spb.CENTRE, key="county-centre") -> list:
        rows, token = [], ""
        while True:
            reply = caller.ListFigureCases(spb.ListFigureCasesRequest(
                period=month, group_by=group_by, key=key, count=count, page_size=1, page_token=token))
            rows += reply.cases
            if not (token := reply.next_page_token):
                return rows

    accepted = listed(leader, "accepted")
    assert len(accepted) == county.counts["accepted"] and number in [r.case_number for r in accepted]
    (row,) = [r for r in accepted if r.case_number == number]
    assert (row.item_code, row.organisation, row.department, row.counted_on) == (
        "MZ-001", "county-desk", "civil_affairs", row.accepted_on)
    decided = [r for r in listed(leader, "concluded") if r.case_number == number]
    assert [r.task_id.startswith(number) for r in decided] == [True] and decided[0].limit_days > 0
    assert number in [r.case_number for r in listed(civil_affairs, "concluded", spb.DEPARTMENT, "civil_affairs")]
    assert listed(water, "concluded", spb.DEPARTMENT, "civil_affairs") == []  # a department its own only
    assert listed(manager, "accepted") == []  # a manager their centre's: not the county's

    def violations(**request) -> list[str]:
        return [f for f, _ in field_violations(_error(lambda: leader.ListFigureCases(
            spb.ListFigureCasesRequest(period=month, **request))))]

    assert violations(group_by=spb.WINDOW, count="complaints") == ["count"]
    assert violations(count="fees_collected") == ["count"]
    assert violations(group_by=99, count="accepted") == ["group_by"]
    assert violations(count="accepted", page_size=501) == ["page_size"]
    assert violations(count="ratings", page_token="x") == ["page_token"]


def test_a_fee_intake_publishes_is_in_the_figures_by_item_once_and_in_its_month_only(system):
    number = system.intake.Submit(submission("MZ-002", "county-desk"), timeout=10).case_number
    now = system.system.time.now()
    month, first = f"{local_day(now):%Y-%m}", local_day(now).replace(day=1)
    later = f"{(first + dt.timedelta(days=31)):%Y-%m}"
    office = system.supervision()

    def item_fees(month: str) -> tuple[int, int]:
        reply = office.GetFigures(spb.GetFiguresRequest(period=spb.Period(month=month), group_by=spb.ITEM))
        return next(((f.counts["fees_collected"], f.counts["fees_fen"]) for f in reply.figures if f.key == "MZ-002"),
                    (0, 0))

    before = item_fees(month)
    body = new_envelope("intake", "FeeCollected", number, {
        "item_code": "MZ-002", "organisation": "county-window-civil-affairs", "amount_fen": 3550,
        "receipt_number": f"SF-{number}", "collected_on": str(local_day(now))}, now).to_wire()
    for _ in range(2):  # the broker may deliver a message twice
        system.system.bus.deliver("intake", body)
    assert item_fees(month) == (before[0] + 1, before[1] + 3550)
    assert item_fees(later) == (0, 0)


def test_acts_name_their_person_and_post_and_the_month_is_assessed_by_window(system):
    number = concluded_case(system)
    township = system.intake.Submit(submission("MZ-005", "zhangqiao-desk"), timeout=10).case_number
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s", [township]),
               what="the township case in supervision")
    officer_id, handler_id = holder_of("supervision_officer", "county-centre"), \
        holder_of("handler", "county-window-civil-affairs")
    officer = system.as_person(system.supervision_stub, *officer_id)
    handler = system.as_person(system.supervision_stub, *handler_id)

    # a phone complaint registered by an office person, answered by the window's handler
    complaint = officer.Complain(spb.ComplainRequest(request_id=uuid.uuid4().hex, channel=spb.PHONE,
                                                     case_number=number, text="电话投诉：窗口解释不清"))
    assert (complaint.registered_by.person, complaint.registered_by.post) == officer_id
    assert complaint.registered_by.holder == "supervision" and not complaint.HasField("answered_by")
    answered = handler.AnswerComplaint(spb.AnswerComplaintRequest(complaint_id=complaint.id, answer="已电话解释"))
    assert (answered.answered_by.person, answered.answered_by.post) == handler_id
    assert answered.answered_by.organisation == "county-window-civil-affairs" and answered.answered_by.name
    assert system.sql("supervision", "SELECT envelope->'payload'->'by'->>'person' FROM outbox "
                                     "WHERE event_type = 'ComplaintAnswered' AND envelope->'payload'->>'complaint_id' "
                                     "= %s", [str(complaint.id)]) == [(handler_id[0],)]
    # a rating of the acceptance counts for the desk that accepted, and the item goes to its clerk's post
    rating = system.supervision("county-desk").Rate(spb.RateRequest(
        request_id=uuid.uuid4().hex, case_number=number, channel=spb.ON_SITE, act="acceptance", level=2,
        rater="applicant"))
    assert rating.by_organisation == "county-desk" and rating.rectification_opened
    (first_clerk, post) = system.sql("supervision", "SELECT first_clerk, first_clerk_post FROM cases "
                                                    "WHERE case_number = %s", [number])[0]
    assert (rating.by_person, rating.by_post) == (first_clerk, post)
    centre = system.supervision("county-centre")  # answers for its desk's acts; My duties of the clerk's post
    mine = centre.ListRectifications(spb.ListRectificationsRequest(open_only=True, post=post, person=first_clerk))
    assert rating.id in [i.rating_id for i in mine.items] and all(i.post == post for i in mine.items)
    assert not centre.ListRectifications(spb.ListRectificationsRequest(post=f"{post}-other")).items

    month = f"{local_day(SystemTime().now()):%Y-%m}"
    by_person = officer.GetFigures(spb.GetFiguresRequest(period=spb.Period(month=month), group_by=spb.PERSON))
    overall = officer.GetFigures(spb.GetFiguresRequest(period=spb.Period(month=month)))
    assert sum(f.counts["accepted"] for f in by_person.figures) == overall.figures[0].counts["accepted"] >= 2
    assert first_clerk in {f.key for f in by_person.figures}

    county = officer.GetAssessment(spb.GetAssessmentRequest(month=month))
    assert {"county-desk", "zhangqiao-desk"} <= {w.window for w in county.windows}
    assert county.red_flags == 3 and county.min_satisfaction_rate == 0.95  # the settings' defaults
    desk = next(w for w in county.windows if w.window == "county-desk")
    assert desk.name == "县行政服务中心咨询受理部" and desk.figures.counts["accepted"] >= 1
    assert desk.unrectified >= 1 and not desk.red_flag and desk.shortfalls  # the bad rating stands open
    manager = system.as_person(system.supervision_stub, *holder_of("centre_manager", "county-centre"))
    own = manager.GetAssessment(spb.GetAssessmentRequest(month=month))
    assert "county-desk" in {w.window for w in own.windows} and "zhangqiao-desk" not in {w.window for w in own.windows}
    assert _error(lambda: manager.GetAssessment(spb.GetAssessmentRequest(month=month, centre="zhangqiao-centre"))) \
        .code() == grpc.StatusCode.PERMISSION_DENIED
    assert _error(lambda: system.supervision("civil_affairs").GetAssessment(spb.GetAssessmentRequest(
        month=month))).code() == grpc.StatusCode.PERMISSION_DENIED
    bad = _error(lambda: officer.GetAssessment(spb.GetAssessmentRequest(month="2026-13")))
    assert field_violations(bad) == [("month", "a month (YYYY-MM) or from and to (YYYY-MM-DD)")]
    bad = _error(lambda: officer.GetAssessment(spb.GetAssessmentRequest(month=month, centre="county-desk")))
    assert field_violations(bad) == [("centre", "no centre 'county-desk'")]


def test_the_office_closes_a_suggestion_that_departments_and_leaders_only_read(system):
    month = f"{local_day(SystemTime().now()):%Y-%m}"
    (sid,) = system.sql("supervision", "INSERT INTO suggestions (department, month, reds, raised_on) "
                                       "VALUES ('forestry', %s, 3, CURRENT_DATE) RETURNING id", [month])[0]
    office, forestry, water = system.supervision(), system.supervision("forestry"), system.supervision("water")
    leader = system.as_person(system.supervision_stub, *holder_of("leader", "county-centre"))
    listed = spb.ListSuggestionsRequest(open_only=True)
    assert sid in [s.id for s in forestry.ListSuggestions(listed).suggestions]
    assert sid not in [s.id for s in water.ListSuggestions(listed).suggestions]
    assert _error(lambda: water.ListSuggestions(spb.ListSuggestionsRequest(department="forestry"))).code() \
        == grpc.StatusCode.PERMISSION_DENIED
    (seen,) = [s for s in leader.ListSuggestions(spb.ListSuggestionsRequest(department="forestry")).suggestions
               if s.id == sid]
    assert (seen.month, seen.reds, seen.closed_on, seen.HasField("closed_by")) == (month, 3, "", False)

    closing = spb.CloseSuggestionRequest(suggestion_id=sid, note="已约谈林业局，限期清理超时件")
    for refused in (leader, forestry):
        assert _error(lambda: refused.CloseSuggestion(closing)).code() == grpc.StatusCode.PERMISSION_DENIED
    bad = _error(lambda: office.CloseSuggestion(spb.CloseSuggestionRequest(suggestion_id=sid)))
    assert field_violations(bad) == [("note", "required")]
    closed = office.CloseSuggestion(closing)
    assert (closed.note, closed.closed_on, closed.closed_by.holder) == (closing.note, str(local_day(
        SystemTime().now())), "supervision")
    assert _error(lambda: office.CloseSuggestion(closing)).code() == grpc.StatusCode.FAILED_PRECONDITION
    assert sid not in [s.id for s in office.ListSuggestions(listed).suggestions]
    audited = system.sql("supervision", "SELECT result, person, holder FROM audit_log "
                                        "WHERE action = 'supervision.CloseSuggestion' ORDER BY seq")
    assert [r for r, _, _ in audited] == ["PERMISSION_DENIED", "PERMISSION_DENIED", "INVALID_ARGUMENT", "OK",
                                          "FAILED_PRECONDITION"]
    assert audited[3][1:] == ("", "supervision")
    assert system.sql("supervision", "SELECT DISTINCT target FROM audit_log "
                                     "WHERE action = 'supervision.CloseSuggestion'") == [(str(sid),)]


def test_the_warning_board_from_one_call_and_the_warnings_behind_a_number(system):
    number = system.intake.Submit(submission("MZ-001", "county-desk"), timeout=10).case_number
    (task,) = tasks_of(system.desk("civil_affairs"), number)
    wait_until(lambda: system.sql("supervision", "SELECT 1 FROM clocks WHERE step = 'task' AND ref = %s",
                                  [task.task_id]), what="the task's clock")
    today = str(local_day(SystemTime().now()))
    system.sql("supervision", "UPDATE clocks SET yellow_on = NULL, red_on = %s WHERE step = 'task' AND ref = %s",
               [today, task.task_id])
    leader = system.as_person(system.supervision_stub, *holder_of("leader", "county-centre"))
    filters = spb.WarningFilters(item="MZ-001", level="county", centre="county-centre", open_only=True)
    listed = spb.ListWarningsRequest(colour=spb.RED, filters=filters)  # any day
    warning = wait_until(lambda: next((w for w in leader.ListWarnings(listed).warnings if w.case_number == number),
                                      None), what="the red warning")
    assert (warning.item_code, warning.organisation, warning.level, warning.centre, warning.department) == (
        "MZ-001", task.organisation, "county", "county-centre", "civil_affairs")

    board = leader.CountWarnings(spb.CountWarningsRequest(period=spb.Period(**{"from": today, "to": today}),
                                                          group_by=spb.CENTRE, filters=filters))
    assert (getattr(board, "from"), board.to) == (today, today)
    (county,) = board.counts
    in_db = system.sql("supervision", "SELECT count(*) FROM warnings w JOIN clocks c ON c.id = w.clock_id "
                                      "WHERE w.raised_on = %s AND w.colour = 'red' AND c.organisation = %s "
                                      "AND w.replied_on IS NULL", [today, task.organisation])[0][0]
    assert county.key == "county-centre" and county.red == county.open_red >= in_db >= 1
    own = system.supervision("civil_affairs").CountWarnings(spb.CountWarningsRequest(group_by=spb.DEPARTMENT))
    assert [c.key for c in own.counts] == ["civil_affairs"]
    assert _error(lambda: system.supervision("water").CountWarnings(spb.CountWarningsRequest(
        department="civil_affairs"))).code() == grpc.StatusCode.PERMISSION_DENIED
    bad = _error(lambda: leader.CountWarnings(spb.CountWarningsRequest(group_by=spb.PERSON)))
    assert [f for f, _ in field_violations(bad)] == ["group_by"]
    bad = _error(lambda: leader.ListWarnings(spb.ListWarningsRequest(filters=spb.WarningFilters(
        level="province", centre="county-desk"))))
    assert {f for f, _ in field_violations(bad)} == {"level", "centre"}
    bad = _error(lambda: leader.GetFigures(spb.GetFiguresRequest(period=spb.Period(month="2026-03"), group_by=99)))
    assert [f for f, _ in field_violations(bad)] == ["group_by"]


def test_the_leader_on_duty_signs_the_days_summary_of_their_centre_once(system):
    number = concluded_case(system)  # accepted at the county desk and concluded today
    today = str(local_day(SystemTime().now()))
    leader_id = holder_of("leader", "county-centre")
    leader = system.as_person(system.supervision_stub, *leader_id)
    township_leader = system.as_person(system.supervision_stub, *holder_of("leader", "zhangqiao-centre"))
    manager = system.as_person(system.supervision_stub, *holder_of("centre_manager", "zhangqiao-centre"))

    summary = leader.GetDaySummary(spb.DaySummaryRequest())  # today, the leader's own centre
    assert (summary.day, summary.centre, summary.signed, summary.HasField("signed_by")) == (
        today, "county-centre", False, False)
    accepted = system.sql("supervision", "SELECT count(*) FROM cases WHERE accepted_on = %s "
                                         "AND organisation = 'county-desk'", [today])[0][0]
    desk = next(w for w in summary.windows if w.window == "county-desk")
    assert desk.accepted == accepted >= 1 and summary.accepted >= desk.accepted and summary.concluded >= 1
    assert system.sql("supervision", "SELECT organisation FROM cases WHERE case_number = %s", [number]) == [
        ("county-desk",)]
    assert _error(lambda: manager.GetDaySummary(spb.DaySummaryRequest(centre="county-centre"))).code() \
        == grpc.StatusCode.PERMISSION_DENIED
    assert system.supervision().GetDaySummary(spb.DaySummaryRequest(centre="county-centre")).accepted \
        == summary.accepted

    for refused in (township_leader, manager, system.supervision(), system.supervision("civil_affairs")):
        assert _error(lambda: refused.SignDaySummary(spb.DaySummaryRequest(centre="county-centre"))).code() \
            == grpc.StatusCode.PERMISSION_DENIED
    bad = _error(lambda: leader.SignDaySummary(spb.DaySummaryRequest(day="2999-01-01")))
    assert field_violations(bad) == [("day", "today or a day before")]
    signed = leader.SignDaySummary(spb.DaySummaryRequest(day=today))
    assert signed.signed and (signed.signed_by.person, signed.signed_by.post) == leader_id and signed.signed_at
    assert leader.GetDaySummary(spb.DaySummaryRequest()).signed_by.person == leader_id[0]
    assert _error(lambda: leader.SignDaySummary(spb.DaySummaryRequest())).code() \
        == grpc.StatusCode.FAILED_PRECONDITION
    assert system.sql("supervision", "SELECT result, person FROM audit_log WHERE action = "
                                     "'supervision.SignDaySummary' AND result IN ('OK', 'FAILED_PRECONDITION') "
                                     "ORDER BY seq") == [("OK", leader_id[0]), ("FAILED_PRECONDITION", leader_id[0])]


def test_the_office_issues_the_monthly_bulletin_and_leaders_read_it_back(system):
    pdf = "%PDF-1.7\n县政务服务中心效能通报\n%%EOF".encode()
    month = f"{local_day(SystemTime().now()):%Y-%m}"
    office, leader = system.supervision(), system.as_person(system.supervision_stub,
                                                             *holder_of("leader", "county-centre"))
    officer_id = holder_of("supervision_officer", "county-centre")
    officer = system.as_person(system.supervision_stub, *officer_id)
    request = spb.IssueBulletinRequest(request_id=uuid.uuid4().hex, month=month, pdf=pdf, summary='{"accepted": 3}')
    for refused in (leader, system.supervision("civil_affairs")):
        assert _error(lambda: refused.IssueBulletin(request)).code() == grpc.StatusCode.PERMISSION_DENIED
    first = officer.IssueBulletin(request)
    assert (first.month, first.version, first.size_bytes, first.pdf) == (month, 1, len(pdf), b"")
    assert (first.issued_by.person, first.issued_by.post) == officer_id
    assert office.IssueBulletin(request).id == first.id  # the same request again
    second = office.IssueBulletin(spb.IssueBulletinRequest(request_id=uuid.uuid4().hex, month=month, pdf=pdf))
    assert second.version == 2 and second.issued_by.holder == "supervision"

    listed = leader.ListBulletins(spb.ListBulletinsRequest(month=month, page_size=1))
    assert [b.id for b in listed.bulletins] == [second.id] and listed.next_page_token
    rest = leader.ListBulletins(spb.ListBulletinsRequest(month=month, page_token=listed.next_page_token))
    assert [b.version for b in rest.bulletins] == [1] and not rest.bulletins[0].pdf
    got = leader.GetBulletin(spb.GetBulletinRequest(bulletin_id=first.id))
    assert (got.pdf, got.summary, got.version) == (pdf, '{"accepted": 3}', 1)
    assert _error(lambda: leader.GetBulletin(spb.GetBulletinRequest(bulletin_id=987654))).code() \
        == grpc.StatusCode.NOT_FOUND
    assert _error(lambda: system.supervision("civil_affairs").GetBulletin(spb.GetBulletinRequest(
        bulletin_id=first.id))).code() == grpc.StatusCode.PERMISSION_DENIED
    assert system.sql("supervision", "SELECT result, target FROM audit_log WHERE action = 'supervision.GetBulletin'"
                      ) == [("PERMISSION_DENIED", str(first.id))]  # a refusal is recorded, with its bulletin
    assert _error(lambda: system.supervision("civil_affairs").ListBulletins(spb.ListBulletinsRequest())).code() \
        == grpc.StatusCode.PERMISSION_DENIED
    too_big = pdf + b"0" * (3 * 1024 * 1024)
    bad = _error(lambda: office.IssueBulletin(spb.IssueBulletinRequest(request_id="big", month=month, pdf=too_big)))
    assert field_violations(bad) == [("pdf", f"at most 3 MB ({len(too_big)} bytes given)")]
