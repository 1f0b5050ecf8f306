"""Working days in Vietnam (DOMAIN.md §6): weekends, Tết and the other public holidays do not
count; a paused office clock keeps its working time left and resumes with it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from workflow.clock import VIETNAM
from workflow.domain import calendar


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=VIETNAM)  # type: ignore[misc]


@pytest.mark.parametrize("day", [
    date(2026, 2, 16), date(2026, 2, 17), date(2026, 2, 18), date(2026, 2, 19),
    date(2026, 2, 20),  # Tết 2026
    date(2025, 4, 7),  # Hùng Kings' Commemoration 2025
    date(2026, 4, 27),  # Hùng Kings 2026, observed on Monday
    date(2025, 4, 30), date(2025, 5, 1), date(2026, 4, 30), date(2026, 5, 1),
    date(2025, 9, 1), date(2025, 9, 2), date(2026, 9, 2),  # National Day
    date(2025, 1, 1), date(2026, 1, 1),
])
def test_public_holidays_are_not_working_days(day: date) -> None:
    """Tết, Hùng Kings, 30 April, 1 May, 2 September and New Year are days off."""
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 14), date(2026, 2, 21), date(2025, 9, 6),
                                 date(2025, 9, 7)])
def test_weekends_are_not_working_days(day: date) -> None:
    """Saturdays and Sundays are days off."""
    assert not calendar.is_working_day(day)


@pytest.mark.parametrize("day", [date(2026, 2, 13), date(2026, 2, 23), date(2025, 9, 3),
                                 date(2025, 4, 29)])
def test_ordinary_weekdays_are_working_days(day: date) -> None:
    """The weekdays around the holidays count."""
    assert calendar.is_working_day(day)


def test_a_saturday_worked_in_exchange_for_a_bridge_holiday_is_a_working_day() -> None:
    """In 2025 offices worked Saturday 26 April to bridge 2 May: the 26th counts, the 2nd not."""
    assert calendar.is_working_day(date(2025, 4, 26))
    assert not calendar.is_working_day(date(2025, 5, 2))


def test_ten_working_days_across_tet_2026_skip_the_whole_week() -> None:
    """From Friday 13 Feb 2026, 10 working days land on Friday 6 March, not 27 February."""
    assert calendar.add_working_days(at(2026, 2, 13, 9, 0), 10) == at(2026, 3, 6, 9, 0)


def test_working_days_across_the_april_and_may_holidays_of_2026() -> None:
    """From Friday 24 April 2026: 27 April (Hùng Kings observed), 30 April, 1 May and the
    weekends are skipped (28, 29 April, 4, 5, 6 May count), so 5 working days land on
    Wednesday 6 May."""
    assert calendar.add_working_days(at(2026, 4, 24, 14, 30), 5) == at(2026, 5, 6, 14, 30)


def test_working_days_across_national_day_2025() -> None:
    """From Friday 29 Aug 2025, 3 working days skip the weekend and 1–2 September."""
    assert calendar.add_working_days(at(2025, 8, 29, 9, 0), 3) == at(2025, 9, 5, 9, 0)


def test_zero_working_days_is_the_same_moment() -> None:
    """Adding nothing moves nothing."""
    assert calendar.add_working_days(at(2025, 9, 3, 9, 0), 0) == at(2025, 9, 3, 9, 0)


def test_a_calendar_clock_counts_every_day() -> None:
    """Central review (120 days) and the producer's 30 days count calendar days."""
    assert calendar.add_clock(at(2026, 2, 10, 9, 0), 30, False) == at(2026, 3, 12, 9, 0)


def test_a_utc_start_is_read_in_vietnam_time() -> None:
    """Friday 13 Feb 2026 20:00 UTC is Saturday 03:00 in Hanoi: one working day later is the
    first working day after Tết, Monday 23 Feb, at 03:00 Hanoi time."""
    from datetime import UTC
    start = datetime(2026, 2, 13, 20, 0, tzinfo=UTC)
    assert calendar.add_working_days(start, 1) == at(2026, 2, 23, 3, 0)


def test_working_seconds_skip_weekends_and_tet() -> None:
    """From Friday 13 Feb 2026 09:00 to Monday 23 Feb 09:00 only Friday's last 15 hours and
    Monday's first 9 count: one working day."""
    left = calendar.working_seconds_between(at(2026, 2, 13, 9, 0), at(2026, 2, 23, 9, 0))
    assert left == timedelta(days=1).total_seconds()


def test_a_clock_paused_before_tet_resumes_with_the_working_time_it_had_left() -> None:
    """A 10-working-day clock started Wed 11 Feb 2026 10:00 is due Wed 4 March (12, 13 Feb,
    then 23 Feb … 4 Mar: Tết week skipped). Paused Fri 13 Feb 10:00 it has 8 working days
    left (Friday's last 14 h, 23 Feb … 3 Mar, and 4 Mar's first 10 h); resumed Wed 4 March
    10:00 it is due 8 working days later, Monday 16 March 10:00."""
    start = at(2026, 2, 11, 10, 0)
    due = calendar.add_working_days(start, 10)
    assert due == at(2026, 3, 4, 10, 0)
    left = calendar.remaining(at(2026, 2, 13, 10, 0), due, True)
    assert left == timedelta(days=8).total_seconds()
    assert calendar.resume(at(2026, 3, 4, 10, 0), left, True) == at(2026, 3, 16, 10, 0)


def test_a_pause_over_a_weekend_costs_no_working_time() -> None:
    """Paused Friday 17:00, resumed Monday 08:00: the clock is pushed by the weekend only."""
    due = at(2025, 9, 17, 17, 0)
    left = calendar.remaining(at(2025, 9, 12, 17, 0), due, True)
    assert calendar.resume(at(2025, 9, 15, 8, 0), left, True) == at(2025, 9, 18, 8, 0)


def test_resuming_on_a_holiday_starts_counting_on_the_next_working_day() -> None:
    """Resumed on Tết's eve with exactly one working day left, the clock ends at the end of
    the first working day after Tết."""
    day = timedelta(days=1).total_seconds()
    assert calendar.resume(at(2026, 2, 16, 9, 0), day, True) == at(2026, 2, 24, 0, 0)


def test_a_calendar_clock_pauses_and_resumes_in_plain_seconds() -> None:
    """Clocks that count calendar days keep calendar time."""
    left = calendar.remaining(at(2025, 9, 1, 9, 0), at(2025, 9, 11, 9, 0), False)
    assert left == timedelta(days=10).total_seconds()
    assert calendar.resume(at(2025, 9, 20, 9, 0), left, False) == at(2025, 9, 30, 9, 0)


def test_an_overdue_clock_has_no_time_left() -> None:
    """A clock paused after its due time resumes already due."""
    assert calendar.remaining(at(2025, 9, 10, 9, 0), at(2025, 9, 9, 9, 0), True) == 0.0
    assert calendar.remaining(at(2025, 9, 10, 9, 0), at(2025, 9, 9, 9, 0), False) == 0.0
