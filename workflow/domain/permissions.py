"""Who may fire a trigger: the role the lifecycle table names, within the actor's scope."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from states.model import TERMINAL_STATES, Lifecycle, Transition
from workflow.clock import local
from workflow.domain.facts import Actor, Facts
from workflow.domain.units import REORGANISED_ON
from workflow.errors import Forbidden, clause, render

CITY_WIDE = ("ip_officer", "city_officer", "system")


def scope_reason(actor: Actor, case: dict[str, Any]) -> dict[str, Any] | None:
    """Why ``actor`` may not act on ``case`` (a :func:`~workflow.errors.clause` of an error), or
    ``None`` when the case is theirs to act on. ``case`` may be a producer: the same scope.
    Officers' scope compares unit keys (``commune_code``, ``district_code``), never names."""
    role = actor.role
    if role == "producer":
        if actor.producer_id != case["producer_id"]:
            return clause("scope_not_own")
    elif role == "commune_officer":
        if not actor.unit or actor.unit != case.get("commune_code"):
            return clause("scope_other_commune", commune=_unit_words(case, "commune"),
                          own=f"{actor.commune or '—'} [{actor.unit or '—'}]")
    elif role == "district_officer":
        if not actor.unit or actor.unit != case.get("district_code"):
            return clause("scope_other_district", district=_unit_words(case, "district"),
                          own=f"{actor.district or '—'} [{actor.unit or '—'}]")
    elif role not in CITY_WIDE:
        return clause("scope_read_only", role=role)
    return None


def _unit_words(case: dict[str, Any], level: str) -> str:
    return f"{case.get(level) or '—'} [{case.get(level + '_code') or '—'}]"


def ended_reason(actor: Actor, on: date) -> dict[str, Any] | None:
    """Why ``actor`` may no longer write on ``on``: their unit ended before it (a district
    officer from 2025-07-01). They keep reading their unit's history."""
    if actor.unit_ended is not None and on > actor.unit_ended:
        return clause("scope_unit_ended", unit=f"{actor.district or actor.commune or '—'}",
                      ended=actor.unit_ended.isoformat())
    return None


def acting_roles(roles: Iterable[str], on: date, successor: str) -> set[str]:
    """The roles that act on a row naming ``roles`` on day ``on``: after the districts ended
    (2025-07-01) a district stage is also the ``successor``'s (the commune officer's or the
    city office's, ``OCOP_DISTRICT_SUCCESSOR``)."""
    out = set(roles)
    if "district_officer" in out and on >= REORGANISED_ON:
        out.add(successor)
    return out


def scope_problem(actor: Actor, case: dict[str, Any], lang: str = "en") -> str | None:
    """:func:`scope_reason` as words in ``lang``."""
    why = scope_reason(actor, case)
    return None if why is None else render(why["code"], why["params"], lang)


def check_actor(f: Facts, rows: tuple[Transition, ...]) -> None:
    actor, trigger = f.event.actor, f.event.trigger
    today = local(f.now).date()
    allowed = sorted(set().union(*(acting_roles(r.roles, today, f.settings.district_successor)
                                   for r in rows)))
    if actor.role not in allowed:
        raise Forbidden("role_may_not", role=actor.role, trigger=trigger, case=f.code,
                        state=f.state, roles=allowed)
    # A retired unit's officer is told first that the unit ended: it holds for every case.
    why = ended_reason(actor, today) or scope_reason(actor, f.case)
    if why:
        raise Forbidden("out_of_scope", actor=actor.name, trigger=trigger, case=f.code, why=why)


def refusal_hint(lc: Lifecycle, state: str) -> dict[str, Any]:
    """The clause that ends a wrong-state sentence: what the case may take now."""
    if state in TERMINAL_STATES:
        return clause("hint_state_final", state=state)
    return clause("hint_allowed_now", state=state, allowed=list(lc.triggers_from(state)))
