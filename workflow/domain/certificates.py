"""Certificates: numbers, the 36-month validity and the clocks that follow it."""

from __future__ import annotations

import calendar as _calendar
import secrets
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


# Crockford's base 32 without its last letter: no I, L, O or U to misread on paper, and 31
# symbols, a prime, so the check character catches every single typo and neighbour swap.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXY"
RANDOM_CHARS = 8  # 31**8: about 8.5 * 10**11 numbers a year per level; guessing is hopeless


def number(level: str, issued_on: date) -> str:
    """``HN-TP-2026-7K3QX9MD`` + a check character: level, year and a random part, so a
    number tells nothing about the case and cannot be guessed from another (it embedded the
    case id before: one hit in 39 guesses). The check character catches a mistyped one."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return f"HN-{LEVEL_CODES[level]}-{issued_on.year}-{body}{check_char(body)}"


def check_char(body: str) -> str:
    """A weighted sum mod 31 over the random part: any one wrong character or swap of two
    neighbours changes it (31 is prime and every weight is below it)."""
    total = sum((i + 1) * ALPHABET.index(ch) for i, ch in enumerate(body))
    return ALPHABET[total % len(ALPHABET)]


def well_formed(value: str) -> bool:
    """Whether ``value`` looks like a number this engine issues, check character included."""
    parts = value.split("-")
    if len(parts) != 4 or parts[0] != "HN" or parts[1] not in LEVEL_CODES.values():
        return False
    tail = parts[3]
    return (parts[2].isdigit() and len(tail) == RANDOM_CHARS + 1
            and all(ch in ALPHABET for ch in tail) and check_char(tail[:-1]) == tail[-1])


def clocks(last_valid_day: date) -> list[tuple[str, datetime]]:
    end = expires_at(last_valid_day)
    return [(kind, end - timedelta(days=days)) for kind, days in NOTICES] + [("cert_expiry", end)]
