"""One shared ``transitions.Machine`` per rule version serves every case.

A case is not attached with ``add_model``: that binds every trigger and ``is_<state>`` method
onto the model and costs ~150 µs per event (measured), most of a transition's CPU time. The
machine's ``Event`` is fired on a small stand-in model instead (~18 µs).

Each row's conditions are the outcome predicates it names (``outcomes.PREDICATES``); the
machine tries the trigger's rows from the case's state in table order and fires the first
whose conditions all hold. So the table is the only place a destination comes from: when no
row's conditions hold nothing fires, and the engine raises instead of choosing
(``workflow.domain.decide.PlanOffTable``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from transitions import EventData, Machine

import states
from states.model import Lifecycle
from workflow.domain import outcomes
from workflow.domain.facts import Facts
from workflow.domain.plan import Plan


class _Firing:
    """Stand-in model for one event: the case's state, the facts and the computed plan, and
    the destination of the row that fired."""

    __slots__ = ("facts", "fired", "plan", "state")

    def __init__(self, state: str, facts: Facts, plan: Plan) -> None:
        self.state = state
        self.facts = facts
        self.plan = plan
        self.fired: str | None = None


class Fired(NamedTuple):
    state: str  # the case's state afterwards (its state before, for an internal event)
    dest: str | None  # the fired row's destination (None for an internal event)


def _condition(name: str) -> Callable[[EventData], bool]:
    """The predicate ``name`` as a condition (looked up when asked, so a test may replace it)."""
    def holds(event: EventData) -> bool:
        firing: _Firing = event.model  # type: ignore[assignment]
        dest = event.transition.dest if event.transition is not None else None
        return outcomes.PREDICATES[name](firing.facts, firing.plan, dest)
    holds.__name__ = name
    return holds


def _record(event: EventData) -> None:
    firing: _Firing = event.model  # type: ignore[assignment]
    firing.fired = event.transition.dest if event.transition is not None else None


def _definition(lc: Lifecycle) -> list[dict[str, Any]]:
    unknown = {n for row in lc.transitions for n in row.conditions} - set(outcomes.PREDICATES)
    if unknown:
        raise KeyError(f"rule version {lc.version} names unknown outcome predicates {unknown}")
    return [{"trigger": row.trigger, "source": row.source, "dest": row.dest,
             "conditions": [_condition(n) for n in row.conditions], "after": [_record]}
            for row in lc.transitions]


@cache
def machine(version: str) -> Machine:
    lc = states.lifecycle(version)
    return Machine(model=None, states=list(lc.states), transitions=_definition(lc),
                   initial=lc.states[0], auto_transitions=False, send_event=True)


def fire(version: str, state: str, trigger: str, facts: Facts, plan: Plan) -> Fired | None:
    """The first row of ``trigger`` from ``state`` whose conditions hold for ``facts`` and
    ``plan``, fired: the state after it and the row's destination; ``None`` when none holds."""
    firing = _Firing(state, facts, plan)
    moved = machine(version).events[trigger].trigger(firing)
    return Fired(firing.state, firing.fired) if moved else None
