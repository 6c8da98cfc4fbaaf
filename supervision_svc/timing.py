"""When a clock warns (电子监察): yellow on the day a configurable share of its limit is used,
red on the first working day past its deadline. Pure: the kernel's working-day clock does the
counting; while a clock is paused it warns on no day, since its days do not run."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

from hall.calendar import CalendarYearMissing, WorkingCalendar
from hall.clock import Clock


@dataclass(frozen=True)
class Marks:
    deadline: dt.date | None
    yellow_on: dt.date | None
    red_on: dt.date | None


def _day_reaching(clock: Clock, cal: WorkingCalendar, used: int) -> dt.date:
    """The day on which `used` working days of the clock have run (pauses excluded)."""
    return replace(clock, limit_days=used, extension_days=0).deadline(cal)


def marks(clock: Clock, cal: WorkingCalendar, share: float) -> Marks:
    if clock.paused or clock.stopped_on is not None:
        return Marks(None, None, None)
    limit = clock.limit_days + clock.extension_days
    try:
        deadline = clock.deadline(cal)
        yellow = _day_reaching(clock, cal, math.ceil(share * limit)) if limit > 0 else None
        red = _day_reaching(clock, cal, limit + 1)
    except CalendarYearMissing:
        # No working days known that far ahead: no warning can be dated until the county loads
        # that year's calendar (the clock is recomputed at its next event).
        return Marks(None, None, None)
    return Marks(deadline, yellow, red)
