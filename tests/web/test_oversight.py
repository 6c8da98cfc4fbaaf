"""The supervision office's pages below the browser (Starlette's test client; the APIs of an
in-process hall on the real PostgreSQL, its clock moved on so that warnings fall due): the warning
board by department and 督办 with its errors kept, the department's reply on its duties page and a
late reply warning again, the complaint register, the rectification ledger's follow-up and
review, the faults; and no page or act for anyone but the office."""
from __future__ import annotations

import datetime as dt
import json
import re
import uuid

import pytest
from onewindow.intake.v1 import intake_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.testclient import TestClient

from tests.conftest import in_process_hall
from tests.flow_steps import submission
from tests.web.test_pages import PROXY, csrf_of
from tests.web.test_work import signed_in
from web_front.run import application

CIVIL = "county-window-civil-affairs"
OFFICER, HANDLER, CLERK, LEADER = "SX0004", "SX0018", "SX0008", "SX0002"
CHINA = dt.timezone(dt.timedelta(hours=8))


class ShiftedTime:
    """The clock of a hall that runs `shift` behind the real one (it ticks: credentials issued after a
    password change must come later than the change)."""

    def __init__(self, shift: dt.timedelta):
        self.shift = shift

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.timezone.utc) - self.shift


@pytest.fixture(scope="module")
def time():
    return ShiftedTime(dt.timedelta(days=45))


@pytest.fixture(scope="module")
def hall(tmp_path_factory, time):
    """The hall, with a civil affairs case accepted 45 days ago and left undone: its warnings fell
    due today (the hall's clock is then today's, as the credentials of signed-in people need)."""
    with in_process_hall(tmp_path_factory.mktemp("office"), time=time, web_trusted_proxies=PROXY,
                         suggestion_after_reds=1) as running:
        number = running.intake_as(CIVIL).Submit(submission("MZ-001", CIVIL)).case_number
        running.system.drain()
        time.shift = dt.timedelta(0)
        running.system.run_timers()
        running.overdue = number, time.now().astimezone(CHINA).date()
        yield running


@pytest.fixture
def browser(hall):
    with TestClient(application(hall.settings), base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


@pytest.fixture
def overdue(hall):
    return hall.overdue


def warnings_of(hall, number: str | None) -> list:
    """The warnings of a case (None: of no case, such as an instruction's) raised in the last 50 days
    or the next 10."""
    today = dt.date.today()
    period = spb.Period(**{"from": (today - dt.timedelta(days=50)).isoformat(),
                           "to": (today + dt.timedelta(days=10)).isoformat()})
    reply = hall.supervision().ListWarnings(spb.ListWarningsRequest(period=period, page_size=500))
    return [w for w in reply.warnings if w.case_number == (number or "")]


def test_the_board_counts_by_department_and_the_office_instructs_with_its_errors_kept(browser, hall, overdue):
    number, day = overdue
    red = next(w for w in warnings_of(hall, number) if w.colour == spb.RED and not w.withdrawn_on)
    officer = signed_in(browser, hall, OFFICER)
    assert officer.get("/sign-in", follow_redirects=False).headers["location"] == "/office"
    period = {"from": day.isoformat(), "to": day.isoformat()}
    board = officer.get("/office", params=period)
    assert board.status_code == 200 and "预警督办" in board.text
    row = re.search(r'<th scope="row"><a [^>]*department=civil_affairs">([^<]+)</a></th>(.*?)</tr>', board.text, re.S)
    assert row and int(re.search(r"colour=red\">(\d+)<", row.group(2)).group(1)) >= 1
    assert f'href="/office/cases/{number}"' in board.text
    wanted = officer.get("/office", params={**period, "department": "civil_affairs", "colour": "red"})
    assert f'id="warning-{red.id}"' in wanted.text and "黄牌</span>" not in wanted.text

    empty = officer.post(f"/office/warnings/{red.id}/instruct", data={
        "csrf": csrf_of(board), "instruction": "", "reply_days": "99", "back": "department=civil_affairs"})
    assert empty.status_code == 400 and f'href="#instruction-{red.id}"' in empty.text
    assert f'id="reply_days-{red.id}" name="reply_days" type="text" value="99"' in empty.text
    assert not next(w for w in warnings_of(hall, number) if w.id == red.id).instruction
    done = officer.post(f"/office/warnings/{red.id}/instruct", data={
        "csrf": csrf_of(board), "instruction": "请说明超期原因并于期限内办结", "reply_days": "2",
        "back": "department=civil_affairs&colour=red"}, follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/office?department=civil_affairs")
    instructed = next(w for w in warnings_of(hall, number) if w.id == red.id)
    assert instructed.instruction == "请说明超期原因并于期限内办结" and instructed.instructed_by.person == OFFICER
    by_level = officer.get("/office", params={**period, "by": "level"})
    assert '<th scope="col">层级</th>' in by_level.text and "县政务服务中心</a></th>" in by_level.text
    shown = officer.get("/office", params={**period, "state": "instructed"})
    assert "请说明超期原因并于期限内办结" in shown.text and "已督办待答复" in shown.text


def test_a_case_record_shows_its_history_and_progress_with_the_applicant_masked(browser, hall, overdue):
    number, _ = overdue
    officer = signed_in(browser, hall, OFFICER)
    page = officer.get(f"/office/cases/{number}")
    assert page.status_code == 200 and "各部门办理进度" in page.text and "办理记录" in page.text
    case = hall.intake_as(CIVIL).GetCase(ipb.GetCaseRequest(case_number=number))
    assert case.applicant.id_number not in page.text and case.applicant.phone not in page.text
    assert officer.get("/office/cases/999999999999999").status_code == 404


def test_the_office_registers_a_phone_complaint_for_a_person_with_its_clock(browser, hall):
    officer = signed_in(browser, hall, OFFICER)
    page = officer.get("/office/complaints")
    missing = officer.post("/office/complaints", data={
        "csrf": csrf_of(page), "request_id": "r1", "channel": "phone", "department": "", "text": "",
        "contact_name": "钱女士", "contact_phone": "13955501234"})
    assert missing.status_code == 400 and 'href="#text"' in missing.text and 'href="#department"' in missing.text
    assert 'value="钱女士"' in missing.text
    assert 'id="channel-phone" name="channel" value="phone" checked' in missing.text
    request_id = uuid.uuid4().hex
    data = {"csrf": csrf_of(page), "request_id": request_id, "channel": "phone", "department": "civil_affairs",
            "text": "窗口人员态度生硬", "contact_name": "钱女士", "contact_phone": "13955501234"}
    done = officer.post("/office/complaints", data=data, follow_redirects=False)
    assert done.status_code == 303
    number = re.search(r"registered=(\d+)", done.headers["location"]).group(1)
    again = officer.post("/office/complaints", data=data, follow_redirects=False)  # a double click: the same one
    assert re.search(r"registered=(\d+)", again.headers["location"]).group(1) == number
    listed = officer.get(done.headers["location"])
    assert f"编号 {number}" in listed.text and "窗口人员态度生硬" in listed.text and "未答复" in listed.text
    complaint = next(c for c in hall.supervision().ListComplaints(spb.ListComplaintsRequest(page_size=100)).complaints
                     if c.id == int(number))
    assert complaint.channel == spb.PHONE and complaint.registered_by.person == OFFICER and complaint.deadline


def test_the_office_registers_that_an_agent_took_a_fee_against_the_agent(browser, hall):
    """无偿代办 (seeds/004): a complaint that an agent took a fee is its own kind, against the agent."""
    officer = signed_in(browser, hall, OFFICER)
    page = officer.get("/office/complaints")
    data = {"csrf": csrf_of(page), "request_id": uuid.uuid4().hex, "kind": "agent_fee", "channel": "phone",
            "case_number": "", "agent": "", "text": "代办员收了50元跑腿费", "contact_phone": "13955501235"}
    nobody = officer.post("/office/complaints", data=data)
    assert nobody.status_code == 400 and 'href="#agent"' in nobody.text and 'href="#department"' not in nobody.text
    assert 'id="kind-agent_fee" name="kind" value="agent_fee" checked' in nobody.text and "跑腿费" in nobody.text
    done = officer.post("/office/complaints", data={**data, "agent": "agent-zhangqiao-liugang"},
                        follow_redirects=False)
    assert done.status_code == 303
    number = int(re.search(r"registered=(\d+)", done.headers["location"]).group(1))
    assert "代办员收费：刘岗村代办员（村委会副主任）" in officer.get(done.headers["location"]).text
    complaint = next(c for c in hall.supervision().ListComplaints(spb.ListComplaintsRequest(page_size=500)).complaints
                     if c.id == number)
    # answered by the supervision office itself, no case naming a department
    assert (complaint.kind, complaint.agent, complaint.department) == (spb.AGENT_FEE, "agent-zhangqiao-liugang",
                                                                       "supervision")


def test_the_ledger_records_a_follow_up_call_and_reviews_an_appeal(browser, hall, time):
    request = submission("MZ-001", CIVIL)
    number = hall.intake_as(CIVIL).Submit(request).case_number
    hall.system.drain()
    rating = hall.supervision().Rate(spb.RateRequest(
        request_id=uuid.uuid4().hex, case_number=number, channel=spb.ONLINE, level=1, rater="applicant",
        comment="材料要求多", named=True))
    assert rating.rectification_opened
    officer = signed_in(browser, hall, OFFICER)
    page = officer.get("/office/rectifications")
    assert f'id="item-{rating.id}"' in page.text and "材料要求多" in page.text and "未整改" in page.text
    empty = officer.post(f"/office/rectifications/{rating.id}/follow-up", data={"csrf": csrf_of(page), "outcome": ""})
    assert empty.status_code == 400 and f'href="#outcome-{rating.id}-follow-up"' in empty.text
    done = officer.post(f"/office/rectifications/{rating.id}/follow-up", data={
        "csrf": csrf_of(page), "outcome": "已电话回访，申请人表示理解"}, follow_redirects=False)
    assert done.status_code == 303
    item = _item(hall, rating.id)
    assert item.follow_up == "已电话回访，申请人表示理解" and item.followed_up_by.person == OFFICER

    appealer = hall.supervision(item.department or CIVIL)  # the rated window's department answers for it
    appealer.Appeal(spb.AppealRequest(rating_id=rating.id, reason="申请人材料不全，已一次性告知"))
    page = officer.get("/office/rectifications")
    half = officer.post(f"/office/rectifications/{rating.id}/review", data={
        "csrf": csrf_of(page), "note": "经核查属实"})
    assert half.status_code == 400 and f'href="#upheld-{rating.id}-review"' in half.text and "经核查属实" in half.text
    assert not _item(hall, rating.id).appeal_reviewed
    officer.post(f"/office/rectifications/{rating.id}/review", data={
        "csrf": csrf_of(page), "upheld": "yes", "note": "经核查属实"})
    reviewed = _item(hall, rating.id)
    assert reviewed.appeal_reviewed and reviewed.appeal_upheld and reviewed.reviewed_by.person == OFFICER


def _item(hall, rating_id: int):
    reply = hall.supervision().ListRectifications(spb.ListRectificationsRequest(page_size=500))
    return next(i for i in reply.items if i.rating_id == rating_id)


def test_the_office_closes_a_supervision_suggestion_with_its_note(browser, hall, overdue):
    officer = signed_in(browser, hall, OFFICER)
    page = officer.get("/office/suggestions")
    (suggestion, *_) = [s for s in hall.supervision().ListSuggestions(spb.ListSuggestionsRequest()).suggestions
                        if s.department == "civil_affairs"]
    assert f'id="suggestion-{suggestion.id}"' in page.text and "待审查" in page.text
    empty = officer.post(f"/office/suggestions/{suggestion.id}/close", data={"csrf": csrf_of(page), "note": " "})
    assert empty.status_code == 400 and f'href="#note-{suggestion.id}"' in empty.text
    done = officer.post(f"/office/suggestions/{suggestion.id}/close", data={
        "csrf": csrf_of(page), "note": "约谈民政局分管负责人，责令限期整改"}, follow_redirects=False)
    assert done.status_code == 303
    closed = next(s for s in hall.supervision().ListSuggestions(spb.ListSuggestionsRequest()).suggestions
                  if s.id == suggestion.id)
    assert closed.closed_on and closed.closed_by.person == OFFICER and closed.note.startswith("约谈")
    again = officer.post(f"/office/suggestions/{suggestion.id}/close", data={"csrf": csrf_of(page), "note": "再次"})
    assert again.status_code == 400 and "未能办结" in again.text


def test_faults_show_an_applicant_accepted_twice(browser, hall, time):
    first = submission("MZ-001", CIVIL)
    hall.intake_as(CIVIL).Submit(first)
    second = submission("MZ-001", "zhangqiao-window-civil-affairs")
    second.applicant.CopyFrom(first.applicant)
    number = hall.intake_as("zhangqiao-window-civil-affairs").Submit(second).case_number
    hall.system.drain()
    officer = signed_in(browser, hall, OFFICER)
    day = time.now().astimezone(CHINA).date().isoformat()
    page = officer.get("/office/faults", params={"from": day, "to": day})
    assert page.status_code == 200 and "两头受理：<strong>1</strong>" in page.text
    assert f'href="/office/cases/{number}"' in page.text


def test_no_one_but_the_office_is_served_its_pages_or_acts(browser, hall, overdue):
    number, _ = overdue
    warning = warnings_of(hall, number)[0]
    for staff_number in (CLERK, HANDLER, LEADER):
        party = signed_in(browser, hall, staff_number)
        assert party.get("/office").status_code == 403
        me = party.get("/me")
        forged = party.post(f"/office/warnings/{warning.id}/instruct", data={
            "csrf": csrf_of(me), "instruction": "伪造的督办"})
        assert forged.status_code == 403
    assert all(w.instruction != "伪造的督办" for w in warnings_of(hall, number))


# --- leaders -------------------------------------------------------------------------------------

def _figures(hall, month: str, group_by=spb.OVERALL) -> list:
    return list(hall.supervision().GetFigures(spb.GetFiguresRequest(period=spb.Period(month=month),
                                                                    group_by=group_by)).figures)


def test_a_leader_reads_the_figures_by_department_as_charts_and_tables(browser, hall, overdue):
    hall.intake_as(CIVIL).Submit(submission("MZ-001", CIVIL))
    hall.system.drain()
    leader = signed_in(browser, hall, LEADER)
    assert leader.get("/sign-in", follow_redirects=False).headers["location"] == "/leaders"
    month = dt.date.today().strftime("%Y-%m")
    page = leader.get("/leaders", params={"month": month, "by": "department"})
    assert page.status_code == 200 and page.text.count('<svg class="chart" role="img"') == 3
    civil = next(f for f in _figures(hall, month, spb.DEPARTMENT) if f.key == "civil_affairs")
    row = re.search(r'<table id="figures">.*?<th scope="row">民政局</th>(.*?)</tr>', page.text, re.S)
    cells = re.findall(r"<td>(?:<a href=\"([^\"]+)\">)?(\d+)(?:</a>)?</td>", row.group(1))
    link, accepted = cells[1]  # received, then accepted
    assert int(accepted) == civil.counts["accepted"] > 0
    listed = leader.get(link.replace("&amp;", "&"))
    assert listed.status_code == 200 and len(re.findall(r"<tr><td>\d{15}</td>", listed.text)) == int(accepted)
    wrong = leader.get("/leaders", params={"from": "2026-13-01", "by": "nonsense"})
    assert wrong.status_code == 200 and "起止日期的格式" in wrong.text
    assert not re.search(r'<form method="post"(?! action="/sign-out")', page.text)  # a leader's page offers no act


def test_the_monthly_bulletin_pdf_holds_the_figures_of_the_month(browser, hall, overdue):
    from tests.e2e.browser import pdf_bytes_text

    leader = signed_in(browser, hall, LEADER)
    month = dt.date.today().strftime("%Y-%m")
    html = leader.get(f"/bulletins/{month}")
    assert html.status_code == 200 and "七项指标" in html.text and 'href="/bulletins/' + month + '.pdf"' in html.text
    answer = leader.get(f"/bulletins/{month}.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = pdf_bytes_text(answer.content)
    (county,) = _figures(hall, month)
    assert f"本月受理 {county.counts['accepted']} 件，办结 {county.counts['concluded']} 件" in text.replace("\n", "")
    for name in ("on_time_rate", "satisfaction_rate", "complaint_rate"):
        shown = f"{getattr(county, name) * 100:.1f}%" if county.HasField(name) else "—"
        assert shown in text
    assert leader.get("/bulletins/2026-13").status_code == 404 and leader.get("/bulletins/2999-01").status_code == 404
    assert signed_in(browser, hall, CLERK).get(f"/bulletins/{month}").status_code == 403
    assert leader.post(f"/bulletins/{month}", data={"csrf": csrf_of(leader.get("/me"))}).status_code == 403

    officer = signed_in(browser, hall, OFFICER)  # the office issues it: archived by supervision
    page = officer.get(f"/bulletins/{month}")
    assert "本月通报尚未发布" in page.text
    issued = officer.post(f"/bulletins/{month}", data={"csrf": csrf_of(page), "request_id": csrf_of(page)[:20]},
                          follow_redirects=False)
    assert issued.status_code == 303
    (archived,) = hall.supervision().ListBulletins(spb.ListBulletinsRequest(month=month)).bulletins
    assert archived.issued_by.person == OFFICER
    assert json.loads(archived.summary)["accepted"] == county.counts["accepted"]
    listed = leader.get(f"/bulletins/{month}")
    assert f'href="/bulletins/issued/{archived.id}.pdf"' in listed.text
    kept = leader.get(f"/bulletins/issued/{archived.id}.pdf")
    assert kept.headers["content-type"] == "application/pdf" and "七项指标" in pdf_bytes_text(kept.content)


def test_a_forged_post_from_a_leaders_session_is_refused_and_writes_nothing(browser, hall, overdue):
    number, _ = overdue
    leader = signed_in(browser, hall, LEADER)
    csrf = csrf_of(leader.get("/me"))
    warning = warnings_of(hall, number)[-1]
    for path, data in ((f"/office/warnings/{warning.id}/instruct", {"instruction": "领导伪造"}),
                       ("/office/complaints", {"channel": "phone", "department": "civil_affairs", "text": "领导伪造"}),
                       ("/desk/apply/MZ-001", {"answer": "consult"}),
                       ("/work/tasks/x.1/decide", {"decision": "approve"})):
        assert leader.post(path, data={"csrf": csrf, **data}).status_code == 403, path
    assert all(w.instruction != "领导伪造" for w in warnings_of(hall, number))
    complaints = hall.supervision().ListComplaints(spb.ListComplaintsRequest(page_size=500)).complaints
    assert all(c.text != "领导伪造" for c in complaints)


def test_the_leader_on_duty_signs_the_days_summary_once(browser, hall, overdue):
    officer = signed_in(browser, hall, OFFICER)
    read = officer.get("/leaders/day")
    assert read.status_code == 200 and "县政务服务中心" in read.text and "签字确认" not in read.text
    assert officer.post("/leaders/day", data={"csrf": csrf_of(read)}).status_code == 403  # the office reads only
    leader = signed_in(browser, hall, LEADER)
    page = leader.get("/leaders/day")
    assert "满意" in page.text and "签字确认" in page.text
    summary = hall.supervision().GetDaySummary(spb.DaySummaryRequest(centre="county-centre"))
    assert f"<dt>受理</dt><dd>{summary.accepted}</dd>" in page.text and not summary.signed
    signed = leader.post("/leaders/day", data={"csrf": csrf_of(page), "day": summary.day}, follow_redirects=False)
    assert signed.status_code == 303
    after = hall.supervision().GetDaySummary(spb.DaySummaryRequest(centre="county-centre"))
    assert after.signed and after.signed_by.person == LEADER
    shown = leader.get(signed.headers["location"])
    assert 'id="signed"' in shown.text and "签字确认" not in shown.text
    again = leader.post("/leaders/day", data={"csrf": csrf_of(page), "day": summary.day})
    assert again.status_code == 409 and "已经签字" in again.text
    assert leader.get("/leaders/day", params={"day": "2999-01-01"}).status_code == 404


# --- a department's duties -----------------------------------------------------------------------

def test_the_department_replies_on_its_duties_page_and_a_late_reply_warns_again(browser, hall, overdue, time):
    number, day = overdue
    warning = next(w for w in warnings_of(hall, number) if not w.instruction and not w.withdrawn_on
                   and w.step in ("case", "task"))
    hall.supervision().Instruct(spb.InstructRequest(warning_id=warning.id, instruction="请当日说明情况", reply_days=1))
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get("/duties")
    assert page.status_code == 200 and "请当日说明情况" in page.text and f'id="instruction-{warning.id}"' in page.text
    empty = handler.post(f"/duties/reply/{warning.id}", data={"csrf": csrf_of(page), "reply": ""})
    assert empty.status_code == 400 and f'href="#reply-reply-{warning.id}"' in empty.text
    time.shift = -dt.timedelta(days=4)  # the reply's day passes unanswered
    try:
        hall.system.run_timers()
        late = [w for w in warnings_of(hall, None) if w.step == "instruction" and w.department == "civil_affairs"]
        assert late, "an instruction left unanswered past its day warns in turn"
        done = handler.post(f"/duties/reply/{warning.id}", data={
            "csrf": csrf_of(page), "reply": "已办结，超期原因是申请人补正材料延误"}, follow_redirects=False)
        assert done.status_code == 303
    finally:
        time.shift = dt.timedelta(0)
    replied = next(w for w in warnings_of(hall, number) if w.id == warning.id)
    assert replied.replied_by.person == HANDLER and replied.replied_on > replied.reply_by
    officer = signed_in(browser, hall, OFFICER)
    board = officer.get("/office", params={"from": day.isoformat(), "to": (day + dt.timedelta(days=5)).isoformat(),
                                           "state": "late"})
    assert f'id="warning-{warning.id}"' in board.text and "逾期答复" in board.text


def test_the_window_rectifies_a_bad_rating_and_answers_a_complaint_on_its_duties_page(browser, hall):
    number = hall.intake_as(CIVIL).Submit(submission("MZ-001", CIVIL)).case_number
    hall.system.drain()
    rating = hall.supervision().Rate(spb.RateRequest(request_id=uuid.uuid4().hex, case_number=number, level=2,
                                                     channel=spb.ONLINE, rater="applicant", comment="等候时间长"))
    complaint = hall.supervision().Complain(spb.ComplainRequest(
        request_id=uuid.uuid4().hex, channel=spb.LETTER, department="civil_affairs", text="来信反映办事慢"))
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get("/duties")
    assert f'id="item-{rating.id}"' in page.text and f'id="complaint-{complaint.id}"' in page.text
    half = handler.post(f"/duties/rectify/{rating.id}", data={"csrf": csrf_of(page), "note": "增设取号提醒"})
    assert half.status_code == 400 and f'href="#resolution-rectify-{rating.id}"' in half.text
    assert ">增设取号提醒</textarea>" in half.text
    handler.post(f"/duties/rectify/{rating.id}", data={"csrf": csrf_of(page), "resolution": "fixed",
                                                        "note": "增设取号提醒"})
    item = _item(hall, rating.id)
    assert item.resolution == spb.FIXED and item.resolved_by.person == HANDLER
    handler.post(f"/duties/answer/{complaint.id}", data={"csrf": csrf_of(page), "answer": "已约谈窗口人员并改进"})
    answered = next(c for c in hall.supervision().ListComplaints(spb.ListComplaintsRequest(page_size=500)).complaints
                    if c.id == complaint.id)
    assert answered.answer == "已约谈窗口人员并改进" and answered.answered_by.person == HANDLER
    clerk = signed_in(browser, hall, CLERK)  # a desk's clerk: the rectifications of its acceptances only
    desk = clerk.get("/duties")
    assert desk.status_code == 200 and "督办待答复" not in desk.text and "差评待整改" in desk.text
    assert signed_in(browser, hall, LEADER).get("/duties").status_code == 403


# --- in a real browser ---------------------------------------------------------------------------

def test_the_office_leaders_and_duties_pages_pass_axe_in_each_state(hall, chromium, front, overdue):
    from playwright.sync_api import expect

    from tests.e2e.browser import check, sign_in_page

    number, day = overdue
    with chromium.new_context(locale="zh-CN", base_url=front) as context:
        page = context.new_page()
        sign_in_page(page, hall, OFFICER)
        expect(page.locator("h1")).to_have_text("预警督办")
        page.goto(f"/office?from={day.isoformat()}&to={(day + dt.timedelta(days=5)).isoformat()}")
        check(page, "warning board")
        page.locator("details summary").first.click()
        page.locator("details[open] button[type=submit]").click()  # 督办 without its text
        expect(page.locator("#error-summary")).to_be_focused()
        check(page, "instruct with errors")
        for path in (f"/office/cases/{number}", "/office/faults", "/office/rectifications", "/office/suggestions",
                     "/leaders", "/leaders?by=centre", f"/leaders/cases?by=overall&count=accepted&from={day}&to={day}",
                     "/leaders/day", f"/bulletins/{day.strftime('%Y-%m')}"):
            page.goto(path)
            check(page, path)
        page.goto("/office/complaints")
        page.click("main form[method=post] button[type=submit]")
        expect(page.locator("#error-summary")).to_be_focused()
        check(page, "complaint register with errors")
    with chromium.new_context(locale="zh-CN", base_url=front) as context:
        page = context.new_page()
        sign_in_page(page, hall, HANDLER)
        page.goto("/duties")
        check(page, "duties")
    with chromium.new_context(locale="zh-CN", base_url=front) as context:
        page = context.new_page()
        sign_in_page(page, hall, LEADER)
        page.goto("/leaders/day")
        check(page, "day summary to sign")
