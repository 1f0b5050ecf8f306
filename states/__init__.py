"""The OCOP lifecycle as data, one module per rule version. No I/O lives here."""

from __future__ import annotations

from datetime import date

from states import v148, v1048, v1489
from states.groups import GROUPS, GROUPS_1048, normalise_group
from states.model import TERMINAL_STATES, Lifecycle, Transition

# The registry: adding a rule version is one module in ``states/`` (its table, its data and its
# in-force date) and one entry here. Nothing outside ``states/`` names a version.
LIFECYCLES: dict[str, Lifecycle] = {
    lc.version: lc for lc in (v1048.LIFECYCLE, v148.LIFECYCLE, v1489.LIFECYCLE)
}
RULE_VERSIONS = tuple(LIFECYCLES)
# Every state of every version, in lifecycle order.
# Triggers only the system fires in every version that has them (expiry, escalation…).
SYSTEM_TRIGGERS = frozenset(
    t for lc in LIFECYCLES.values() for t in lc.triggers()
    if all(row.roles == {"system"} for v in LIFECYCLES.values() for row in v.rows(t)))
ALL_STATES = tuple(dict.fromkeys(s for lc in LIFECYCLES.values() for s in lc.states))


def in_force() -> tuple[tuple[str, date], ...]:
    """Each registered version with the first day it governs evaluations, newest first (read
    from the registry on each call, so a version registered later counts)."""
    return tuple(sorted(((v, lc.in_force_from) for v, lc in LIFECYCLES.items()),
                        key=lambda pair: pair[1], reverse=True))


def rule_version_for(evaluated_on: date) -> str:
    """The rule version that governs an evaluation made on ``evaluated_on``."""
    for version, start in in_force():
        if evaluated_on >= start:
            return version
    raise ValueError(f"no rule version is in force on {evaluated_on}")


def newest_version() -> str:
    """The version most recently in force: what a reader sees when they name none."""
    return in_force()[0][0]


def lifecycle(version: str) -> Lifecycle:
    return LIFECYCLES[version]


__all__ = [
    "ALL_STATES",
    "GROUPS",
    "GROUPS_1048",
    "LIFECYCLES",
    "RULE_VERSIONS",
    "SYSTEM_TRIGGERS",
    "TERMINAL_STATES",
    "Lifecycle",
    "Transition",
    "in_force",
    "lifecycle",
    "newest_version",
    "normalise_group",
    "rule_version_for",
]
