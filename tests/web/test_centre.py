"""The centre manager's pages below the browser (Starlette's test client; the APIs of an in-process
hall on the real PostgreSQL): the manager sees their own centre's windows and people only, marks a
person away and back, moves tasks from the pool (all or none), closes a rectification of the
centre's acceptance act, reads the month's assessment and changes a day's duty; a clerk's or a
leader's session is refused the pages and a forged POST from it writes nothing."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
from onewindow.identity.v1 import identity_pb2 as ipb
from onewindow.supervision.v1 import supervision_pb2 as spb
from starlette.testclient import TestClient

from services.timesource import SystemTime, local_day
from tests.conftest import in_process_hall
from tests.support import wait_until
from tests.web.test_desk import Party
from tests.web.test_pages import PROXY, csrf_of
from tests.web.test_work import new_case, signed_in, task_of
from web_front.run import application

MANAGER, TOWNSHIP_MANAGER = "SX0001", "SX0083"  # the county centre's, Zhangqiao's
CLERK, LEADER, OFFICER = "SX0008", "SX0002", "SX0005"
HANDLER_A, HANDLER_B, APPROVER = "SX0018", "SX0017", "SX0019"  # civil affairs' window at the county centre


@pytest.fixture(scope="module")
def hall(tmp_path_factory):
    with in_process_hall(tmp_path_factory.mktemp("centre"), web_trusted_proxies=PROXY) as running:
        yield running


@pytest.fixture(scope="module")
def browser(hall):
    with TestClient(application(hall.settings), base_url="https://hall.test", client=(PROXY, 4000),
                    headers={"X-Forwarded-For": f"203.0.113.{uuid.uuid4().int % 250 + 1}",
                             "X-Forwarded-Proto": "https"}) as client:
        yield client


def _away(hall, staff_number: str) -> list:
    rows = hall.sql("approval", "SELECT staff_number FROM away_notices WHERE staff_number = %s AND back_at > now()",
                    [staff_number])
    return list(rows)


@pytest.fixture(scope="module")
def manager(browser, hall) -> Party:
    """The county centre's manager signed in once for the module (a sign-in costs Argon2 hashes)."""
    return signed_in(browser, hall, MANAGER)


@pytest.fixture(scope="module")
def township(browser, hall) -> Party:
    return signed_in(browser, hall, TOWNSHIP_MANAGER)


def tomorrow_at_five() -> str:
    return f"{local_day(SystemTime().now()) + dt.timedelta(days=1)}T17:00"


def test_a_manager_lands_on_their_centre_and_sees_only_its_windows_and_people(manager, township):
    assert manager.get("/sign-in", follow_redirects=False).headers["location"] == "/centre"
    page = manager.get("/centre")
    assert page.status_code == 200 and 'href="/centre/duty"' in page.text
    assert "曾玉梅（SX0018）" in page.text and "田萍（SX0008）" in page.text
    assert "SX0094" not in page.text  # Zhangqiao's handler: another centre's
    other = township.get("/centre")
    assert "SX0094" in other.text and "SX0018" not in other.text


def test_a_manager_marks_a_person_away_with_errors_kept_and_back(hall, manager):
    page = manager.get("/centre")
    wrong = manager.post("/centre/away", data={"csrf": csrf_of(page), "staff_number": HANDLER_A,
                                               "back_at": tomorrow_at_five(), "note": ""})
    assert wrong.status_code == 400 and 'href="#note"' in wrong.text and f'value="{tomorrow_at_five()}"' in wrong.text
    past = manager.post("/centre/away", data={"csrf": csrf_of(page), "staff_number": HANDLER_A,
                                              "back_at": "2020-01-01T09:00", "note": "开会"})
    assert past.status_code == 400 and 'href="#back_at"' in past.text
    assert not _away(hall, HANDLER_A)
    done = manager.post("/centre/away", data={"csrf": csrf_of(page), "staff_number": HANDLER_A,
                                              "back_at": tomorrow_at_five(), "note": "下乡"}, follow_redirects=False)
    assert done.status_code == 303 and _away(hall, HANDLER_A)
    shown = manager.get("/centre")
    assert "下乡" in shown.text and "登记返回：曾玉梅" in shown.text
    back = manager.post("/centre/back", data={"csrf": csrf_of(shown), "staff_number": HANDLER_A},
                        follow_redirects=False)
    assert back.status_code == 303 and not _away(hall, HANDLER_A)


def test_another_centres_manager_cannot_mark_this_centres_people(hall, township):
    page = township.get("/centre")
    refused = township.post("/centre/away", data={"csrf": csrf_of(page), "staff_number": HANDLER_B,
                                                  "back_at": tomorrow_at_five(), "note": "开会"})
    assert refused.status_code == 400 and 'href="#staff_number"' in refused.text
    assert not _away(hall, HANDLER_B)


def test_the_pool_is_moved_all_or_none(hall, manager):
    page = manager.get("/centre")
    for person in (HANDLER_A, HANDLER_B):  # both holders away: new work goes to the window's pool
        manager.post("/centre/away", data={"csrf": csrf_of(page), "staff_number": person,
                                           "back_at": tomorrow_at_five(), "note": "培训"})
    number = new_case(hall)
    task = task_of(hall, "civil_affairs", number)
    assert task.holder == ""
    pool = manager.get("/centre")
    assert f'value="{task.task_id}"' in pool.text
    refused = manager.post("/centre/move", data={"csrf": csrf_of(pool), "task_ids": task.task_id,
                                                 "to_staff_number": APPROVER, "reason": "A岗培训一周"})
    assert refused.status_code == 400 and 'href="#to_staff_number"' in refused.text
    assert task_of(hall, "civil_affairs", number).holder == ""  # nothing moved
    unknown = manager.post("/centre/move", data={"csrf": csrf_of(pool), "task_ids": task.task_id,
                                                 "other_tasks": "999999999999999.civil_affairs.1",
                                                 "to_staff_number": HANDLER_A, "reason": "A岗培训一周"})
    assert unknown.status_code == 400 and "一件也未移交" in unknown.text
    assert task_of(hall, "civil_affairs", number).holder == ""
    moved = manager.post("/centre/move", data={"csrf": csrf_of(pool), "task_ids": task.task_id,
                                               "to_staff_number": HANDLER_A, "reason": "A岗培训一周"},
                         follow_redirects=False)
    assert moved.status_code == 303 and task_of(hall, "civil_affairs", number).holder == HANDLER_A
    for person in (HANDLER_A, HANDLER_B):
        manager.post("/centre/back", data={"csrf": csrf_of(pool), "staff_number": person})


def test_a_rectification_of_the_desks_acceptance_is_followed_up_and_closed(hall, manager, township):
    number = new_case(hall, "MZ-001", "county-desk")
    wait_until(lambda: hall.sql("supervision", "SELECT 1 FROM cases WHERE case_number = %s", [number]),
               what="the case in supervision")
    rating = hall.supervision("county-desk").Rate(spb.RateRequest(
        request_id=uuid.uuid4().hex, case_number=number, channel=spb.ON_SITE, act="acceptance", level=2,
        rater="applicant", comment="受理员不耐烦"))
    assert rating.rectification_opened
    page = manager.get("/centre/rectifications")
    assert page.status_code == 200 and "受理员不耐烦" in page.text
    path = f"/centre/rectifications/{rating.id}"
    empty = manager.post(f"{path}/rectify", data={"csrf": csrf_of(page), "rectify_note": "已约谈"})
    assert empty.status_code == 400 and f'href="#resolution-{rating.id}"' in empty.text and ">已约谈</textarea>" in empty.text
    assert manager.post(f"{path}/follow_up", data={"csrf": csrf_of(page), "outcome": "申请人表示理解"},
                        follow_redirects=False).status_code == 303
    closed = manager.post(f"{path}/rectify", data={"csrf": csrf_of(page), "resolution": "explained",
                                                   "rectify_note": "已约谈受理员"}, follow_redirects=False)
    assert closed.status_code == 303
    (item,) = [i for i in hall.supervision("county-centre").ListRectifications(
        spb.ListRectificationsRequest()).items if i.rating_id == rating.id]
    assert item.resolution == spb.EXPLAINED and item.follow_up == "申请人表示理解"
    again = manager.post(f"{path}/rectify", data={"csrf": csrf_of(page), "resolution": "fixed", "rectify_note": "x"})
    assert again.status_code == 409
    assert township.post(f"{path}/appeal", data={"csrf": csrf_of(township.get("/centre")),
                                                  "appeal_reason": "x"}).status_code == 403


def test_the_assessment_and_the_duty_rota_of_the_centre(hall, manager):
    assessment = manager.get("/centre/assessment", params={"month": "2026-11"})
    assert assessment.status_code == 200 and "月度考核：2026-11" in assessment.text and "红旗窗口的条件" in assessment.text
    duty = manager.get("/centre/duty")
    assert duty.status_code == 200 and 'id="on-duty-SX0003"' in duty.text
    assert 'id="rooms"' not in duty.text  # the county centre has no village rooms of its own
    today = local_day(SystemTime().now()).isoformat()
    missing = manager.post("/centre/duty", data={"csrf": csrf_of(duty), "day": today, "on_duty": "SX0003"})
    assert missing.status_code == 400 and 'href="#duty_reason"' in missing.text
    assert 'id="on-duty-SX0003" name="on_duty" value="SX0003" checked' in missing.text
    changed = manager.post("/centre/duty", data={"csrf": csrf_of(duty), "day": today, "on_duty": "SX0003",
                                                 "duty_reason": "换班"}, follow_redirects=False)
    assert changed.status_code == 303
    reader = hall.as_person(hall.identity, OFFICER)  # not the manager: a sign-in here would end their session
    now_on = reader.GetDuty(ipb.GetDutyRequest(organisation="county-centre", day=today))
    assert [p.staff_number for p in now_on.persons] == ["SX0003"] and now_on.source == "manager"


def test_the_township_sees_and_changes_its_village_rooms_duty_and_the_room_shows_it(browser, hall, manager,
                                                                                   township):
    """seeds/000, 004: village cadres take turns on duty at the room; the township centre sees who is on
    duty at each of its rooms today and changes a day; the room's desk shows today's."""
    page = township.get("/centre/duty")
    assert page.status_code == 200 and 'id="rooms"' in page.text
    assert 'href="/centre/duty/zhangqiao-liugang-room"' in page.text and "刘岗村" in page.text
    room = township.get("/centre/duty/zhangqiao-liugang-room")
    assert room.status_code == 200 and 'id="on-duty-SX0118"' in room.text and 'id="on-duty-SX0084"' not in room.text
    today = local_day(SystemTime().now()).isoformat()
    not_a_cadre = township.post("/centre/duty/zhangqiao-liugang-room", data={
        "csrf": csrf_of(room), "day": today, "on_duty": "SX0115", "duty_reason": "换班"})  # the next room's cadre
    assert not_a_cadre.status_code == 400 and 'href="#on_duty"' in not_a_cadre.text and "换班" in not_a_cadre.text
    changed = township.post("/centre/duty/zhangqiao-liugang-room", data={
        "csrf": csrf_of(room), "day": today, "on_duty": "SX0118", "duty_reason": "换班（杨芳下组走访）"},
        follow_redirects=False)
    assert changed.status_code == 303 and changed.headers["location"] == "/centre/duty/zhangqiao-liugang-room?done=duty"
    assert "肖文华（SX0118）" in township.get("/centre/duty").text
    # another centre's room is not the county manager's to see or change
    assert manager.get("/centre/duty/zhangqiao-liugang-room").status_code == 404
    forged = manager.post("/centre/duty/zhangqiao-liugang-room", data={
        "csrf": csrf_of(manager.get("/centre/duty")), "day": today, "on_duty": "SX0119", "duty_reason": "x"})
    assert forged.status_code == 404
    cadre = signed_in(browser, hall, "SX0119")
    desk = cadre.get("/desk")
    assert desk.status_code == 200 and "今日值班：肖文华（SX0118）（乡镇中心主任已调整）" in desk.text
    reader = hall.as_person(hall.identity, OFFICER)
    on = reader.GetDuty(ipb.GetDutyRequest(organisation="zhangqiao-liugang-room", day=today))
    assert [p.staff_number for p in on.persons] == ["SX0118"] and on.reason == "换班（杨芳下组走访）"


@pytest.mark.parametrize("staff_number", [CLERK, LEADER])
def test_a_clerk_or_a_leader_is_refused_and_a_forged_post_writes_nothing(browser, hall, staff_number):
    party = signed_in(browser, hall, staff_number)
    for path in ("/centre", "/centre/rectifications", "/centre/assessment", "/centre/duty", "/it", "/it/pads"):
        assert party.get(path).status_code == 403, path
    page = party.get("/me")
    forged = party.post("/centre/away", data={"csrf": csrf_of(page), "staff_number": HANDLER_B,
                                              "back_at": tomorrow_at_five(), "note": "开会"})
    assert forged.status_code == 403 and not _away(hall, HANDLER_B)
    number = new_case(hall)
    task = task_of(hall, "civil_affairs", number)
    assert party.post("/centre/move", data={"csrf": csrf_of(page), "task_ids": task.task_id,
                                            "to_staff_number": HANDLER_B, "reason": "x"}).status_code == 403
    assert task_of(hall, "civil_affairs", number).holder == task.holder
