"""The duty rota (值班表): who leads each centre on each day and who sits at each village room.

As the seeds run a hall: every working day a centre has its leader on duty (当日值班领导, seeds/004:
the day's summaries are signed by them, applicants may take a complaint to them), and a village
room has one of its cadres at the desk (村干部兼任受理员，每周一至周五轮流值班, seeds/000;
每天安排一名村干部值班, seeds/004). Weekend duty (周末值班) is the hall's own choice.

A reference file like the staff register, written by hand and checked against the org chart, the
register and the working-day calendar, every problem reported with its line; re-read without a
restart, since a swap of duty is made on the day. For each centre and village room it holds a
weekly pattern and dated days (a holiday's duty, a swap, a working weekend):

    - at: zhangqiao-centre
      week: {mon: [SX0084], tue: [SX0085], …}
      days:
        - {day: 2026-10-10, persons: [SX0085], reason: 调休上班}

Who is on duty on a day: the dated day if the file names it; else, on a working day, that weekday's
pattern; on a rest day, the pattern of Saturday or Sunday (weekend duty) and nobody on a holiday
that falls on a weekday. A centre manager's change for a day (kept by the identity service) wins
over all of it; this module answers from the file alone.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from services.watched import RECHECK_SECONDS, WatchedFile
from services.yamlfile import ConfigFileError, Document

from .calendar import CalendarYearMissing, WorkingCalendar
from .catalogue import Code, Name, Organisation, OrgChart
from .domain import OrgKind
from .staff import PostKind, Staff, StaffRegister

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WORKING_WEEK = WEEKDAYS[:5]
StaffNumber = Annotated[str, Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")]
OnDutyList = Annotated[list[StaffNumber], Field(max_length=10)]

# Who may be on duty where: a centre's leaders (带班领导), a village room's clerks (its cadres).
DUTY_POSTS = {OrgKind.CENTRE: PostKind.LEADER, OrgKind.VILLAGE_ROOM: PostKind.ACCEPTANCE_CLERK}
_WHY = {OrgKind.CENTRE: "a centre has a leader on duty every working day (seeds/004: 当日值班领导)",
        OrgKind.VILLAGE_ROOM: "a village room's cadres take turns Monday to Friday (seeds/000: 每周一至周五轮流值班)"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DutyDay(_Strict):
    """A dated day: a holiday's duty, a swap, a working weekend (调休上班); `persons: []` is nobody."""

    day: dt.date
    persons: OnDutyList
    reason: Name


class Place(_Strict):
    at: Code  # a centre or a village room
    week: dict[Weekday, OnDutyList]
    days: list[DutyDay] = []


class RotaFile(_Strict):
    county: Name
    starts: dt.date  # the first day this rota is in force (本值班表自该日起执行)
    duty: list[Place]
    _places: dict[str, Place] = PrivateAttr(default_factory=dict)
    _days: dict[tuple[str, dt.date], DutyDay] = PrivateAttr(default_factory=dict)

    def model_post_init(self, _context) -> None:
        self._places = {p.at: p for p in self.duty}
        self._days = {(p.at, d.day): d for p in self.duty for d in p.days}

    def place(self, code: str) -> Place | None:
        return self._places.get(code)

    def dated(self, code: str, day: dt.date) -> DutyDay | None:
        return self._days.get((code, day))


@dataclass(frozen=True)
class OnDuty:
    """Who the rota file puts on duty at an organisation on a day."""

    organisation: str
    day: dt.date
    persons: tuple[str, ...]  # staff numbers; empty: nobody
    working_day: bool
    reason: str = ""  # a dated day's reason; empty for the weekly pattern


def duty_post(org: Organisation) -> PostKind | None:
    """The post a person on duty at `org` holds there; None where no duty is kept."""
    return DUTY_POSTS.get(org.kind)


def managing_centre(org: Organisation) -> str:
    """The centre whose manager sets the duty at `org`: a centre's own, a village room's township."""
    return org.code if org.kind == OrgKind.CENTRE else org.parent or org.code


def on_duty(rota: RotaFile, calendar: WorkingCalendar, organisation: str, day: dt.date) -> OnDuty | None:
    """Who is on duty at `organisation` on `day` by the file alone; None when the file keeps no
    duty there or the day is before it starts. Raises CalendarYearMissing for a year the calendar
    does not cover, as every count of working days does."""
    place = rota.place(organisation)
    if place is None or day < rota.starts:
        return None
    working = calendar.is_working_day(day)
    dated = rota.dated(organisation, day)
    if dated is not None:
        return OnDuty(organisation, day, tuple(dated.persons), working, dated.reason)
    weekday = WEEKDAYS[day.weekday()]
    pattern = place.week.get(weekday, []) if working or weekday not in WORKING_WEEK else []
    return OnDuty(organisation, day, tuple(pattern), working)


def duty_problem(register: StaffRegister, org: Organisation, staff_number: str) -> str | None:
    """Why this person may not be on duty at `org` (None: they may): only an active holder of the
    place's duty post there, A or B."""
    post = duty_post(org)
    person = register.person(staff_number)
    if post is None:
        return f"no duty is kept at {org.code} (a {org.kind.value}): only at centres and village rooms"
    if person is None:
        return f"unknown staff number {staff_number!r} (not in the staff register)"
    if not person.active:
        return f"{staff_number} is inactive in the staff register"
    if not any(h.post == post and h.at == org.code for h in person.posts):
        return f"{staff_number} ({person.name}) holds no {post.value} post ({post.label}) at {org.code}"
    return None


def _check(doc: Document, rota: RotaFile, org: OrgChart, register: StaffRegister,
           calendar: WorkingCalendar) -> list:
    """What the models alone cannot see: the places in the org chart, the persons in the register,
    and a working day with nobody on duty."""
    problems = []
    weekends = _weekend_working_days(calendar, rota.starts)
    if rota.county != org.county:
        problems.append(doc.problem(("county",), f"the org chart is of {org.county!r}"))
    if register.county != org.county:
        problems.append(doc.problem(("county",), f"the staff register is of {register.county!r}"))
    seen: set[str] = set()
    for i, place in enumerate(rota.duty):
        loc = ("duty", i)
        where = org.organisation(place.at)
        if place.at in seen:
            problems.append(doc.problem(loc + ("at",), f"{place.at} is kept twice"))
            continue
        seen.add(place.at)
        if where is None:
            problems.append(doc.problem(loc + ("at",), f"unknown organisation {place.at!r} (not in the org chart)"))
            continue
        if duty_post(where) is None:
            reason = f"duty is kept at centres and village rooms; {place.at} is a {where.kind.value}"
            problems.append(doc.problem(loc + ("at",), reason))
            continue
        problems += _persons(doc, loc, place, where, register)
        for weekday in WORKING_WEEK:
            if not place.week.get(weekday):
                problems.append(doc.problem(loc + ("week", weekday) if weekday in place.week else loc + ("week",),
                                            f"nobody on duty on {weekday}: {_WHY[where.kind]}"))
        problems += _days(doc, loc, place, where, rota.starts, calendar, weekends)
    problems.sort(key=lambda p: p[0] or 0)  # in the order of the file, as an editor goes through it
    return problems


def _persons(doc: Document, loc: tuple, place: Place, where: Organisation, register: StaffRegister) -> list:
    problems = []
    lists = [(loc + ("week", w), persons) for w, persons in place.week.items()]
    lists += [(loc + ("days", j, "persons"), d.persons) for j, d in enumerate(place.days)]
    for at, persons in lists:
        for k, staff_number in enumerate(persons):
            if staff_number in persons[:k]:
                problems.append(doc.problem(at + (k,), f"{staff_number} is named twice"))
            elif (reason := duty_problem(register, where, staff_number)) is not None:
                problems.append(doc.problem(at + (k,), reason))
    return problems


def _days(doc: Document, loc: tuple, place: Place, where: Organisation, starts: dt.date,
          calendar: WorkingCalendar, weekends: list[dt.date]) -> list:
    problems = []
    dated: set[dt.date] = set()
    for j, day in enumerate(place.days):
        at = loc + ("days", j)
        if day.day in dated:
            problems.append(doc.problem(at + ("day",), f"{day.day.isoformat()} is named twice"))
        elif day.day < starts:
            problems.append(doc.problem(at + ("day",), f"before the rota starts ({starts.isoformat()})"))
        elif not day.persons and _working(calendar, day.day):
            problems.append(doc.problem(at + ("persons",), f"nobody on duty on {day.day.isoformat()}, a working "
                                                           f"day: {_WHY[where.kind]}"))
        dated.add(day.day)
    # A working weekend (调休上班) needs someone too: named under `days`, or a weekend pattern.
    for day in weekends:
        if day not in dated and not place.week.get(WEEKDAYS[day.weekday()]):
            problems.append(doc.problem(loc + ("days",) if place.days else loc,
                                        f"nobody on duty on {day.isoformat()} ({WEEKDAYS[day.weekday()]}), "
                                        f"a working day (调休上班): name someone under days"))
    return problems


def _working(calendar: WorkingCalendar, day: dt.date) -> bool:
    try:
        return calendar.is_working_day(day)
    except CalendarYearMissing:  # a year no calendar covers yet: checked once it does
        return False


def _weekend_working_days(calendar: WorkingCalendar, starts: dt.date) -> list[dt.date]:
    """The working Saturdays and Sundays from `starts` to the end of the last year the calendar
    covers without a gap: a later year's are checked once its calendar is loaded."""
    days, day = [], starts
    while calendar.covers(day.year):
        if day.weekday() >= 5 and calendar.is_working_day(day):
            days.append(day)
        day += dt.timedelta(1)
    return days


def load_rota(path: Path | str, org: OrgChart, register: StaffRegister, calendar: WorkingCalendar) -> RotaFile:
    doc = Document(path)
    rota = doc.validate(RotaFile)
    problems = _check(doc, rota, org, register, calendar)
    if problems:
        raise ConfigFileError(path, problems)
    return rota


class Rota:
    """The rota file kept current without a restart, checked against the register in force when
    it is read; a bad edit is logged and the last good rota stays in force. A person who has left
    since stays named in it: whoever answers who is on duty checks them against the register."""

    def __init__(self, path: Path | str, org: OrgChart, staff: Staff, calendar: WorkingCalendar,
                 recheck_seconds: float = RECHECK_SECONDS):
        self.calendar = calendar
        self._file = WatchedFile(Path(path), lambda p: load_rota(p, org, staff.register, calendar), recheck_seconds)

    @property
    def current(self) -> RotaFile:
        return self._file.current

    def on_duty(self, organisation: str, day: dt.date) -> OnDuty | None:
        return on_duty(self.current, self.calendar, organisation, day)
