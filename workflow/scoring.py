"""Score sheets, the case score (mean of members' totals) and the star bands."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workflow.errors import InvalidInput

BANDS = ((90, 5), (70, 4), (50, 3), (30, 2), (0, 1))
PARTS = ("a", "b", "c")


@dataclass(frozen=True)
class Sheet:
    member: str
    a: float
    b: float
    c: float

    @property
    def total(self) -> float:
        return round(self.a + self.b + self.c, 2)


def stars_for(score: float) -> int:
    """5★ from 90, 4★ from 70, 3★ from 50, 2★ from 30, else 1★ (lower edges inclusive)."""
    for floor, stars in BANDS:
        if score >= floor:
            return stars
    return 1


def capped(stars: int, cap: int | None) -> int:
    return stars if cap is None else min(stars, cap)


def mean_score(sheets: list[Sheet]) -> float:
    total = sum((Decimal(str(s.total)) for s in sheets), Decimal(0))
    mean = (total / len(sheets)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return float(mean)


def parse_sheets(data: dict[str, Any], maxima: tuple[int, int, int], min_sheets: int,
                 version: str) -> tuple[list[Sheet], bool]:
    """The sheets and the mandatory-criteria flag of a scoring event, or ``InvalidInput``."""
    raw = data.get("sheets")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput('Score data needs "sheets": a list of {"member", "a", "b", "c"}.')
    if len(raw) < min_sheets:
        raise InvalidInput(f"A council needs at least {min_sheets} score sheets; "
                           f"{len(raw)} were given.")
    mandatory = data.get("mandatory_ok")
    if not isinstance(mandatory, bool):
        raise InvalidInput('Score data needs "mandatory_ok": true or false.')
    sheets, members = [], set()
    for i, item in enumerate(raw, 1):
        sheet = _parse_sheet(i, item, maxima, version)
        if sheet.member in members:
            raise InvalidInput(f"Council member {sheet.member!r} has more than one score sheet.")
        members.add(sheet.member)
        sheets.append(sheet)
    return sheets, mandatory


def _parse_sheet(i: int, item: Any, maxima: tuple[int, int, int], version: str) -> Sheet:
    if not isinstance(item, dict):
        raise InvalidInput(f"Score sheet {i} must be an object with member, a, b and c.")
    unknown = set(item) - {"member", *PARTS}
    if unknown:
        raise InvalidInput(f"Score sheet {i} has unknown fields {sorted(unknown)}; "
                           "allowed are member, a, b, c.")
    member = item.get("member")
    if not isinstance(member, str) or not member.strip():
        raise InvalidInput(f"Score sheet {i} needs the council member's name in \"member\".")
    values = []
    for part, top in zip(PARTS, maxima, strict=True):
        value = item.get(part)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"Score sheet {i} ({member}) needs part {part.upper()} as a "
                               f"number from 0 to {top}.")
        if not 0 <= value <= top:
            raise InvalidInput(f"Score sheet {i} ({member}) gives part {part.upper()} {value}, "
                               f"but under rule version {version} part {part.upper()} is "
                               f"scored from 0 to {top}.")
        values.append(float(value))
    return Sheet(member.strip(), *values)
