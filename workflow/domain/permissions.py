"""Who may fire a trigger: the role the lifecycle table names, within the actor's scope."""

from __future__ import annotations

from typing import Any

from states.model import TERMINAL_STATES, Lifecycle, Transition
from workflow.domain.facts import Actor, Facts, norm
from workflow.errors import Forbidden, clause, render

CITY_WIDE = ("ip_officer", "city_officer", "system")


def scope_reason(actor: Actor, case: dict[str, Any]) -> dict[str, Any] | None:
    """Why ``actor`` may not act on ``case`` (a :func:`~workflow.errors.clause` of an error), or
    ``None`` when the case is theirs to act on. ``case`` may be a producer: the same scope."""
    role = actor.role
    if role == "producer":
        if actor.producer_id != case["producer_id"]:
            return clause("scope_not_own")
    elif role == "commune_officer":
        if norm(actor.commune) != norm(case["commune"]):
            return clause("scope_other_commune", commune=case["commune"], own=actor.commune)
    elif role == "district_officer":
        if norm(actor.district) != norm(case["district"]):
            return clause("scope_other_district", district=case["district"], own=actor.district)
    elif role not in CITY_WIDE:
        return clause("scope_read_only", role=role)
    return None


def scope_problem(actor: Actor, case: dict[str, Any], lang: str = "en") -> str | None:
    """:func:`scope_reason` as words in ``lang``."""
    why = scope_reason(actor, case)
    return None if why is None else render(why["code"], why["params"], lang)


def check_actor(f: Facts, rows: tuple[Transition, ...]) -> None:
    actor, trigger = f.event.actor, f.event.trigger
    allowed = sorted(set().union(*(r.roles for r in rows)))
    if actor.role not in allowed:
        raise Forbidden("role_may_not", role=actor.role, trigger=trigger, case=f.code,
                        state=f.state, roles=allowed)
    why = scope_reason(actor, f.case)
    if why:
        raise Forbidden("out_of_scope", actor=actor.name, trigger=trigger, case=f.code, why=why)


def refusal_hint(lc: Lifecycle, state: str) -> dict[str, Any]:
    """The clause that ends a wrong-state sentence: what the case may take now."""
    if state in TERMINAL_STATES:
        return clause("hint_state_final", state=state)
    return clause("hint_allowed_now", state=state, allowed=list(lc.triggers_from(state)))
