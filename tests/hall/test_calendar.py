import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hall.calendar import CalendarYearMissing, WorkingCalendar
from services.yamlfile import ConfigFileError

D = dt.date
CAL = WorkingCalendar()


def test_spring_festival_2026_is_off_and_the_swapped_saturdays_are_worked():
    assert not any(CAL.is_working_day(D(2026, 2, day)) for day in range(15, 24))  # 15–23 Feb
    assert CAL.is_working_day(D(2026, 2, 14))  # Saturday, 调休
    assert CAL.is_working_day(D(2026, 2, 28))  # Saturday, 调休
    assert not CAL.is_working_day(D(2026, 2, 21))  # a Saturday inside the holiday
    assert CAL.is_working_day(D(2026, 2, 24))


def test_the_start_day_does_not_count():
    # Accepted Friday 13 Feb 2026: Sat 14 is the first working day, then the holiday, then 24 Feb.
    assert CAL.add(D(2026, 2, 13), 1) == D(2026, 2, 14)
    assert CAL.add(D(2026, 2, 13), 2) == D(2026, 2, 24)
    assert CAL.between(D(2026, 2, 13), D(2026, 2, 24)) == 2
    assert CAL.add(D(2026, 2, 13), 0) == D(2026, 2, 13)


def test_twenty_working_days_across_the_spring_festival():
    # 13 Feb + 20 working days: 14 Feb, 24–27 Feb, 28 Feb, then 14 more from 2 Mar → 19 Mar.
    assert CAL.add(D(2026, 2, 13), 20) == D(2026, 3, 19)


def test_a_year_no_source_covers_is_an_error_not_a_weekday_guess():
    with pytest.raises(CalendarYearMissing, match="2027"):
        CAL.is_working_day(D(2027, 3, 1))
    with pytest.raises(CalendarYearMissing):
        CAL.add(D(2026, 12, 20), 20)


def test_a_county_file_adds_a_year_and_wins_over_national_data(tmp_path):
    path = tmp_path / "calendar.yaml"
    path.write_text(
        "years:\n"
        "  2027:\n"
        "    holidays: [2027-01-01, 2027-02-08]\n"
        "    workdays: [2027-02-06]\n"
        "  2026:\n"
        "    complete: false\n"
        "    holidays: [2026-03-02]   # a local day off\n",
        encoding="utf-8",
    )
    cal = WorkingCalendar.from_file(path)
    assert not cal.is_working_day(D(2026, 3, 2))  # the file wins
    assert cal.is_working_day(D(2026, 3, 3))  # the rest of 2026 is national
    assert cal.is_working_day(D(2027, 2, 6))  # a swapped Saturday
    assert not cal.is_working_day(D(2027, 2, 8))
    assert cal.is_working_day(D(2027, 2, 9))
    assert cal.add(D(2026, 12, 30), 2) == D(2027, 1, 4)  # 31 Dec, (1 Jan off, weekend), 4 Jan
    with pytest.raises(CalendarYearMissing):
        cal.is_working_day(D(2028, 1, 3))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("years:\n  2027:\n    holidays: [2026-05-01]\n", "2026-05-01 is listed under 2027"),
        ("years:\n  2027:\n    holidays: [2027-05-01]\n    workdays: [2027-05-01]\n", "both a holiday and a workday"),
        ("years:\n  2027:\n    holidays: [not-a-date]\n", ":3: years[2027].holidays[0]: Input should be a valid date"),
        ("years:\n  2027:\n    holiday: []\n", ":3: years[2027].holiday: Extra inputs are not permitted"),
        ("years: [\n", "not valid YAML"),
    ],
)
def test_bad_calendar_files_are_rejected_with_file_line_and_reason(tmp_path, text, expected):
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigFileError) as err:
        WorkingCalendar.from_file(path)
    assert str(path) in str(err.value) and expected in str(err.value)


days_2025 = st.dates(min_value=D(2024, 1, 1), max_value=D(2026, 6, 30))


@settings(max_examples=300, deadline=None)
@given(start=days_2025, n=st.integers(min_value=0, max_value=120))
def test_adding_then_counting_round_trips(start, n):
    end = CAL.add(start, n)
    assert CAL.between(start, end) == n
    assert n == 0 or CAL.is_working_day(end)
    assert n == 0 or CAL.between(start, end - dt.timedelta(days=1)) == n - 1  # the first such day


@settings(max_examples=300, deadline=None)
@given(a=days_2025, b=days_2025, c=days_2025)
def test_counting_is_additive(a, b, c):
    a, b, c = sorted((a, b, c))
    assert CAL.between(a, c) == CAL.between(a, b) + CAL.between(b, c)
