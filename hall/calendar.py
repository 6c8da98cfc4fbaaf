"""The working-day calendar (工作日): weekends, statutory holidays and swapped working days (调休).

The national calendar comes from `chinese-calendar` for the years it carries; a county's calendar
file adds later years and local changes, and the file wins for every day it names. A year that
no source covers is an error, never a silent weekday guess.

Counting follows the rule that the day a period starts does not count: `add(d, n)` is the n-th
working day after d, and `between(a, b)` counts working days in (a, b].
"""
from __future__ import annotations

import bisect
import datetime as dt
from pathlib import Path
from typing import Annotated

import chinese_calendar
from chinese_calendar import constants as _national
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.yamlfile import Document


class CalendarYearMissing(LookupError):
    def __init__(self, year: int, covered: tuple[int, int] | None):
        self.year = year
        hint = f"chinese-calendar covers {covered[0]}–{covered[1]}" if covered else "no national data"
        super().__init__(
            f"no working-day calendar for {year} ({hint}); load the State Council's holiday notice "
            f"for {year} into the county calendar file"
        )


class _Year(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    holidays: list[dt.date] = []  # days off that would otherwise be working days
    workdays: list[dt.date] = []  # swapped working weekends (调休上班)
    complete: bool = True  # False: only local changes; the rest comes from the national data


class CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    years: dict[Annotated[int, Field(ge=2000, le=2100)], _Year]

    @model_validator(mode="after")
    def _days_in_their_year(self) -> CalendarFile:
        for year, spec in self.years.items():
            for day in (*spec.holidays, *spec.workdays):
                if day.year != year:
                    raise ValueError(f"{day.isoformat()} is listed under {year}")
            both = set(spec.holidays) & set(spec.workdays)
            if both:
                raise ValueError(f"{min(both).isoformat()} is listed as both a holiday and a workday")
        return self


def _national_range() -> tuple[int, int]:
    years = {d.year for d in (*_national.holidays, *_national.workdays)}
    return min(years), max(years)


class WorkingCalendar:
    """Answers which days are working days and counts them, year by year."""

    def __init__(self, local: CalendarFile | None = None, national: bool = True):
        self._local = local or CalendarFile(years={})
        self._national = _national_range() if national else None
        self._overrides: dict[dt.date, bool] = {}
        for spec in self._local.years.values():
            self._overrides.update({d: False for d in spec.holidays})
            self._overrides.update({d: True for d in spec.workdays})
        self._years: dict[int, list[dt.date]] = {}

    @classmethod
    def from_file(cls, path: Path | str | None) -> WorkingCalendar:
        if path is None:
            return cls()
        return cls(Document(path).validate(CalendarFile))

    @property
    def local_years(self) -> list[int]:
        return sorted(self._local.years)

    def covers(self, year: int) -> bool:
        spec = self._local.years.get(year)
        national = self._national is not None and self._national[0] <= year <= self._national[1]
        return national or (spec is not None and spec.complete)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        if not self.covers(day.year):
            raise CalendarYearMissing(day.year, self._national)
        if self._national and self._national[0] <= day.year <= self._national[1]:
            return chinese_calendar.is_workday(day)
        return day.weekday() < 5

    def _working_days(self, year: int) -> list[dt.date]:
        days = self._years.get(year)
        if days is None:
            first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
            span = (first + dt.timedelta(i) for i in range((last - first).days + 1))
            days = self._years[year] = [d for d in span if self.is_working_day(d)]
        return days

    def add(self, start: dt.date, n: int) -> dt.date:
        """The n-th working day after `start` (n ≥ 0; n = 0 gives `start` itself)."""
        if n < 0:
            raise ValueError("n must not be negative")
        day, year = start, start.year
        while n > 0:
            days = self._working_days(year)
            i = bisect.bisect_right(days, day)
            left = len(days) - i
            if n <= left:
                return days[i + n - 1]
            n -= left
            year += 1
            day = dt.date(year - 1, 12, 31)
        return day

    def between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]; 0 when end ≤ start."""
        if end <= start:
            return 0
        count = 0
        for year in range(start.year, end.year + 1):
            days = self._working_days(year)
            lo = bisect.bisect_right(days, start) if year == start.year else 0
            hi = bisect.bisect_right(days, end) if year == end.year else len(days)
            count += hi - lo
        return count

    def next_working_day(self, day: dt.date) -> dt.date:
        return self.add(day, 1)

