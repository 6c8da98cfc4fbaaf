"""The duty rota's use cases (值班): who is on duty at a centre or a village room on a day, and a
centre manager's change of it.

The rota file (`hall.rota`, county reference data like the register) says who is on duty by week
and by dated day; a centre manager changes a day from today on for their centre and its village
rooms (someone falls ill, a swap agreed on the morning), and the change, kept here with who made
it, wins over the file for that day. Whoever is named is checked against the register in force
when asked: a person who has left since is reported, not shown as on duty."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from hall.calendar import CalendarYearMissing
from hall.catalogue import Organisation, OrgChart
from hall.rota import Rota, duty_post, duty_problem, managing_centre
from hall.staff import Holding, Person, Staff
from services.access import Caller
from services.errors import Forbidden, InvalidRequest, Violations
from services.timesource import local_day
from services.uow import UnitOfWork

from . import store

ROTA, MANAGER = "rota", "manager"  # where the duty of a day comes from
MAX_DAYS_AHEAD = 366


@dataclass(frozen=True)
class OnDutyPerson:
    person: Person
    holding: Holding  # the duty post they hold there (a centre's leader, a room's clerk)


@dataclass(frozen=True)
class DutyView:
    organisation: Organisation
    day: dt.date
    working_day: bool
    persons: list[OnDutyPerson]
    source: str  # ROTA, MANAGER, or "" where the rota keeps no duty that day (before it starts)
    reason: str = ""
    set_by: dict | None = None  # the manager's change: person, name, post
    set_at: dt.datetime | None = None
    no_longer_holding: tuple[str, ...] = ()  # named, but no longer holding the duty post there


class DutyDesk:
    def __init__(self, rota: Rota, staff: Staff, org: OrgChart):
        self.rota, self.staff, self.org = rota, staff, org

    def get(self, uow: UnitOfWork, organisation: str, day: str) -> DutyView:
        problems = Violations()
        place = self._place(problems, organisation)
        on = self._day(problems, day, uow.time.now())
        problems.check()
        working = self._working_day(on)
        change = store.duty_change(uow, place.code, on)
        if change is not None:
            return self._view(place, on, working, change["staff_numbers"], MANAGER, change["reason"],
                              {"person": change["set_by"], "name": change["set_by_name"],
                               "post": change["set_by_post"]}, change["set_at"])
        by_file = self.rota.on_duty(place.code, on)
        if by_file is None:
            return self._view(place, on, working, [], "", "")
        return self._view(place, on, working, list(by_file.persons), ROTA, by_file.reason)

    def set(self, uow: UnitOfWork, caller: Caller, organisation: str, day: str, staff_numbers: list[str],
            reason: str) -> DutyView:
        """A centre manager's change of the day's duty at their centre or one of its village rooms."""
        problems = Violations()
        place = self._place(problems, organisation)
        problems.check()
        if not caller.person or caller.organisation != managing_centre(place):
            raise Forbidden(f"only the manager of {managing_centre(place)} sets the duty at {place.code}")
        now = uow.time.now()
        on = self._day(problems, day, now)
        if on is not None and on < local_day(now):
            problems.add("day", "a past day's duty is a matter of record: only today or a later day")
        elif on is not None and on > local_day(now) + dt.timedelta(MAX_DAYS_AHEAD):
            problems.add("day", f"at most {MAX_DAYS_AHEAD} days ahead")
        register = self.staff.register
        if len(staff_numbers) > 10:
            problems.add("staff_numbers", "at most 10 persons")
        for i, staff_number in enumerate(staff_numbers[:10]):
            if staff_number in staff_numbers[:i]:
                problems.add(f"staff_numbers[{i}]", f"{staff_number} is named twice")
            elif (why := duty_problem(register, place, staff_number)) is not None:
                problems.add(f"staff_numbers[{i}]", why)
        problems.require(reason, "reason", max_len=500)
        problems.check()
        if not staff_numbers and self._working_day(on):
            raise InvalidRequest([("staff_numbers", f"nobody on duty on a working day: name a "
                                                    f"{duty_post(place).value} of {place.code}")])
        store.change_duty(uow, place.code, on, list(staff_numbers), reason.strip(), caller.actor(), now)
        return self.get(uow, place.code, on.isoformat())

    # --- the request's parts ------------------------------------------------------------------

    def _place(self, problems: Violations, code: str) -> Organisation | None:
        place = self.org.organisation(code) if code else None
        if not code:
            problems.add("organisation", "required")
        elif place is None:
            problems.add("organisation", f"unknown organisation {code[:64]!r}")
        elif duty_post(place) is None:
            problems.add("organisation", f"duty is kept at centres and village rooms; {code} is a {place.kind.value}")
        return place

    @staticmethod
    def _day(problems: Violations, text: str, now: dt.datetime) -> dt.date | None:
        if not text:
            return local_day(now)  # today in China
        try:
            if len(text) == 10:  # fromisoformat also takes 20261203 and week dates
                return dt.date.fromisoformat(text)
        except ValueError:
            pass
        problems.add("day", "a date YYYY-MM-DD")
        return None

    def _working_day(self, day: dt.date) -> bool:
        try:
            return self.rota.calendar.is_working_day(day)
        except CalendarYearMissing as exc:
            raise InvalidRequest([("day", str(exc))]) from None

    def _view(self, place: Organisation, day: dt.date, working: bool, named: list[str], source: str, reason: str,
              set_by: dict | None = None, set_at: dt.datetime | None = None) -> DutyView:
        register = self.staff.register
        post = duty_post(place)
        persons, gone = [], []
        for staff_number in named:
            person = register.person(staff_number)
            if duty_problem(register, place, staff_number) is not None:
                gone.append(staff_number)
                continue
            holding = next(h for h in person.posts if h.post == post and h.at == place.code)
            persons.append(OnDutyPerson(person, holding))
        return DutyView(place, day, working, persons, source, reason, set_by, set_at, tuple(gone))
