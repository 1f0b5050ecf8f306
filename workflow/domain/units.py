"""Administrative units as the engine compares them: by key, never by the words people type.

A unit's *key* is the statistics office's code for units in force today (``"10105"``) and
``"old:"`` + the code for units that ended with the 2025 reorganisation (``"old:10120"``,
``"old:278"``): the office reused codes for new wards, so a bare code is not enough to name a
retired one. Names are looked up after :func:`workflow.domain.text.fold`, which makes the
zero-width, no-break-space, case and composition variants of one name the same string.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

LEVELS = ("province", "district", "commune")
OLD = "old:"
# The day the districts and the old communes ended (Resolution 202/2025/QH15, 76/2025/UBTVQH15).
REORGANISED_ON = date(2025, 7, 1)
# The words in front of a unit's name, longest first ("thị xã" before "xã").
TYPE_WORDS = ("thành phố", "thị trấn", "thị xã", "đặc khu", "phường", "huyện", "quận", "tỉnh",
              "xã")
def strip_type(folded: str) -> tuple[str | None, str]:
    """``("xã", "cự khê")`` for ``"xã cự khê"``; ``(None, name)`` when no type word leads."""
    for word in TYPE_WORDS:
        if folded.startswith(word + " ") and len(folded) > len(word) + 1:
            return word, folded[len(word) + 1:]
    return None, folded


def is_old(key: str) -> bool:
    return key.startswith(OLD)


def code_of(key: str) -> str:
    """The statistics office's code inside a key."""
    return key[len(OLD):] if is_old(key) else key


@dataclass(frozen=True)
class Unit:
    key: str
    code: str
    level: str
    kind: str
    name: str
    parent_key: str | None
    province_key: str
    valid_from: date | None
    valid_to: date | None
    parent_name: str | None = None

    def in_force(self, on: date) -> bool:
        return ((self.valid_from is None or self.valid_from <= on)
                and (self.valid_to is None or on <= self.valid_to))

    @property
    def label(self) -> str:
        """``Xã Cự Khê (Huyện Thanh Oai) [old:10120]``: what a list of candidates shows."""
        where = f" ({self.parent_name})" if self.parent_name else ""
        return f"{self.name}{where} [{self.key}]"

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "code": self.code, "level": self.level, "kind": self.kind,
                "name": self.name, "parent": self.parent_key, "parent_name": self.parent_name,
                "province": self.province_key,
                "valid_from": self.valid_from.isoformat() if self.valid_from else None,
                "valid_to": self.valid_to.isoformat() if self.valid_to else None}
