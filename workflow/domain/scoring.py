"""Score sheets, the case score (mean of members' totals) and the star bands."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from workflow.domain.text import fold
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
        raise InvalidInput("sheets_missing")
    if len(raw) < min_sheets:
        raise InvalidInput("too_few_sheets", minimum=min_sheets, count=len(raw))
    mandatory = data.get("mandatory_ok")
    if not isinstance(mandatory, bool):
        raise InvalidInput("mandatory_ok_missing")
    sheets, members = [], set()
    for i, item in enumerate(raw, 1):
        sheet = _parse_sheet(i, item, maxima, version)
        who = fold(sheet.member)  # one person, however the name's letters were composed
        if who in members:
            raise InvalidInput("duplicate_member", member=sheet.member)
        members.add(who)
        sheets.append(sheet)
    return sheets, mandatory


def _parse_sheet(i: int, item: Any, maxima: tuple[int, int, int], version: str) -> Sheet:
    if not isinstance(item, dict):
        raise InvalidInput("sheet_not_object", sheet=i)
    unknown = set(item) - {"member", *PARTS}
    if unknown:
        raise InvalidInput("sheet_unknown_fields", sheet=i, got=sorted(unknown))
    member = item.get("member")
    if not isinstance(member, str) or not fold(member):
        raise InvalidInput("sheet_member_missing", sheet=i)
    member = unicodedata.normalize("NFC", member)
    values = []
    for part, top in zip(PARTS, maxima, strict=True):
        value = item.get(part)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput("part_not_number", sheet=i, member=member, part=part.upper(),
                               maximum=top)
        if not 0 <= value <= top:
            raise InvalidInput("score_over_maximum", sheet=i, member=member, part=part.upper(),
                               got=value, version=version, maximum=top)
        values.append(float(value))
    return Sheet(member.strip(), *values)
