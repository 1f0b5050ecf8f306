"""Working days in Vietnam: weekends and public holidays (Tết included) do not count."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from workflow.clock import VIETNAM, local

DAY = 86400.0


@lru_cache(maxsize=64)
def _holidays_of(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("VN", years=year))


@lru_cache(maxsize=64)
def _weekend_workdays_of(year: int) -> frozenset[date]:
    """Saturdays the government works to bridge a holiday (e.g. 26 April 2025 for 2 May)."""
    calendar = holidays.country_holidays("VN", years=year)
    return frozenset(d for d in getattr(calendar, "weekend_workdays", ()) if d.year == year)


def is_working_day(day: date) -> bool:
    if day in _weekend_workdays_of(day.year):
        return True
    return day.weekday() < 5 and day not in _holidays_of(day.year)


def add_working_days(start: datetime, days: int) -> datetime:
    """``start`` moved forward by ``days`` working days, keeping the local time of day."""
    at = local(start)
    return datetime.combine(_working_days_after(at.date(), days), at.timetz())


@lru_cache(maxsize=4096)
def _working_days_after(day: date, days: int) -> date:
    """The day ``days`` working days after ``day`` (every transition opening an office clock
    asks this for today: the walk over the calendar is done once a day and amount)."""
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


def add_clock(start: datetime, amount: int, working_days: bool) -> datetime:
    if working_days:
        return add_working_days(start, amount)
    return local(start) + timedelta(days=amount)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=VIETNAM)


def working_seconds_between(start: datetime, end: datetime) -> float:
    """Seconds of working days in [start, end): what a paused office clock still has."""
    a, b = local(start), local(end)
    if b <= a:
        return 0.0
    total, day = 0.0, a.date()
    while day <= b.date():
        if is_working_day(day):
            lo = max(a, _day_start(day))
            hi = min(b, _day_start(day + timedelta(days=1)))
            total += max(0.0, (hi - lo).total_seconds())
        day += timedelta(days=1)
    return total


def add_working_seconds(start: datetime, seconds: float) -> datetime:
    """The moment ``seconds`` of working time after ``start``: how a paused clock resumes."""
    at, left = local(start), seconds
    while True:
        if is_working_day(at.date()):
            day_end = _day_start(at.date() + timedelta(days=1))
            room = (day_end - at).total_seconds()
            if left <= room:
                return at + timedelta(seconds=left)
            left -= room
            at = day_end
        else:
            at = _day_start(at.date() + timedelta(days=1))


def remaining(now: datetime, due: datetime, working_days: bool) -> float:
    if working_days:
        return working_seconds_between(now, due)
    return max(0.0, (due - now).total_seconds())


def resume(now: datetime, seconds: float, working_days: bool) -> datetime:
    if working_days:
        return add_working_seconds(now, seconds)
    return local(now) + timedelta(seconds=seconds)
