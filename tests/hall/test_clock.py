import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.calendar import WorkingCalendar
from hall.clock import Clock, ClockError, PauseReason
from services.timesource import CHINA, ManualTime

D = dt.date
CAL = WorkingCalendar()


def test_a_20_day_case_across_the_spring_festival():
    clock = Clock(D(2026, 2, 10), 20)
    # 11,12,13,14(Sat 调休) Feb, 24–28 Feb (28 is a Saturday worked), then March.
    assert clock.deadline(CAL) == D(2026, 3, 16)
    reading = clock.read(CAL, D(2026, 2, 27))
    assert (reading.used, reading.remaining, reading.overdue) == (8, 12, False)
    assert reading.share_used == pytest.approx(0.4)
    assert not clock.read(CAL, D(2026, 3, 16)).overdue
    assert clock.read(CAL, D(2026, 3, 17)).overdue


def test_now_comes_from_an_injected_time_source_in_china_time():
    time = ManualTime(dt.datetime(2026, 3, 16, 23, 30, tzinfo=CHINA))
    clock = Clock(D(2026, 2, 10), 20)
    assert not clock.read(CAL, time.now()).overdue
    time.advance(hours=1)  # 00:30 on the 17th in Beijing
    assert clock.read(CAL, time.now()).overdue
    # The same instant seen from UTC is still the 16th there: the limit is counted in China.
    assert clock.read(CAL, time.now().astimezone(dt.timezone.utc)).overdue


def test_a_pause_across_the_holiday_moves_the_deadline_by_the_working_days_paused():
    clock = Clock(D(2026, 2, 2), 10)  # 3–6, 9–13 Feb and Saturday 14 Feb (调休)
    assert clock.deadline(CAL) == D(2026, 2, 14)
    paused = clock.pause(D(2026, 2, 11), PauseReason.SUPPLEMENT)
    assert paused.read(CAL, D(2026, 2, 25)).deadline is None
    assert paused.read(CAL, D(2026, 2, 25)).used == 7  # 3–11 Feb; nothing counts while paused
    resumed = paused.resume(D(2026, 2, 25))
    # Paused days (11 Feb, 25 Feb]: 12, 13, 14, 24, 25 Feb = 5 working days; the 3 left are
    # 26, 27 and Saturday 28 Feb (调休).
    assert resumed.deadline(CAL) == D(2026, 2, 28)
    assert resumed.read(CAL, D(2026, 2, 26)).used == 8


def test_extension_and_stop():
    clock = Clock(D(2026, 3, 2), 10).extend(3)
    assert clock.deadline(CAL) == D(2026, 3, 19)
    stopped = clock.stop(D(2026, 3, 5))
    assert stopped.read(CAL, D(2026, 6, 1)).used == 3


def test_misuse_is_refused():
    clock = Clock(D(2026, 3, 2), 10)
    with pytest.raises(ClockError):
        clock.resume(D(2026, 3, 3))
    with pytest.raises(ClockError):
        clock.pause(D(2026, 3, 3), PauseReason.SUSPENSION).pause(D(2026, 3, 4), PauseReason.SUPPLEMENT)
    with pytest.raises(ClockError):
        clock.pause(D(2026, 3, 1), PauseReason.SUSPENSION)


@st.composite
def clocks_with_pauses(draw):
    start = draw(st.dates(min_value=D(2024, 1, 1), max_value=D(2025, 12, 31)))
    clock = Clock(start, draw(st.integers(min_value=0, max_value=60)))
    day = start
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        day = day + dt.timedelta(days=draw(st.integers(min_value=0, max_value=40)))
        end = day + dt.timedelta(days=draw(st.integers(min_value=0, max_value=30)))
        clock = clock.pause(day, draw(st.sampled_from(PauseReason))).resume(end)
        day = end
    return clock


@settings(max_examples=300, deadline=None)
@given(clocks_with_pauses())
def test_pauses_never_shorten_a_deadline(clock):
    unpaused = Clock(clock.started_on, clock.limit_days)
    deadline = clock.deadline(CAL)
    assert deadline >= unpaused.deadline(CAL)
    # On the deadline the whole limit is used and not a day more.
    assert clock.read(CAL, deadline).used == clock.limit_days or clock.limit_days == 0
