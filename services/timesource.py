"""Where `now` comes from: the system clock in China, or a time source the tests move by hand.

Every rule takes `now` from a time source, never from the system clock directly, so that a
120-working-day case across the Spring Festival is tested in milliseconds."""
from __future__ import annotations

import datetime as dt
from typing import Protocol
from zoneinfo import ZoneInfo

CHINA = ZoneInfo("Asia/Shanghai")


class TimeSource(Protocol):
    def now(self) -> dt.datetime: ...


class SystemTime:
    def now(self) -> dt.datetime:
        return dt.datetime.now(CHINA)


class ManualTime:
    """A time source the tests move by hand."""

    def __init__(self, start: dt.datetime):
        self._now = start if start.tzinfo else start.replace(tzinfo=CHINA)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, when: dt.datetime) -> None:
        self._now = when if when.tzinfo else when.replace(tzinfo=CHINA)

    def advance(self, **delta) -> None:
        self._now += dt.timedelta(**delta)


def local_day(moment: dt.datetime) -> dt.date:
    """The calendar day in China of an instant (limits are counted in Chinese working days)."""
    return moment.astimezone(CHINA).date()
