"""One shared ``transitions.Machine`` per rule version serves every case.

A case is not attached with ``add_model``: that binds every trigger and ``is_<state>`` method
onto the model and costs ~150 µs per event (measured), most of a transition's CPU time. The
machine's ``Event`` is fired on a small stand-in model instead (~18 µs).

Every row carries one named condition, ``leads_to_outcome``: the row fires only when its
destination is the outcome the engine planned. So the table is the only place a destination
comes from: a plan whose outcome no row of the table leads to fires nothing, and the engine
raises instead of choosing (``workflow.domain.decide.PlanOffTable``).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from transitions import EventData, Machine

import states
from states.model import Lifecycle


class _Firing:
    """Stand-in model for one event: the case's state and the outcome the engine computed."""

    __slots__ = ("outcome", "state")

    def __init__(self, state: str, outcome: str | None) -> None:
        self.state = state
        self.outcome = outcome


def leads_to_outcome(event: EventData) -> bool:
    """The row's destination is the planned outcome (``None`` for an internal event)."""
    firing: _Firing = event.model  # type: ignore[assignment]
    return event.transition is not None and event.transition.dest == firing.outcome


def _definition(lc: Lifecycle) -> list[dict[str, Any]]:
    return [{"trigger": row.trigger, "source": row.source, "dest": row.dest,
             "conditions": [leads_to_outcome]} for row in lc.transitions]


@cache
def machine(version: str) -> Machine:
    lc = states.lifecycle(version)
    return Machine(model=None, states=list(lc.states), transitions=_definition(lc),
                   initial=lc.states[0], auto_transitions=False, send_event=True)


def fire(version: str, state: str, trigger: str, outcome: str | None) -> str | None:
    """The state after ``trigger`` from ``state`` when the planned outcome is ``outcome`` (the
    same state for an internal event), or ``None`` when no row of the table leads there."""
    firing = _Firing(state, outcome)
    moved = machine(version).events[trigger].trigger(firing)
    return firing.state if moved else None
