"""The OCOP lifecycle as data, one module per rule version. No I/O lives here."""

from __future__ import annotations

from datetime import date

from states import v148, v1048, v1489
from states.groups import GROUPS, GROUPS_1048, normalise_group
from states.model import TERMINAL_STATES, Lifecycle, Transition

LIFECYCLES: dict[str, Lifecycle] = {
    lc.version: lc for lc in (v1048.LIFECYCLE, v148.LIFECYCLE, v1489.LIFECYCLE)
}
RULE_VERSIONS = tuple(LIFECYCLES)
# Every state of every version, in lifecycle order.
ALL_STATES = tuple(dict.fromkeys(s for lc in LIFECYCLES.values() for s in lc.states))

# The first day each decision governs evaluations.
IN_FORCE_FROM = (("1489", date(2025, 7, 6)), ("148", date(2023, 2, 24)), ("1048", date(1, 1, 1)))


def rule_version_for(evaluated_on: date) -> str:
    """The rule version that governs an evaluation made on ``evaluated_on``."""
    for version, start in IN_FORCE_FROM:
        if evaluated_on >= start:
            return version
    raise AssertionError("unreachable: the oldest version starts at year 1")


def lifecycle(version: str) -> Lifecycle:
    return LIFECYCLES[version]


__all__ = [
    "ALL_STATES",
    "GROUPS",
    "GROUPS_1048",
    "LIFECYCLES",
    "RULE_VERSIONS",
    "TERMINAL_STATES",
    "Lifecycle",
    "Transition",
    "lifecycle",
    "normalise_group",
    "rule_version_for",
]
