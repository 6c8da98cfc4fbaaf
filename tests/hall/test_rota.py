"""The duty rota: the sample keeps every centre and village room with the persons of the register;
who is on duty on a day (dated days, the weekly pattern, working weekends, holidays); each kind of
mistake is reported with its line and field, all at once; an edit takes effect without a restart."""
from __future__ import annotations

import copy
import datetime as dt
import logging
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hall.calendar import CalendarFile, WorkingCalendar
from hall.catalogue import load_org
from hall.domain import OrgKind
from hall.rota import Rota, RotaFile, load_rota, on_duty
from hall.staff import Staff, load_staff
from services.yamlfile import ConfigFileError
from tests.hall.test_fuzz_loaders import assert_clear

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
LEADERS = ("SX0084", "SX0085")  # zhangqiao-centre's leaders, A and B
ROOM_CLERKS = ("SX0118", "SX0119")  # zhangqiao-liugang-room's cadres, A and B


@pytest.fixture(scope="module")
def org():
    return load_org(DEPLOY / "org.yaml")


@pytest.fixture(scope="module")
def register(org):
    return load_staff(DEPLOY / "staff.yaml", org)


@pytest.fixture(scope="module")
def calendar():
    return WorkingCalendar.from_file(DEPLOY / "calendar.yaml")


@pytest.fixture(scope="module")
def sample(org, register, calendar) -> RotaFile:
    return load_rota(DEPLOY / "rota.yaml", org, register, calendar)


# --- the sample rota ---------------------------------------------------------------------------


def test_the_sample_keeps_every_centre_and_village_room_with_their_own_leaders_and_cadres(org, register, sample):
    kept = {o.code for o in org.organisations if o.kind in (OrgKind.CENTRE, OrgKind.VILLAGE_ROOM)}
    assert {p.at for p in sample.duty} == kept and len(kept) == 17  # 5 centres, 12 village rooms
    for place in sample.duty:
        post = "leader" if org.organisation(place.at).kind == OrgKind.CENTRE else "acceptance_clerk"
        holders = {p.staff_number for p in register.persons if p.active
                   for h in p.posts if h.post == post and h.at == place.at}
        named = {s for persons in place.week.values() for s in persons} | {s for d in place.days for s in d.persons}
        assert named == holders, place.at  # A and B take turns, nobody else
        assert all(len(place.week[d]) == 1 for d in ("mon", "tue", "wed", "thu", "fri")), place.at  # 每天一名


def test_who_is_on_duty_by_the_file(sample, calendar):
    day = dt.date.fromisoformat
    # the weekly pattern on a working day: Monday A, Tuesday B
    assert on_duty(sample, calendar, "zhangqiao-centre", day("2026-12-14")).persons == (LEADERS[0],)
    assert on_duty(sample, calendar, "zhangqiao-centre", day("2026-12-15")).persons == (LEADERS[1],)
    # a dated swap wins over the pattern, with its reason
    swap = on_duty(sample, calendar, "zhangqiao-centre", day("2026-12-18"))
    assert (swap.persons, swap.working_day, swap.reason) == ((LEADERS[1],), True, "换班（钟永红外出学习）")
    # a weekend: nobody at a township centre, the county centre's weekend duty
    assert on_duty(sample, calendar, "zhangqiao-centre", day("2026-12-19")).persons == ()
    assert on_duty(sample, calendar, "county-centre", day("2026-12-19")).persons == ("SX0003",)
    # a holiday on a weekday (国庆 Thursday): nobody, even where a weekend duty is kept …
    national = on_duty(sample, calendar, "county-centre", day("2026-10-01"))
    assert (national.persons, national.working_day) == ((), False)
    # … unless the day is named: 元旦 2027 at the county centre
    assert on_duty(sample, calendar, "county-centre", day("2027-01-01")).persons == ("SX0002",)
    # a working Saturday (调休上班) at a village room, named under days
    worked = on_duty(sample, calendar, "zhangqiao-liugang-room", day("2026-10-10"))
    assert (worked.persons, worked.working_day, worked.reason) == ((ROOM_CLERKS[1],), True, "调休上班")
    # no duty is kept at a window, nor before the rota starts
    assert on_duty(sample, calendar, "county-window-civil-affairs", day("2026-12-14")) is None
    assert on_duty(sample, calendar, "zhangqiao-centre", day("2025-12-31")) is None


def test_the_pattern_follows_the_calendar_not_the_weekday_alone(org, register, tmp_path):
    """A county calendar that makes a Wednesday a holiday and a Saturday a working day."""
    calendar = WorkingCalendar(CalendarFile(years={2030: {"holidays": ["2030-01-02"], "workdays": ["2030-01-05"]}}),
                               national=False)
    path = tmp_path / "rota.yaml"
    path.write_text(ROTA_2030, encoding="utf-8")
    rota = load_rota(path, org, register, calendar)
    assert on_duty(rota, calendar, "zhangqiao-centre", dt.date(2030, 1, 2)).persons == ()  # the holiday Wednesday
    assert on_duty(rota, calendar, "zhangqiao-centre", dt.date(2030, 1, 3)).persons == (LEADERS[1],)
    assert on_duty(rota, calendar, "zhangqiao-centre", dt.date(2030, 1, 5)).persons == (LEADERS[0],)  # the swap
    # without the dated working Saturday, the file is refused: nobody would lead the centre that day
    path.write_text(ROTA_2030.partition("    days:")[0], encoding="utf-8")
    with pytest.raises(ConfigFileError) as refused:
        load_rota(path, org, register, calendar)
    assert refused.value.lines() == [f"{path}:4: duty[0]: nobody on duty on 2030-01-05 (sat), a working day "
                                     f"(调休上班): name someone under days"]


ROTA_2030 = """\
county: 示范县
starts: 2030-01-01
duty:
  - at: zhangqiao-centre
    week: {mon: [SX0084], tue: [SX0085], wed: [SX0084], thu: [SX0085], fri: [SX0084]}
    days:
      - {day: 2030-01-05, persons: [SX0084], reason: 调休上班}
"""


# --- a bad file: every problem at once, by line ----------------------------------------------------

BAD = """\
county: 示范县
starts: 2030-01-01
duty:
  - at: zhangqiao-centre
    week: {mon: [SX0084], tue: [SX0083], wed: [SX0084, SX0084], thu: [SX0115], fri: []}
    days:
      - {day: 2030-01-02, persons: [], reason: 人手不足}
      - {day: 2029-12-31, persons: [SX0085], reason: 提前}
      - {day: 2030-01-02, persons: [SX0085], reason: 重复}
  - at: zhangqiao-liugang-room
    week: {mon: [SX0118], tue: [SX0119], wed: [SX0016], thu: [SX9999]}
  - at: county-window-civil-affairs
    week: {mon: [SX0017]}
  - at: nowhere-room
    week: {}
  - at: zhangqiao-centre
    week: {}
"""


def test_every_problem_of_a_bad_file_is_reported_at_once_by_line(org, register, tmp_path):
    calendar = WorkingCalendar(CalendarFile(years={2030: {}}), national=False)
    path = tmp_path / "rota.yaml"
    path.write_text(BAD, encoding="utf-8")
    with pytest.raises(ConfigFileError) as refused:
        load_rota(path, org, register, calendar)
    assert refused.value.lines() == [f"{path}:{line}" + rest for line, rest in [
        (5, ": duty[0].week.tue[0]: SX0083 (潘春梅) holds no leader post (带班领导) at zhangqiao-centre"),
        (5, ": duty[0].week.wed[1]: SX0084 is named twice"),
        (5, ": duty[0].week.thu[0]: SX0115 (廖涛) holds no leader post (带班领导) at zhangqiao-centre"),
        (5, ": duty[0].week.fri: nobody on duty on fri: a centre has a leader on duty every working day "
            "(seeds/004: 当日值班领导)"),
        (7, ": duty[0].days[0].persons: nobody on duty on 2030-01-02, a working day: a centre has a leader on "
            "duty every working day (seeds/004: 当日值班领导)"),
        (8, ": duty[0].days[1].day: before the rota starts (2030-01-01)"),
        (9, ": duty[0].days[2].day: 2030-01-02 is named twice"),
        (11, ": duty[1].week.wed[0]: SX0016 is inactive in the staff register"),
        (11, ": duty[1].week.thu[0]: unknown staff number 'SX9999' (not in the staff register)"),
        (11, ": duty[1].week: nobody on duty on fri: a village room's cadres take turns Monday to Friday "
             "(seeds/000: 每周一至周五轮流值班)"),
        (12, ": duty[2].at: duty is kept at centres and village rooms; county-window-civil-affairs is a window"),
        (14, ": duty[3].at: unknown organisation 'nowhere-room' (not in the org chart)"),
        (16, ": duty[4].at: zhangqiao-centre is kept twice"),
    ]]


def test_a_malformed_file_is_refused_by_its_models_with_lines(org, register, calendar, tmp_path):
    path = tmp_path / "rota.yaml"
    path.write_text("county: 示范县\nstarts: 2030-02-30\nduty:\n  - at: zhangqiao-centre\n"
                    "    week: {monday: [SX0084]}\n    extra: 1\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as refused:
        load_rota(path, org, register, calendar)
    assert refused.value.lines() == [f"{path}:2: '2030-02-30' is not a valid timestamp "
                                     f"(day is out of range for month)"]
    path.write_text("county: 示范县\nstarts: 2030-01-01\nduty:\n  - at: zhangqiao-centre\n"
                    "    week: {monday: [SX0084]}\n    extra: 1\n", encoding="utf-8")
    with pytest.raises(ConfigFileError) as refused:
        load_rota(path, org, register, calendar)
    lines = refused.value.lines()
    assert f"{path}:5: duty[0].week.monday[key]: Input should be 'mon', 'tue', 'wed', 'thu', 'fri', 'sat' or " \
           f"'sun' (got 'monday')" in lines
    assert f"{path}:6: duty[0].extra: Extra inputs are not permitted" in lines


# --- kept current without a restart ---------------------------------------------------------------


def test_an_edit_takes_effect_and_a_bad_edit_leaves_the_rota_in_force(org, calendar, tmp_path, caplog):
    staff = Staff(DEPLOY / "staff.yaml", org)
    path = tmp_path / "rota.yaml"
    path.write_text(ROTA_2030.replace("2030", "2027"), encoding="utf-8")
    rota = Rota(path, org, staff, calendar, recheck_seconds=0)
    monday = dt.date(2027, 1, 4)
    assert rota.on_duty("zhangqiao-centre", monday).persons == (LEADERS[0],)
    path.write_text(ROTA_2030.replace("2030", "2027").replace("mon: [SX0084]", "mon: [SX0085]"), encoding="utf-8")
    assert rota.on_duty("zhangqiao-centre", monday).persons == (LEADERS[1],)
    with caplog.at_level(logging.ERROR):
        path.write_text(ROTA_2030.replace("2030", "2027").replace("mon: [SX0084]", "mon: [SX0001]"), encoding="utf-8")
        assert rota.on_duty("zhangqiao-centre", monday).persons == (LEADERS[1],)
    assert "holds no leader post" in caplog.text and "stays in force" in caplog.text


def test_check_config_reads_a_rota_against_the_configured_register_and_calendar(tmp_path):
    import subprocess

    from tests.tooling.test_cli import ONEWINDOW, ROOT

    good = subprocess.run([ONEWINDOW, "check-config", "deploy/rota.yaml"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert good.returncode == 0 and "deploy/rota.yaml: ok (17 centres and village rooms" in good.stdout, good.stderr
    broken = tmp_path / "rota.yaml"
    broken.write_text((DEPLOY / "rota.yaml").read_text(encoding="utf-8").replace("fri: [SX0118]", "fri: [SX0121]"),
                      encoding="utf-8")
    line = next(i for i, text in enumerate(broken.read_text(encoding="utf-8").splitlines(), 1)
                if "mon: [SX0118]" in text)  # 刘岗村's week, now naming 大郢村's cadre on Friday
    bad = subprocess.run([ONEWINDOW, "check-config", "deploy/org.yaml", "deploy/staff.yaml", str(broken)], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert f"{broken}:{line}: duty[3].week.fri[0]: SX0121 (马艳) holds no acceptance_clerk post (受理员) at " \
           f"zhangqiao-liugang-room" in bad.stderr


# --- fuzzed: a hand-edited rota is refused with its lines, or loads and leaves no working day empty --

SAMPLE = yaml.safe_load((DEPLOY / "rota.yaml").read_text(encoding="utf-8"))
NAMES = ["SX0084", "SX0085", "SX0083", "SX0118", "SX0016", "SX9999", "sx0084", "", None, 7, []]
VALUES = st.one_of(st.sampled_from(NAMES), st.lists(st.sampled_from(NAMES), max_size=3), st.none(),
                   st.dates(dt.date(2003, 1, 1), dt.date(2031, 1, 1)), st.text(max_size=5), st.integers())


@st.composite
def edited(draw) -> dict:
    data = copy.deepcopy(SAMPLE)
    for _ in range(draw(st.integers(1, 3))):
        place = draw(st.sampled_from(data["duty"]))
        how = draw(st.sampled_from(["drop", "set", "weekday", "day", "copy", "starts"]))
        if how == "drop":
            place.pop(draw(st.sampled_from(sorted(place))), None)
        elif how == "set":
            place[draw(st.sampled_from(["at", "week", "days", "extra"]))] = draw(VALUES)
        elif how == "weekday" and isinstance(place.get("week"), dict):
            place["week"][draw(st.sampled_from(["mon", "fri", "sat", "Mon", "holiday"]))] = draw(VALUES)
        elif how == "day":
            place.setdefault("days", [])
            if isinstance(place["days"], list):
                place["days"].append({"day": draw(VALUES), "persons": draw(VALUES), "reason": draw(VALUES)})
        elif how == "copy":
            data["duty"].append(copy.deepcopy(place))
        else:
            data["starts"] = draw(VALUES)
    return data


@settings(max_examples=60, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=edited())
def test_an_edited_rota_is_refused_with_its_lines_or_loads_with_someone_on_every_working_day(
        org, register, calendar, tmp_path, data):
    path = tmp_path / "rota.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        rota = load_rota(path, org, register, calendar)
    except ConfigFileError as exc:
        assert_clear(exc, path)
        return
    for place in rota.duty:
        for n in range(0, 400, 3):
            day = max(rota.starts, dt.date(2026, 1, 1)) + dt.timedelta(n)
            if calendar.covers(day.year) and (duty := on_duty(rota, calendar, place.at, day)).working_day:
                assert duty.persons and all(register.person(s).active for s in duty.persons), (place.at, day)
