"""The duty rota (值班) kept by identity: who is on duty by the rota file or a centre manager's
change, on the real PostgreSQL with a clock the tests set (the use cases), and over the real gRPC
API of the in-process hall (who may read it, who may change it, what is refused)."""
from __future__ import annotations

import datetime as dt
import shutil
import uuid
from pathlib import Path

import grpc
import pytest
from onewindow.identity.v1 import identity_pb2 as idpb

from hall.calendar import WorkingCalendar
from hall.catalogue import load_org
from hall.rota import Rota, load_rota, on_duty
from hall.staff import Staff
from identity_svc.duty import DutyDesk
from services.access import Caller, Role
from services.db import migrate, open_pool, service_migrations
from services.errors import Forbidden, InvalidRequest
from services.timesource import CHINA, ManualTime, SystemTime, local_day
from services.uow import unit_of_work_factory
from tests.clients import Desk
from tests.flow.test_access import holder_of

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANAGER = holder_of("centre_manager", "zhangqiao-centre")  # SX0083 潘春梅
LEADER_A, LEADER_B = "SX0084", "SX0085"  # zhangqiao-centre's leaders (带班领导)
ROOM, ROOM_A, ROOM_B = "zhangqiao-liugang-room", "SX0118", "SX0119"  # a village room under it, its cadres
MONDAY = dt.date(2026, 12, 14)


def manager_caller(staff_number: str = MANAGER[0], post: str = MANAGER[1]) -> Caller:
    """The caller a centre manager's credential makes (hall.holders.person_caller)."""
    at = post.split("/")[0]
    return Caller(Role.MANAGER, at, at, person=staff_number, post=post, name="潘春梅")


# --- the use cases on the real PostgreSQL -------------------------------------------------------


@pytest.fixture
def desk(database_url, tmp_path):
    """DutyDesk over identity's tables in a schema of its own, with copies of the register and the
    rota to edit, at 9:00 on a Monday."""
    schema = f"duty_{uuid.uuid4().hex[:8]}"
    migrate(database_url, schema, service_migrations("identity_svc"))
    pool = open_pool(database_url, schema, max_size=2)
    org, calendar = load_org(DEPLOY / "org.yaml"), WorkingCalendar.from_file(DEPLOY / "calendar.yaml")
    for name in ("staff.yaml", "rota.yaml"):
        shutil.copy(DEPLOY / name, tmp_path / name)
    staff = Staff(tmp_path / "staff.yaml", org, recheck_seconds=0)
    time = ManualTime(dt.datetime.combine(MONDAY, dt.time(9), CHINA))

    class Harness:
        def __init__(self):
            self.time, self.staff_file, self.rota_file = time, tmp_path / "staff.yaml", tmp_path / "rota.yaml"
            self.duty = DutyDesk(Rota(self.rota_file, org, staff, calendar, recheck_seconds=0), staff, org)
            self.uow = unit_of_work_factory(pool, "identity", schema, time)

        def get(self, organisation: str, day: str = ""):
            with self.uow() as uow:
                return self.duty.get(uow, organisation, day)

        def set(self, organisation: str, day: str, staff_numbers: list[str], reason: str = "病假",
                caller: Caller | None = None):
            with self.uow() as uow:
                return self.duty.set(uow, caller or manager_caller(), organisation, day, staff_numbers, reason)

        def changes(self) -> int:
            with self.uow() as uow:
                return uow.execute("SELECT count(*) FROM duty_changes").fetchone()[0]

    yield Harness()
    pool.close()


def staffed(view) -> list[str]:
    return [p.person.staff_number for p in view.persons]


def test_today_by_the_rota_file_then_by_the_managers_change_with_who_made_it(desk):
    today = desk.get("zhangqiao-centre")  # no day: today, Monday
    assert (today.day, today.working_day, staffed(today), today.source) == (MONDAY, True, [LEADER_A], "rota")
    assert today.persons[0].holding.post_id == "zhangqiao-centre/leader/1" and today.persons[0].holding.holder == "A"
    desk.time.advance(hours=1)
    changed = desk.set("zhangqiao-centre", MONDAY.isoformat(), [LEADER_B], "钟永红病假")
    assert (staffed(changed), changed.source, changed.reason) == ([LEADER_B], "manager", "钟永红病假")
    assert changed.set_by == {"person": MANAGER[0], "name": "潘春梅", "post": MANAGER[1]}
    assert changed.set_at == dt.datetime(2026, 12, 14, 10, tzinfo=CHINA)
    assert staffed(desk.get("zhangqiao-centre")) == [LEADER_B]
    # the latest change of a day is in force; other days and places keep the file's
    desk.set("zhangqiao-centre", MONDAY.isoformat(), [LEADER_A, LEADER_B], "两位带班领导同在")
    assert staffed(desk.get("zhangqiao-centre")) == [LEADER_A, LEADER_B] and desk.changes() == 2
    tuesday = desk.get("zhangqiao-centre", "2026-12-15")
    assert (staffed(tuesday), tuesday.source) == ([LEADER_B], "rota")
    assert staffed(desk.get("luqiao-centre")) == ["SX0125"]


def test_a_manager_sets_a_village_rooms_duty_and_a_rest_day_off(desk):
    room = desk.set(ROOM, "2026-12-16", [ROOM_B], "肖文华下组")
    assert (room.organisation.code, staffed(room), room.persons[0].holding.post_id) == \
        (ROOM, [ROOM_B], f"{ROOM}/acceptance_clerk/1")
    # nobody on a Saturday is allowed (the room keeps no weekend duty anyway); a working day is not
    assert staffed(desk.set(ROOM, "2026-12-19", [], "周末不值班")) == []
    with pytest.raises(InvalidRequest) as nobody:
        desk.set(ROOM, "2026-12-17", [], "无人")
    assert [f for f, _ in nobody.value.violations] == ["staff_numbers"]
    assert desk.changes() == 2


def test_refused_for_another_centre_a_past_day_and_a_person_without_the_post_and_nothing_written(desk):
    with pytest.raises(Forbidden):
        desk.set("luqiao-centre", "2026-12-15", ["SX0125"])
    with pytest.raises(Forbidden):
        desk.set("luqiao-shitang-room", "2026-12-15", ["SX0159"])
    with pytest.raises(Forbidden):  # the county's manager does not set a township's duty
        desk.set("zhangqiao-centre", "2026-12-15", [LEADER_A], caller=manager_caller("SX0001",
                                                                                   "county-centre/centre_manager/1"))
    with pytest.raises(InvalidRequest) as refused:
        desk.set("zhangqiao-centre", "2026-12-11", [MANAGER[0], "SX0125", "SX9999", LEADER_A, LEADER_A], " ")
    assert refused.value.violations == [
        ("day", "a past day's duty is a matter of record: only today or a later day"),
        ("staff_numbers[0]", "SX0083 (潘春梅) holds no leader post (带班领导) at zhangqiao-centre"),
        ("staff_numbers[1]", "SX0125 (谭淑华) holds no leader post (带班领导) at zhangqiao-centre"),
        ("staff_numbers[2]", "unknown staff number 'SX9999' (not in the staff register)"),
        ("staff_numbers[4]", "SX0084 is named twice"),
        ("reason", "required"),
    ]
    with pytest.raises(InvalidRequest) as window:
        desk.set("zhangqiao-window-finance", "2026-12-15", [LEADER_A])
    assert window.value.violations[0][0] == "organisation"
    with pytest.raises(InvalidRequest) as bad_day:
        desk.set("zhangqiao-centre", "20261215", [LEADER_A])
    assert bad_day.value.violations == [("day", "a date YYYY-MM-DD")]
    assert desk.changes() == 0


def test_a_person_who_has_left_is_reported_not_shown_on_duty_and_a_rota_edit_takes_effect(desk):
    text = desk.staff_file.read_text(encoding="utf-8")
    desk.staff_file.write_text(text.replace("{staff_number: %s," % LEADER_A, "{active: false, staff_number: %s,"
                                            % LEADER_A), encoding="utf-8")
    left = desk.get("zhangqiao-centre")
    assert (staffed(left), left.no_longer_holding, left.source) == ([], (LEADER_A,), "rota")
    # an edit that still names the one who left elsewhere is refused whole: the rota in force stays
    rota = desk.rota_file.read_text(encoding="utf-8")
    desk.rota_file.write_text(rota.replace("mon: [SX0084], tue: [SX0085]", "mon: [SX0085], tue: [SX0085]"),
                              encoding="utf-8")
    assert desk.get("zhangqiao-centre").no_longer_holding == (LEADER_A,)
    desk.rota_file.write_text(rota.replace(LEADER_A, LEADER_B), encoding="utf-8")
    mended = desk.get("zhangqiao-centre")
    assert (staffed(mended), mended.no_longer_holding) == ([LEADER_B], ())


def test_the_file_alone_answers_as_the_api_does_for_every_place_on_every_day_of_a_month(desk):
    """The pure function other services may call gives the API's answer wherever no change is made."""
    org, calendar = load_org(DEPLOY / "org.yaml"), WorkingCalendar.from_file(DEPLOY / "calendar.yaml")
    from hall.staff import load_staff

    rota = load_rota(DEPLOY / "rota.yaml", org, load_staff(DEPLOY / "staff.yaml", org), calendar)
    for place in rota.duty:
        for n in range(31):
            day = dt.date(2026, 12, 1) + dt.timedelta(n)
            by_file = on_duty(rota, calendar, place.at, day)
            view = desk.get(place.at, day.isoformat())
            assert (tuple(staffed(view)), view.working_day, view.reason) == \
                (by_file.persons, by_file.working_day, by_file.reason), (place.at, day)
            if by_file.working_day:
                assert by_file.persons, (place.at, day)  # nobody is ever missing on a working day


# --- over the real gRPC API ---------------------------------------------------------------------


def code_of(call) -> grpc.StatusCode:
    try:
        call()
        return grpc.StatusCode.OK
    except grpc.RpcError as exc:
        return exc.code()


def test_any_signed_in_person_a_system_and_the_web_front_read_todays_duty(system):
    today = local_day(SystemTime().now())
    rota = load_rota(system.settings.rota, load_org(system.settings.org),
                     Staff(system.settings.staff, load_org(system.settings.org)).register,
                     WorkingCalendar.from_file(system.settings.calendar))
    expected = on_duty(rota, WorkingCalendar.from_file(system.settings.calendar), ROOM, today)
    clerk = system.as_person(system.identity, *holder_of("acceptance_clerk", ROOM))
    duty = clerk.GetDuty(idpb.GetDutyRequest(organisation=ROOM))
    assert (duty.day, tuple(p.staff_number for p in duty.persons), duty.source) == \
        (today.isoformat(), expected.persons, "rota")
    web = Desk(system.identity, system.tokens["web"])
    worked = web.GetDuty(idpb.GetDutyRequest(organisation=ROOM, day="2026-10-10"))
    assert [(p.staff_number, p.name, p.post_id) for p in worked.persons] == \
        [(ROOM_B, "杨芳", f"{ROOM}/acceptance_clerk/1")]
    assert (worked.organisation_name, worked.working_day, worked.reason) == ("刘岗村便民服务受理室", True, "调休上班")
    supervision = Desk(system.identity, system.tokens["supervision"])
    assert supervision.GetDuty(idpb.GetDutyRequest(organisation="county-centre", day="2027-01-01")).persons[0].name \
        == "雷建华"  # 元旦值班
    assert code_of(lambda: system.identity.GetDuty(idpb.GetDutyRequest(organisation=ROOM), timeout=10)) \
        == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as window:
        web.GetDuty(idpb.GetDutyRequest(organisation="county-desk", day="2026-13-01"))
    assert window.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "organisation" in window.value.details() and "day" in window.value.details()


def test_the_centre_manager_changes_a_day_over_the_api_and_others_may_not(system):
    today = local_day(SystemTime().now())
    day = (today + dt.timedelta(7)).isoformat()
    manager = system.as_person(system.identity, *MANAGER)
    changed = manager.SetDuty(idpb.SetDutyRequest(organisation="zhangqiao-centre", day=day,
                                                  staff_numbers=[LEADER_B], reason="换班"))
    assert ([p.staff_number for p in changed.persons], changed.source, changed.set_by, changed.set_by_name,
            changed.set_by_post) == ([LEADER_B], "manager", MANAGER[0], "潘春梅", MANAGER[1])
    leader = system.as_person(system.identity, *holder_of("leader", "zhangqiao-centre"))
    read = leader.GetDuty(idpb.GetDutyRequest(organisation="zhangqiao-centre", day=day))
    assert ([p.staff_number for p in read.persons], read.reason, read.set_at) == ([LEADER_B], "换班", changed.set_at)
    rows = system.sql("identity", "SELECT staff_numbers, set_by, reason FROM duty_changes WHERE day = %s", [day])
    assert rows == [([LEADER_B], MANAGER[0], "换班")]
    # another centre's manager, a leader, a past day, a person without the post: refused, nothing written
    other = system.as_person(system.identity, *holder_of("centre_manager", "luqiao-centre"))
    request = idpb.SetDutyRequest(organisation="zhangqiao-centre", day=day, staff_numbers=[LEADER_A], reason="x")
    assert code_of(lambda: other.SetDuty(request)) == grpc.StatusCode.PERMISSION_DENIED
    assert code_of(lambda: leader.SetDuty(request)) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as past:
        manager.SetDuty(idpb.SetDutyRequest(organisation="zhangqiao-centre", day=(today - dt.timedelta(1)).isoformat(),
                                            staff_numbers=["SX0125"], reason="补记"))
    assert past.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "day" in past.value.details() and "staff_numbers[0]" in past.value.details()
    assert system.sql("identity", "SELECT count(*) FROM duty_changes") == [(1,)]
