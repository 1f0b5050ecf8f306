"""The outcome predicates that the rows of a routed trigger name: at every band edge, for
every version, exactly one row's conditions hold, and it is the row the rules of DOMAIN.md §2
and §9 want; the machine fires that row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

import states
from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    CITY_RATING,
    DISTRICT_REVIEW,
    OUTCOME_PREDICATES,
    REJECTED,
)
from workflow.config import Settings
from workflow.domain import machines, outcomes
from workflow.domain.facts import Actor, Event, Facts
from workflow.domain.plan import Plan
from workflow.domain.scoring import capped, stars_for

EDGES = (29.99, 49.99, 50.0, 69.99, 70.0, 89.99, 90.0, 100.0)
NOW = datetime(2026, 11, 30, 9, 0)


def _facts(version: str, state: str, trigger: str, cap: int | None = None,
           data: dict[str, Any] | None = None) -> Facts:
    case = {"code": "C-1", "state": state, "star_cap": cap, "return_state": None}
    event = Event("C-1", trigger, Actor("someone", "city_officer"), data or {})
    return Facts(case, event, NOW, Settings(), version)


def _plan(score: float, cap: int | None, mandatory_ok: bool = True) -> Plan:
    stars = capped(stars_for(score), cap)
    return Plan(updates={"score": score, "stars": stars}, mandatory_ok=mandatory_ok)


def _holding(version: str, trigger: str, state: str, f: Facts, p: Plan) -> list[str | None]:
    rows = states.lifecycle(version).rows(trigger, state)
    return [r.dest for r in rows
            if all(outcomes.PREDICATES[n](f, p, r.dest) for n in r.conditions)]


def test_the_predicate_names_of_states_are_the_implemented_ones() -> None:
    """Every name ``states`` lists is implemented once in ``outcomes``, and every row's
    conditions use only those names."""
    assert set(outcomes.PREDICATES) == OUTCOME_PREDICATES
    used = {n for lc in states.LIFECYCLES.values() for r in lc.transitions for n in r.conditions}
    assert used <= OUTCOME_PREDICATES


def _city_expected(version: str, score: float, cap: int | None, ok: bool) -> str:
    if not ok or score < 50:
        return REJECTED
    if cap is None and score >= Settings().central_threshold:
        return CENTRAL_REVIEW
    stars = min(capped(stars_for(score), cap), 4)
    return CERTIFIED if stars in states.lifecycle(version).city_levels else REJECTED


@pytest.mark.parametrize("version", states.RULE_VERSIONS)
@pytest.mark.parametrize("cap", [None, 3, 4])
@pytest.mark.parametrize("ok", [True, False])
def test_exactly_one_city_row_holds_at_each_band_edge(
        version: str, cap: int | None, ok: bool) -> None:
    """``record_city_score`` at each band edge, with and without a star cap and a failed
    mandatory criterion: one row's conditions hold, the expected one, and the machine fires it."""
    for score in EDGES:
        f, p = _facts(version, CITY_RATING, "record_city_score", cap), _plan(score, cap, ok)
        expected = _city_expected(version, score, cap, ok)
        assert _holding(version, "record_city_score", CITY_RATING, f, p) == [expected], score
        fired = machines.fire(version, CITY_RATING, "record_city_score", f, p)
        assert fired is not None and fired.dest == expected, score


@pytest.mark.parametrize("version", [v for v in states.RULE_VERSIONS
                                     if states.lifecycle(v).rows("record_district_score")])
@pytest.mark.parametrize("ok", [True, False])
def test_exactly_one_district_row_holds_at_each_band_edge(version: str, ok: bool) -> None:
    """``record_district_score``: below 50 or a failed mandatory criterion rejects; a band the
    district certifies (148: 3★) is certified there; a better one goes on down the table."""
    lc = states.lifecycle(version)
    onward = {r.dest for r in lc.rows("record_district_score")} - {REJECTED, CERTIFIED}
    for score in EDGES:
        f, p = _facts(version, DISTRICT_REVIEW, "record_district_score"), _plan(score, None, ok)
        if not ok or score < 50:
            expected = REJECTED
        elif stars_for(score) in lc.district_certifies:
            expected = CERTIFIED
        else:
            (expected,) = onward
        holding = _holding(version, "record_district_score", DISTRICT_REVIEW, f, p)
        assert holding == [expected], score


@pytest.mark.parametrize("criteria,expected", [({"a": True, "b": True}, "ip_check"),
                                               ({"a": True, "b": False}, REJECTED)])
def test_exactly_one_prescore_row_holds(criteria: dict[str, bool], expected: str) -> None:
    """1489's commune pre-score: every criterion met goes on to the IP check, one unmet
    rejects."""
    version = next(v for v in states.RULE_VERSIONS
                   if states.lifecycle(v).rows("record_commune_prescore"))
    f = _facts(version, "commune_prescore", "record_commune_prescore", data={"criteria": criteria})
    assert _holding(version, "record_commune_prescore", "commune_prescore", f, Plan()) == [
        expected]


def test_flipping_one_predicate_changes_the_row_the_machine_fires(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A 75-point city score under 148 is certified; with ``city_rejects`` made true the same
    facts fire the rejecting row (first in table order), with ``central_candidate`` also true
    the certifying row still wins (rows are tried in table order), and with
    ``city_certifies_band`` made false no row fires: the row comes from the predicates."""
    version = "148"
    f, p = _facts(version, CITY_RATING, "record_city_score"), _plan(75.0, None)
    fired = machines.fire(version, CITY_RATING, "record_city_score", f, p)
    assert fired is not None and fired.dest == CERTIFIED
    with monkeypatch.context() as patched:
        patched.setitem(outcomes.PREDICATES, "city_rejects", lambda f, p, d: True)
        fired = machines.fire(version, CITY_RATING, "record_city_score", f, p)
        assert fired is not None and fired.dest == REJECTED
    with monkeypatch.context() as patched:
        patched.setitem(outcomes.PREDICATES, "central_candidate", lambda f, p, d: True)
        fired = machines.fire(version, CITY_RATING, "record_city_score", f, p)
        assert fired is not None and fired.dest == CERTIFIED
    monkeypatch.setitem(outcomes.PREDICATES, "city_certifies_band", lambda f, p, d: False)
    assert machines.fire(version, CITY_RATING, "record_city_score", f, p) is None
