"""Certificates: numbers, the 36-month validity and the clocks that follow it."""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, time, timedelta

from workflow.clock import VIETNAM

VALIDITY_MONTHS = 36
LEVEL_CODES = {"district": "H", "city": "TP", "central": "TW"}
# The statutory notice must reach the producer no later than 30 days before expiry: it is
# scheduled a margin earlier, so a sweep that runs late (downtime) still sends it in time.
STATUTORY_NOTICE_DAYS = 30
NOTICE_MARGIN_DAYS = 3
NOTICES = (("cert_notice_90", 90), ("cert_notice_30", STATUTORY_NOTICE_DAYS + NOTICE_MARGIN_DAYS))
# How many days before expiry each notice is due at the latest (escalated if sent later).
NOTICE_LATEST = {"cert_notice_90": 90, "cert_notice_30": STATUTORY_NOTICE_DAYS}


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, _calendar.monthrange(year, month)[1]))


def valid_to(issued_on: date) -> date:
    """The last day a certificate issued on ``issued_on`` is valid (36 months)."""
    return add_months(issued_on, VALIDITY_MONTHS) - timedelta(days=1)


def expires_at(last_valid_day: date) -> datetime:
    """The moment validity ends: midnight, Vietnam time, after the last valid day."""
    return datetime.combine(last_valid_day + timedelta(days=1), time(0), tzinfo=VIETNAM)


def number(level: str, issued_on: date, case_id: int, nth: int) -> str:
    """A number unique without a global counter: level, year, case and the case's nth one."""
    return f"HN-{LEVEL_CODES[level]}-{issued_on.year}-{case_id:06d}-{nth}"


def clocks(last_valid_day: date) -> list[tuple[str, datetime]]:
    end = expires_at(last_valid_day)
    return [(kind, end - timedelta(days=days)) for kind, days in NOTICES] + [("cert_expiry", end)]
