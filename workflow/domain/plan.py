"""What an event does to a case besides moving it, as ``effects`` computes it and the engine
writes it. Its own module so that ``effects``, ``explain`` and ``outcomes`` read it without
importing one another."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from workflow.domain.scoring import Sheet


@dataclass(frozen=True)
class Issue:
    stars: int
    level: str  # district | city | central
    decision_no: str | None = None


@dataclass
class Plan:
    """``dest`` is the destination of the row the version's machine fired (``None`` until it
    fired, and for an internal event); effects never choose it."""

    dest: str | None = None
    updates: dict[str, Any] = field(default_factory=dict)
    sheets: list[Sheet] = field(default_factory=list)
    sheet_level: str | None = None
    mandatory_ok: bool = True
    issue: Issue | None = None
    end_certificates: str | None = None  # expired | revoked
    audit: dict[str, Any] = field(default_factory=dict)
