"""The outcome predicates: the named conditions of the rows of a routed trigger.

A row's ``conditions`` name predicates of ``states.model.OUTCOME_PREDICATES``; the version's
shared machine (``machines``) fires the first row, in table order, whose predicates all hold.
Each predicate reads the facts, the plan ``effects`` computed (score, capped stars, mandatory
criteria) and the destination of the row it is asked about; none chooses a destination.
"""

from __future__ import annotations

from collections.abc import Callable

import states
from workflow.domain.facts import Facts
from workflow.domain.plan import Plan
from workflow.domain.scoring import stars_for

Predicate = Callable[[Facts, Plan, "str | None"], bool]


def _stars(p: Plan) -> int:
    return int(p.updates["stars"])


def fails_review(f: Facts, p: Plan, dest: str | None) -> bool:
    """A mandatory criterion failed, or the score is below 50 (DOMAIN.md §2)."""
    return not p.mandatory_ok or stars_for(float(p.updates["score"])) < 3


def district_certifies_band(f: Facts, p: Plan, dest: str | None) -> bool:
    return (not fails_review(f, p, dest)
            and _stars(p) in states.lifecycle(f.rule_version).district_certifies)


def beyond_district(f: Facts, p: Plan, dest: str | None) -> bool:
    return (not fails_review(f, p, dest)
            and _stars(p) not in states.lifecycle(f.rule_version).district_certifies)


def central_candidate(f: Facts, p: Plan, dest: str | None) -> bool:
    """Potential 5★: at or above the central threshold, with no star cap."""
    return (not fails_review(f, p, dest) and f.case["star_cap"] is None
            and float(p.updates["score"]) >= f.settings.central_threshold)


def city_certifies_band(f: Facts, p: Plan, dest: str | None) -> bool:
    """The city certifies the stars scored (at most 4★) at a level of the version's data."""
    return (not fails_review(f, p, dest) and not central_candidate(f, p, dest)
            and min(_stars(p), 4) in states.lifecycle(f.rule_version).city_levels)


def city_rejects(f: Facts, p: Plan, dest: str | None) -> bool:
    return not central_candidate(f, p, dest) and not city_certifies_band(f, p, dest)


def prescore_unmet(f: Facts, p: Plan, dest: str | None) -> bool:
    return not all(f.data["criteria"].values())


def prescore_met(f: Facts, p: Plan, dest: str | None) -> bool:
    return not prescore_unmet(f, p, dest)


def returns_to_asker(f: Facts, p: Plan, dest: str | None) -> bool:
    """The row leads back to the state that asked for completion."""
    return bool(f.case["return_state"] == dest)


PREDICATES: dict[str, Predicate] = {
    fn.__name__: fn for fn in (
        fails_review, district_certifies_band, beyond_district, central_candidate,
        city_certifies_band, city_rejects, prescore_unmet, prescore_met, returns_to_asker,
    )
}
