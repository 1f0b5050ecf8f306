"""Who may fire a trigger: the role the lifecycle table names, within the actor's scope."""

from __future__ import annotations

from typing import Any

from states.model import TERMINAL_STATES, Lifecycle, Transition
from workflow.errors import Forbidden
from workflow.facts import Actor, Facts, norm

CITY_WIDE = ("ip_officer", "city_officer", "system")


def scope_problem(actor: Actor, case: dict[str, Any]) -> str | None:
    """Why ``actor`` may not act on ``case``, or ``None`` when the case is theirs to act on."""
    role = actor.role
    if role == "producer":
        if actor.producer_id != case["producer_id"]:
            return f"a producer acts only on their own cases, and case {case['code']} is not theirs"
    elif role == "commune_officer":
        if norm(actor.commune) != norm(case["commune"]):
            return (f"case {case['code']} is in commune {case['commune'] or '(none)'}, and a "
                    f"commune officer of {actor.commune} acts only in their own commune")
    elif role == "district_officer":
        if norm(actor.district) != norm(case["district"]):
            return (f"case {case['code']} is in district {case['district']}, and a district "
                    f"officer of {actor.district} acts only in their own district")
    elif role not in CITY_WIDE:
        return f"the {role} role reads cases but does not act on them"
    return None


def check_actor(f: Facts, rows: tuple[Transition, ...]) -> None:
    actor, trigger = f.event.actor, f.event.trigger
    allowed = sorted(set().union(*(r.roles for r in rows)))
    if actor.role not in allowed:
        raise Forbidden(f"Role {actor.role} may not {trigger} case {f.code} in state {f.state}; "
                        f"that is for {' or '.join(allowed)}.")
    problem = scope_problem(actor, f.case)
    if problem:
        raise Forbidden(f"{actor.name} may not {trigger} case {f.code}: {problem}.")


def refusal_hint(lc: Lifecycle, state: str) -> str:
    """The clause that ends a wrong-state sentence: what the case may take now."""
    if state in TERMINAL_STATES:
        return f"{state} is final, so no trigger is allowed"
    return f"allowed from {state} now: {', '.join(lc.triggers_from(state))}"
