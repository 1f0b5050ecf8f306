"""What the engine knows about a case while it decides: the locked row and its context."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from workflow.config import Settings


def norm(text: str | None) -> str:
    """Scope comparison: exact after Unicode NFC normalisation and trimming."""
    return unicodedata.normalize("NFC", text or "").strip()


@dataclass(frozen=True)
class Actor:
    """Who acts. ``district``/``commune`` are the officer's unit *names* as shown; ``unit`` is
    its key, which scope compares, and ``unit_ended`` the last day that unit existed (a
    district officer's, 2025-06-30): from the next day the officer only reads."""

    name: str
    role: str
    district: str | None = None
    commune: str | None = None
    producer_id: int | None = None
    unit: str | None = None
    unit_ended: date | None = None


SYSTEM_ACTOR = Actor("system", "system")


@dataclass(frozen=True)
class Event:
    case_code: str
    trigger: str
    actor: Actor
    data: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    idempotency_key: str | None = None
    expected_version: int | None = None


@dataclass
class Facts:
    """The case row (with its producer's columns) and what guards and effects may read."""

    case: dict[str, Any]
    event: Event
    now: datetime
    settings: Settings
    rule_version: str
    certificate: dict[str, Any] | None = None
    open_deadlines: list[dict[str, Any]] = field(default_factory=list)
    # The council the scoring event names (``councils`` row), loaded by the engine.
    council: dict[str, Any] | None = None
    # The document kinds uploaded to the case (for ``submit``/``resubmit``).
    uploaded_kinds: frozenset[str] = frozenset()
    # The case's pending certificate (no decision yet), for ``record_decision``.
    pending: dict[str, Any] | None = None

    @property
    def state(self) -> str:
        return str(self.case["state"])

    @property
    def code(self) -> str:
        return str(self.case["code"])

    @property
    def data(self) -> dict[str, Any]:
        return self.event.data
