"""The working-day clock of a case or a step (时限).

A clock starts on a day D and has a limit of n working days: it ends at the close of the n-th
working day after D. Pauses (waiting for the applicant's supplement, a special procedure, a
suspension) stop the count: a pause from P to R removes the working days in (P, R], so counting
resumes from the next working day after R. Extensions add working days to the limit.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import Enum

from services.timesource import local_day

from .calendar import WorkingCalendar


class PauseReason(str, Enum):
    SUPPLEMENT = "supplement"  # 缺件待补 / 补正
    SPECIAL_PROCEDURE = "special_procedure"  # 特别程序: expert review, hearing, inspection, notice
    SUSPENSION = "suspension"  # 挂起


@dataclass(frozen=True)
class Pause:
    reason: PauseReason
    start: dt.date
    end: dt.date | None = None


class ClockError(ValueError):
    pass


@dataclass(frozen=True)
class Reading:
    deadline: dt.date | None  # None while paused: it moves until the pause ends
    used: int  # working days counted so far
    limit: int  # limit including extensions
    paused: bool

    @property
    def remaining(self) -> int:
        return self.limit - self.used

    @property
    def share_used(self) -> float:
        return self.used / self.limit if self.limit else 1.0

    @property
    def overdue(self) -> bool:
        return self.used > self.limit


@dataclass(frozen=True)
class Clock:
    started_on: dt.date
    limit_days: int
    pauses: tuple[Pause, ...] = ()
    extension_days: int = 0
    stopped_on: dt.date | None = None  # the step or case ended

    def __post_init__(self):
        if self.limit_days < 0 or self.extension_days < 0:
            raise ClockError("limits are not negative")

    @property
    def paused(self) -> bool:
        return bool(self.pauses) and self.pauses[-1].end is None

    def pause(self, on: dt.date, reason: PauseReason) -> Clock:
        if self.paused:
            raise ClockError("the clock is already paused")
        if on < self.started_on or (self.pauses and on < self.pauses[-1].end):
            raise ClockError("a pause cannot start before the clock or the last pause")
        return replace(self, pauses=self.pauses + (Pause(reason, on),))

    def resume(self, on: dt.date) -> Clock:
        if not self.paused:
            raise ClockError("the clock is not paused")
        last = self.pauses[-1]
        if on < last.start:
            raise ClockError("a pause cannot end before it starts")
        return replace(self, pauses=self.pauses[:-1] + (replace(last, end=on),))

    def extend(self, days: int) -> Clock:
        if days < 0:
            raise ClockError("an extension is not negative")
        return replace(self, extension_days=self.extension_days + days)

    def stop(self, on: dt.date) -> Clock:
        return replace(self, stopped_on=on)

    def paused_days(self, cal: WorkingCalendar, until: dt.date) -> int:
        """Working days inside pauses, up to `until`."""
        return sum(cal.between(p.start, min(p.end or until, until)) for p in self.pauses)

    def read(self, cal: WorkingCalendar, now: dt.datetime | dt.date) -> Reading:
        today = local_day(now) if isinstance(now, dt.datetime) else now
        if self.stopped_on is not None:
            today = min(today, self.stopped_on)
        limit = self.limit_days + self.extension_days
        used = cal.between(self.started_on, today) - self.paused_days(cal, today)
        if self.paused:
            return Reading(None, used, limit, True)
        return Reading(self._deadline(cal, limit), used, limit, False)

    def _deadline(self, cal: WorkingCalendar, limit: int) -> dt.date:
        # After the last resume nothing is paused, so the count runs straight from there.
        anchor = max([self.started_on] + [p.end for p in self.pauses])
        counted = cal.between(self.started_on, anchor) - self.paused_days(cal, anchor)
        if counted <= limit:
            return cal.add(anchor, limit - counted)
        day = self.started_on  # the limit ran out before a later pause: find that day
        while cal.between(self.started_on, day) - self.paused_days(cal, day) < limit:
            day = cal.next_working_day(day)
        return day

    def deadline(self, cal: WorkingCalendar) -> dt.date | None:
        return self.read(cal, self.started_on).deadline

