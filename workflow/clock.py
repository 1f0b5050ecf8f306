"""All time comes from a clock passed in; nothing here reads the wall clock but SystemClock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol

VIETNAM = timezone(timedelta(hours=7), "ICT")


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved; for simulation, backfills and tests."""

    def __init__(self, at: datetime) -> None:
        self._at = aware(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = aware(at)

    def advance(self, **delta: float) -> datetime:
        self._at += timedelta(**delta)
        return self._at


def aware(at: datetime) -> datetime:
    """Naive datetimes are read as Vietnam local time (the office's wall clock)."""
    return at if at.tzinfo else at.replace(tzinfo=VIETNAM)


def local(at: datetime) -> datetime:
    return aware(at).astimezone(VIETNAM)


def iso(at: datetime | None) -> str | None:
    return local(at).isoformat() if at is not None else None


def parse_iso(text: str) -> datetime:
    return aware(datetime.fromisoformat(text))
