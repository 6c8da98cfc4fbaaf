"""The department's pages below the browser (Starlette's test client; the APIs of an in-process
hall on the real PostgreSQL): the worklist of a handler and of a signer, the task page's acts
under the desk API's rules with their errors kept, the sign-off chain, another office's task
refused with nothing written, and one upstream stream of new work per organisation. The decision by keyboard
in a real browser is in tests/e2e/test_web.py."""
from __future__ import annotations

import asyncio
import datetime as dt
import re
import uuid

import pytest
from onewindow.desk.v1 import desk_pb2 as dpb
from starlette.testclient import TestClient

from tests.conftest import in_process_hall
from tests.flow_steps import submission
from tests.web.test_desk import Party
from tests.web.test_pages import PROXY, csrf_of, post
from web_front.run import application
from web_front.work_feed import WorkFeed

CIVIL = "county-window-civil-affairs"
HANDLER = "SX0018"  # the A handler of the county civil affairs window
TOWNSHIP_HANDLER = "SX0094"  # the A handler of Zhangqiao's civil affairs window
LAND = "county-window-land-resources"  # GT-002 is signed off by its approver and checker


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    with in_process_hall(tmp_path_factory.mktemp("work"), web_trusted_proxies=PROXY) as running:
        yield running


@pytest.fixture
def browser(hall):
    with TestClient(application(hall.settings), base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


REFORM = "county-window-development-reform"  # the lead department of investment projects (发改)
POSTS = {"SX0018": f"{CIVIL}/handler/1", "SX0094": "zhangqiao-window-civil-affairs/handler/1",
         "SX0034": f"{LAND}/handler/1", "SX0046": f"{REFORM}/handler/1"}


def signed_in(browser, hall, staff_number: str) -> Party:
    """A party signed in as `staff_number` at its handler post when it holds several (a first
    password, changed at once)."""
    from tooling.people import set_first_passwords

    (first,) = set_first_passwords(hall.settings, [staff_number], replace=True)
    party, post_id = Party(browser), POSTS.get(staff_number, "")
    page = post(party, "/sign-in", {"staff_number": staff_number, "password": first.password, "post_id": post_id})
    password = f"Work-{uuid.uuid4().hex[:8]}-9"
    party.post("/password", data={"csrf": csrf_of(page), "first": "1", "staff_number": staff_number,
                                  "current_password": first.password, "new_password": password,
                                  "repeat_password": password, "post_id": post_id})
    return party


def new_case(hall, item="MZ-001", organisation=CIVIL, **form) -> str:
    request = submission(item, organisation)
    request.form.update(form)
    number = hall.intake_as(organisation).Submit(request).case_number
    hall.system.drain()
    return number


def task_of(hall, department: str, number: str) -> dpb.Task:
    (task,) = hall.desk(department).ListTasks(dpb.ListTasksRequest(case_number=number)).tasks
    return task


def test_a_handler_lands_on_the_worklist_nearest_deadline_first_with_days_used_and_left(browser, hall):
    first, second = new_case(hall), new_case(hall)
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get("/work")
    assert page.status_code == 200 and 'href="/work"' in page.text and 'href="/desk"' not in page.text
    rows = re.findall(r'<a href="/work/tasks/([\d.\w_]+)">(\d{15})</a>', page.text)
    numbers = [n for _, n in rows]
    assert first in numbers and second in numbers and numbers.index(first) < numbers.index(second)
    assert re.search(r"已用 0 / 剩余 \d+", page.text)
    filtered = handler.get("/work", params={"state": "suspended"})
    assert first not in filtered.text and "没有待办" in filtered.text
    assert 'data-work-events="/work/events?after=' in page.text
    landing = signed_in(browser, hall, HANDLER)  # a fresh sign-in goes to the worklist
    assert landing.get("/sign-in", follow_redirects=False).headers["location"] == "/work"


def test_a_clerk_or_the_supervision_office_is_not_served_the_worklist(browser, hall):
    assert signed_in(browser, hall, "SX0008").get("/work").status_code == 403
    assert signed_in(browser, hall, "SX0004").get("/work/tasks/x").status_code == 403


def test_the_handler_asks_for_material_once_then_decides_with_errors_kept(browser, hall):
    number = new_case(hall)
    task = task_of(hall, "civil_affairs", number)
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get(f"/work/tasks/{task.task_id}")
    assert page.status_code == 200 and "等待期间停止计时" in page.text and "各部门办理进度" in page.text
    empty = handler.post(f"/work/tasks/{task.task_id}/supplement", data={"csrf": csrf_of(page), "note": "请补齐"})
    assert empty.status_code == 400 and 'href="#materials"' in empty.text and ">请补齐</textarea>" in empty.text
    asked = handler.post(f"/work/tasks/{task.task_id}/supplement", data={
        "csrf": csrf_of(page), "material": "income_statement", "problem_income_statement": "缺少近6个月收入证明"})
    assert asked.status_code == 200 and "待补正材料" in asked.text and "要求补正材料" not in asked.text
    assert task_of(hall, "civil_affairs", number).status == dpb.WAITING_SUPPLEMENT

    other = task_of(hall, "civil_affairs", new_case(hall))
    page = handler.get(f"/work/tasks/{other.task_id}")
    missing = handler.post(f"/work/tasks/{other.task_id}/decide", data={
        "csrf": csrf_of(page), "decision": "approve", "opinion": "符合条件"})
    assert missing.status_code == 400 and 'href="#legal_basis"' in missing.text and ">符合条件</textarea>" in missing.text
    assert 'id="decision-approve" name="decision" value="approve" checked' in missing.text
    assert task_of(hall, "civil_affairs", other.case_number).status != dpb.DECIDED
    done = handler.post(f"/work/tasks/{other.task_id}/decide", data={
        "csrf": csrf_of(page), "decision": "approve", "opinion": "符合条件", "legal_basis": "《社会救助暂行办法》第十一条"},
        follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/work")
    assert task_of(hall, "civil_affairs", other.case_number).status == dpb.DECIDED


def test_a_suspension_says_what_is_left_and_a_resumption_beyond_30_percent_is_refused(browser, hall):
    task = task_of(hall, "civil_affairs", new_case(hall))
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get(f"/work/tasks/{task.task_id}")
    latest = re.search(r"最迟至 (\d{4}-\d{2}-\d{2})", page.text).group(1)
    assert f"还可延长 {int(task.limit_days * 0.3)} 个工作日" in page.text
    too_far = handler.post(f"/work/tasks/{task.task_id}/suspend", data={
        "csrf": csrf_of(page), "until": "2999-01-01", "reason": "等待司法鉴定"})
    assert too_far.status_code == 400 and 'href="#until"' in too_far.text and 'value="2999-01-01"' in too_far.text
    suspended = handler.post(f"/work/tasks/{task.task_id}/suspend", data={
        "csrf": csrf_of(page), "until": latest, "reason": "等待司法鉴定"})
    assert f"最迟 {latest} 恢复" in suspended.text and "恢复办理" in suspended.text
    refused = handler.post(f"/work/tasks/{task.task_id}/resume", data={"csrf": csrf_of(page), "extension_days": "99"})
    assert refused.status_code == 400 and 'href="#extension_days"' in refused.text
    resumed = handler.post(f"/work/tasks/{task.task_id}/resume", data={"csrf": csrf_of(page), "extension_days": "1"})
    assert resumed.status_code == 200 and task_of(hall, "civil_affairs", task.case_number).status == dpb.CLAIMED


def test_a_decision_signed_off_passes_the_approver_then_the_checker(browser, hall):
    task = task_of(hall, "land_resources", new_case(hall, "GT-002", LAND, property_location="示范县城关镇和平路8号"))
    handler = signed_in(browser, hall, "SX0034")
    page = handler.get(f"/work/tasks/{task.task_id}")
    proposed = handler.post(f"/work/tasks/{task.task_id}/decide", data={
        "csrf": csrf_of(page), "decision": "approve", "opinion": "材料齐全", "legal_basis": "《不动产登记暂行条例》"})
    assert proposed.status_code == 200 and "拟办决定（待签署）" in proposed.text and "作出决定" not in proposed.text
    for staff_number in ("SX0035", "SX0036"):
        signer = signed_in(browser, hall, staff_number)
        listed = signer.get("/work")
        assert task.case_number in listed.text
        shown = signer.get(f"/work/tasks/{task.task_id}")
        bare = signer.post(f"/work/tasks/{task.task_id}/sign_off", data={"csrf": csrf_of(shown), "agree": "no"})
        assert bare.status_code == 400 and 'href="#opinion"' in bare.text  # sending back says why
        signed = signer.post(f"/work/tasks/{task.task_id}/sign_off", data={"csrf": csrf_of(shown), "agree": "yes"},
                             follow_redirects=False)
        assert signed.status_code == 303
    decided = task_of(hall, "land_resources", task.case_number)
    assert decided.status == dpb.DECIDED and [s.step for s in decided.signed_off] == ["approver", "checker"]


def test_another_offices_task_is_refused_and_nothing_is_written(browser, hall):
    task = task_of(hall, "civil_affairs", new_case(hall))
    township = signed_in(browser, hall, TOWNSHIP_HANDLER)
    assert township.get(f"/work/tasks/{task.task_id}").status_code == 403
    own = township.get("/work")
    for action in ("claim", "decide", "suspend"):
        answer = township.post(f"/work/tasks/{task.task_id}/{action}", data={
            "csrf": csrf_of(own), "decision": "reject", "opinion": "x", "legal_basis": "y", "until": "2030-01-01",
            "reason": "z"})
        assert answer.status_code == 403
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get(f"/work/tasks/{task.task_id}")
    assert handler.post(f"/work/tasks/{task.task_id}/claim", data={"csrf": ""}).status_code == 403
    assert handler.post(f"/work/tasks/{task.task_id}/decide", data={
        "csrf": csrf_of(page), "decision": "reject", "opinion": "x", "legal_basis": "y"},
        headers={"Origin": "https://evil.example"}).status_code == 403
    after = task_of(hall, "civil_affairs", task.case_number)
    assert after.status == task.status and not after.opinion


def test_co_handling_asks_every_department_at_once_each_with_its_own_text_and_days(browser, hall):
    task = task_of(hall, "civil_affairs", new_case(hall))
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get(f"/work/tasks/{task.task_id}")
    assert "为公安局单独写明要求和时限" in page.text and "需要的协办部门请一次选全" in page.text
    bad = handler.post(f"/work/tasks/{task.task_id}/co_handling", data={
        "csrf": csrf_of(page), "department": ["public_security", "hr_social_security"], "ask": "请核实户籍",
        "limit_days": "5", "ask_hr_social_security": "请核实社保缴纳", "limit_hr_social_security": "99"})
    assert bad.status_code == 400 and 'href="#limit_hr_social_security"' in bad.text
    assert 'value="请核实社保缴纳"' in bad.text and "<details class=\"co-own\" open>" in bad.text
    assert not [t for t in hall.desk("civil_affairs").GetProgress(dpb.GetProgressRequest(
        case_number=task.case_number)).tasks if t.role == dpb.CO_HANDLING]  # nothing asked
    asked = handler.post(f"/work/tasks/{task.task_id}/co_handling", data={
        "csrf": csrf_of(page), "department": ["public_security", "hr_social_security"], "ask": "请核实户籍",
        "limit_days": "5", "ask_hr_social_security": "请核实社保缴纳", "limit_hr_social_security": "8"})
    assert asked.status_code == 200 and "再次征求的原因" in asked.text
    co = {t.department: t for t in hall.desk("civil_affairs").GetProgress(dpb.GetProgressRequest(
        case_number=task.case_number)).tasks if t.role == dpb.CO_HANDLING}
    assert (co["public_security"].ask, co["public_security"].limit_days) == ("请核实户籍", 5)
    assert (co["hr_social_security"].ask, co["hr_social_security"].limit_days) == ("请核实社保缴纳", 8)
    for department, t in co.items():  # both answer, so that a second ask may go to them
        hall.desk(department).Decide(dpb.DecideRequest(task_id=t.task_id, decision=dpb.APPROVE, opinion="已核实",
                                                       legal_basis="职责"))
    page = handler.get(f"/work/tasks/{task.task_id}")
    causeless = handler.post(f"/work/tasks/{task.task_id}/co_handling", data={
        "csrf": csrf_of(page), "second": "1", "department": "public_security", "ask": "请补充核实", "limit_days": "3"})
    assert causeless.status_code == 400 and 'href="#cause"' in causeless.text
    second = handler.post(f"/work/tasks/{task.task_id}/co_handling", data={
        "csrf": csrf_of(page), "second": "1", "cause": "co_handler_missed", "department": "public_security",
        "ask": "请补充核实", "limit_days": "3"})
    assert second.status_code == 200
    lead = task_of(hall, "civil_affairs", task.case_number)
    assert lead.extension_days == 3  # the co-handler's miss: the lead's limit grows by its limit


def test_a_special_procedure_starts_with_its_planned_days_and_ends(browser, hall):
    task = task_of(hall, "civil_affairs", new_case(hall))
    handler = signed_in(browser, hall, HANDLER)
    page = handler.get(f"/work/tasks/{task.task_id}")
    wrong = handler.post(f"/work/tasks/{task.task_id}/special", data={
        "csrf": csrf_of(page), "procedure": "hearing", "planned_days": "五天"})
    assert wrong.status_code == 400 and 'href="#planned_days"' in wrong.text and 'value="五天"' in wrong.text
    too_long = handler.post(f"/work/tasks/{task.task_id}/special", data={
        "csrf": csrf_of(page), "procedure": "hearing", "planned_days": "999"})
    assert too_long.status_code == 400 and 'href="#planned_days"' in too_long.text
    assert task_of(hall, "civil_affairs", task.case_number).status != dpb.SPECIAL_PROCEDURE
    started = handler.post(f"/work/tasks/{task.task_id}/special", data={
        "csrf": csrf_of(page), "procedure": "hearing", "planned_days": "5", "note_special": "组织听证"})
    assert started.status_code == 200 and "结束特别程序" in started.text and "计时暂停" in started.text
    assert task_of(hall, "civil_affairs", task.case_number).procedure == "hearing"
    ended = handler.post(f"/work/tasks/{task.task_id}/end_special", data={"csrf": csrf_of(page)})
    assert ended.status_code == 200 and task_of(hall, "civil_affairs", task.case_number).status == dpb.CLAIMED


def test_a_handler_claims_a_task_from_the_windows_pool(browser, hall):
    back_at = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).isoformat()
    away = [hall.as_person(hall.desk_stub, s, POSTS.get(s, f"{CIVIL}/handler/1")) for s in (HANDLER, "SX0017")]
    for desk, staff in zip(away, (HANDLER, "SX0017")):
        desk.SetAway(dpb.SetAwayRequest(back_at=back_at, note="下乡"))
    try:
        number = new_case(hall)
    finally:
        for desk in away:
            desk.ClearAway(dpb.ClearAwayRequest())
    pooled = task_of(hall, "civil_affairs", number)
    assert not pooled.holder
    handler = signed_in(browser, hall, HANDLER)
    listed = handler.get("/work", params={"item": "MZ-001"})
    row = re.search(rf'{number}</a>.*?</tr>', listed.text, re.S).group(0)
    assert "待认领（本单位）" in row
    page = handler.get(f"/work/tasks/{pooled.task_id}")
    claimed = handler.post(f"/work/tasks/{pooled.task_id}/claim", data={"csrf": csrf_of(page)})
    assert claimed.status_code == 200
    after = task_of(hall, "civil_affairs", number)
    assert (after.holder, after.status) == (HANDLER, dpb.CLAIMED)


def test_another_departments_handler_gets_403_and_a_township_station_does_not_see_the_county_bureau(browser, hall):
    number = new_case(hall)
    task = task_of(hall, "civil_affairs", number)
    land = signed_in(browser, hall, "SX0034")
    assert land.get(f"/work/tasks/{task.task_id}").status_code == 403
    own = land.get("/work")
    for action in ("claim", "special", "co_handling", "decide"):
        answer = land.post(f"/work/tasks/{task.task_id}/{action}", data={
            "csrf": csrf_of(own), "procedure": "hearing", "department": "water", "ask": "x", "limit_days": "3",
            "decision": "reject", "opinion": "x", "legal_basis": "y"})
        assert answer.status_code == 403
    after = task_of(hall, "civil_affairs", number)
    assert (after.status, after.holder, after.procedure) == (task.status, task.holder, "")
    assert not [t for t in hall.desk("civil_affairs").GetProgress(dpb.GetProgressRequest(
        case_number=number)).tasks if t.role == dpb.CO_HANDLING]
    township = signed_in(browser, hall, TOWNSHIP_HANDLER)
    assert number not in township.get("/work", params={"item": "MZ-001"}).text
    assert number in signed_in(browser, hall, HANDLER).get("/work", params={"item": "MZ-001"}).text


def test_the_lead_department_sees_its_projects_with_stage_departments_and_days(browser, hall):
    number = new_case(hall, "TZ-002", REFORM)
    lead = signed_in(browser, hall, "SX0046")
    worklist = lead.get("/work")
    assert 'href="/work/projects"' in worklist.text
    listed = lead.get("/work/projects")
    assert listed.status_code == 200 and f'href="/work/projects/{number}"' in listed.text
    row = re.search(rf'<a href="/work/projects/{number}">.*?</tr>', listed.text, re.S).group(0)
    assert "1 / 1 立项用地规划许可" in row and "0 / 30" in row
    assert all(name in row for name in ("发展和改革局", "水务局", "商务局")) and "牵头" in row and "并联" in row
    assert number not in lead.get("/work/projects", params={"ended": "1"}).text
    stage = lead.get(f"/work/projects/{number}")
    assert stage.status_code == 200 and "各部门办理进度" in stage.text and stage.text.count("<tr") >= 6
    civil = signed_in(browser, hall, HANDLER)
    assert 'href="/work/projects"' not in civil.get("/work").text
    assert number not in civil.get("/work/projects").text and "没有项目" in civil.get("/work/projects").text
    assert civil.get(f"/work/projects/{number}").status_code == 403  # no task of its own in the case


def test_yellow_at_80_percent_of_a_limit_red_past_it_in_words():
    from web_front.projects import light

    assert (light(23, 30).level, light(24, 30).level, light(30, 30).level, light(31, 30).level) == \
        ("", "yellow", "yellow", "red")
    assert light(31, 30).text == "红灯：已超时限" and light(5, 30, paused=True).text == "计时暂停"


class FakeStream:
    """A WatchTasks call as grpc.aio gives it: items as they come, until cancelled."""

    def __init__(self, items: asyncio.Queue):
        self.items, self.cancelled = items, False

    def __aiter__(self):
        return self

    async def __anext__(self):
        return await self.items.get()

    def cancel(self):
        self.cancelled = True


class FakeDesk:
    def __init__(self):
        self.items: asyncio.Queue | None = None
        self.requests: list = []

    def WatchTasks(self, request, metadata=None, timeout=None):
        self.requests.append(request)
        return FakeStream(self.items)


class FakeApis:
    def __init__(self):
        self.desk = FakeDesk()

    def metadata(self, client, credential=None, as_front=False):
        return (("authorization", f"Bearer {credential}"),)


def test_one_upstream_stream_per_organisation_serves_every_open_worklist_and_counts_only_their_work():
    apis = FakeApis()
    feed = WorkFeed(apis)

    async def scenario():
        apis.desk.items = asyncio.Queue()
        mark = feed.mark(CIVIL, "credential", "203.0.113.1")
        streams = [feed.changes(CIVIL, f"credential-{i}", "203.0.113.1").__aiter__() for i in range(5)]
        for stream in streams:
            await stream.__anext__()  # connected
        await apis.desk.items.put(dpb.WorkItem(cursor=41, reason="head"))
        for cursor, task in enumerate([dpb.Task(task_id="A.1.civil_affairs", holder=""),
                                       dpb.Task(task_id="B.1.civil_affairs", holder="SX0017"),
                                       dpb.Task(task_id="C.1.civil_affairs", holder=HANDLER,
                                                proposal=dpb.Proposal(awaiting="approver"))], start=42):
            await apis.desk.items.put(dpb.WorkItem(cursor=cursor, reason="assigned", task=task))
        await apis.desk.items.put(dpb.WorkItem(cursor=45, reason="withdrawn", task=dpb.Task(task_id="D.1.x")))
        await asyncio.wait_for(asyncio.gather(*(s.__anext__() for s in streams)), 5)
        while not apis.desk.items.empty():
            await asyncio.sleep(0)
        for stream in streams:
            await stream.aclose()
        return mark

    mark = asyncio.run(scenario())
    assert feed.reads == 1 and len(apis.desk.requests) == 1  # one upstream stream for five browsers
    assert apis.desk.requests[0].from_now and feed.orgs[CIVIL].cursor == 45  # resumed from 45 if it breaks
    assert feed.new_since(CIVIL, mark, "handler", HANDLER) == 1  # the pool's; B is another holder's
    assert feed.new_since(CIVIL, mark, "approver", "SX0019") == 1
    assert feed.new_since(CIVIL, mark, "checker", "SX0020") == 0
