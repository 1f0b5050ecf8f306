"""What an event does to a case besides moving it, as ``effects`` computes it and the engine
writes it. Its own module so that ``effects``, ``explain`` and ``outcomes`` read it without
importing one another."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from workflow.domain.scoring import Sheet


@dataclass(frozen=True)
class Issue:
    """A certificate to issue. Without ``decision_date`` it is *pending* (DOMAIN.md §9): in
    force only once ``record_decision`` gives it its decision. ``scored_on``: the day its
    council scored (its entry date unless the event says otherwise)."""

    stars: int
    level: str  # district | city | central
    decision_no: str | None = None
    decision_date: date | None = None
    decision_body: str | None = None
    scored_on: date | None = None


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
    # ``record_decision``: the pending certificate's number and its decision's fields.
    decide: dict[str, Any] | None = None
    audit: dict[str, Any] = field(default_factory=dict)


def with_decision(issue: Issue, decision: dict[str, Any] | None, day: date | None,
                  scored_on: date | None) -> Issue:
    """``issue`` with the decision that came with its event (``day`` its checked date) and
    the day its council scored."""
    if decision is None or day is None:
        return replace(issue, scored_on=scored_on)
    return replace(issue, decision_no=decision["number"], decision_date=day,
                   decision_body=decision["body"], scored_on=scored_on)
