"""A rule version is data in ``states/``: the engine names none, a version registered only for a
test runs a case end to end, every destination comes from the version's table, and "what may I
do" is the engine's own decision as a dry run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import cast

import pytest

import states
from states.common import (
    SHARED_CLOCKS,
    city_score_rows,
    completion_rows,
    many,
    roles,
    shared_rows,
)
from states.groups import GROUPS, MAP_1048_TO_148
from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    CITY_OFFICER,
    CITY_RATING,
    DRAFT,
    EXPIRED,
    NEEDS_COMPLETION,
    REEVALUATION,
    REGISTERED,
    REJECTED,
    REVOKED,
    WITHDRAWN,
    Clock,
    Lifecycle,
    Transition,
)
from tests.support import DOCS, World, sim_sheets
from tests.unit.lifecycle_support import refused
from workflow.domain import machines, outcomes
from workflow.domain.decide import PlanOffTable
from workflow.domain.facts import Facts
from workflow.domain.plan import Plan
from workflow.errors import InvalidInput
from workflow.store import queries
from workflow.store.audit import verify

ROOT = Path(__file__).resolve().parents[2]

# A rule version that exists only here: the city starts the review itself (no commune or
# district stage), certifies 4★ only (a 3★ score is rejected), and part A is worth 30.
CITY_ONLY = Lifecycle(
    version="t-city4",
    title="A test-only rule version",
    states=(DRAFT, REGISTERED, CITY_RATING, NEEDS_COMPLETION, CENTRAL_REVIEW, CERTIFIED,
            REEVALUATION, REJECTED, WITHDRAWN, EXPIRED, REVOKED),
    transitions=(
        *many("start_review", [REGISTERED, REEVALUATION], CITY_RATING, roles(CITY_OFFICER)),
        *completion_rows({CITY_RATING: CITY_OFFICER}),
        *city_score_rows(),
        Transition("record_central_result", CENTRAL_REVIEW, CERTIFIED, roles(CITY_OFFICER),
                   ("central_decision",)),
        *shared_rows((CITY_RATING,)),
    ),
    in_force_from=date(2025, 8, 1),
    clocks={**SHARED_CLOCKS, CITY_RATING: Clock("city_rating", 20, True, "office")},
    part_maxima=(30, 30, 40),
    city_levels={4: "city"},
    groups=GROUPS,
    group_map=MAP_1048_TO_148,
)


@pytest.fixture
def city_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Lifecycle]:
    """CITY_ONLY registered (in force from 2025-08-01, before the test world's start) for one
    test; the registry and the machines are as before afterwards."""
    monkeypatch.setitem(states.LIFECYCLES, CITY_ONLY.version, CITY_ONLY)
    machines.machine.cache_clear()
    yield CITY_ONLY
    machines.machine.cache_clear()


def _source_files() -> list[Path]:
    return [*sorted((ROOT / "workflow").rglob("*.py")), *sorted((ROOT / "tasks").rglob("*.py")),
            ROOT / "worker.py"]


def test_no_code_outside_states_names_a_rule_version() -> None:
    """No version literal ("1048", '148'…) and no ``rule_version ==`` a literal in workflow/,
    tasks/ or worker.py: what differs between versions is data of the version."""
    literal = re.compile("|".join(rf"""["']{re.escape(v)}["']""" for v in states.LIFECYCLES))
    compared = re.compile(r"""rule_version\s*[!=]=\s*["'\d]""")
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in _source_files()
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if literal.search(line) or compared.search(line)]
    assert not found, "\n".join(found)


def test_the_version_in_force_comes_from_each_versions_own_date(city_only: Lifecycle) -> None:
    """The in-force table is read from the registry: a registered version governs from its own
    date, the older ones before it."""
    assert states.rule_version_for(date(2025, 8, 1)) == "t-city4"
    assert states.rule_version_for(date(2025, 7, 31)) == states.rule_version_for(date(2025, 7, 6))
    assert states.newest_version() == "t-city4"


def test_a_case_runs_end_to_end_under_a_test_only_rule_version(
        world: World, city_only: Lifecycle) -> None:
    """Registered, started by the city (this version's path), scored 75 → a city 4★
    certificate, the case and its audit entries under the test-only version, the chain intact."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    started = world.fire(code, "start_review", "city")
    assert started.to_state == "city_rating"
    applied = world.fire(code, "record_city_score", "city", sim_sheets((30, 25, 20)))
    assert (applied.from_state, applied.to_state) == ("city_rating", "certified")
    with world.app.db.connect() as conn:
        view = queries.case_view(conn, code)
        assert verify(conn, code).ok
    assert view["rule_version"] == "t-city4" and view["stars"] == 4
    assert view["certificate"]["level"] == "city" and view["certificate"]["stars"] == 4
    assert {h["rule_version"] for h in view["history"]} == {"t-city4"}


def test_the_test_only_versions_bands_and_maxima_are_its_own(
        world: World, city_only: Lifecycle) -> None:
    """Under this version a city 3★ score is rejected (its city certifies 4★ only) and part A
    over 30 is refused, where 1489 would certify 3★ and accept up to 40."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "city")
    message = refused(world.app, code, InvalidInput, lambda: world.fire(
        code, "record_city_score", "city", sim_sheets((35, 20, 20))))
    assert "30" in message
    applied = world.fire(code, "record_city_score", "city", sim_sheets((25, 20, 15)))
    assert applied.to_state == "rejected"


def _versions() -> list[str]:
    return [*states.RULE_VERSIONS, CITY_ONLY.version]


@pytest.mark.parametrize("version", _versions())
def test_every_routed_row_is_chosen_by_its_named_conditions(
        version: str, city_only: Lifecycle, monkeypatch: pytest.MonkeyPatch) -> None:
    """For every trigger with several rows from one state, in every version: every row names
    outcome predicates, and with its predicates holding for it alone the shared machine fires
    exactly that row; with none holding it fires nothing."""
    lc = states.lifecycle(version)
    routed = {(r.trigger, r.source) for r in lc.transitions if lc.is_routed(r.trigger, r.source)}
    assert routed
    facts, plan = cast(Facts, None), Plan()
    for trigger, source in routed:
        rows = lc.rows(trigger, source)
        assert all(r.conditions for r in rows), rows
        names = {n for r in rows for n in r.conditions}
        for row in rows:
            for name in names:
                holds = name in row.conditions  # and only when asked about this row
                monkeypatch.setitem(outcomes.PREDICATES, name,
                                    lambda f, p, d, holds=holds, want=row.dest: holds and d == want)
            fired = machines.fire(version, source, trigger, facts, plan)
            assert fired is not None and fired.dest == row.dest, (row, fired)
        for name in names:
            monkeypatch.setitem(outcomes.PREDICATES, name, lambda f, p, d: False)
        assert machines.fire(version, source, trigger, facts, plan) is None


def test_an_event_no_row_holds_for_is_an_error_not_a_choice(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """If no row of ``resubmit`` has conditions that hold (its ``returns_to_asker`` made false),
    the engine raises an internal error; the case is not moved and nothing is written."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "request_completion", "commune1", {"days": 10}, reason="thiếu ảnh")
    monkeypatch.setitem(outcomes.PREDICATES, "returns_to_asker", lambda f, p, d: False)
    with world.app.db.connect() as conn:
        before = queries.case_view(conn, code)
    with pytest.raises(PlanOffTable, match="no row of the 1489 table"):
        world.fire(code, "resubmit", "producer1", DOCS)
    with world.app.db.connect() as conn:
        assert queries.case_view(conn, code) == before


def _offered(world: World, code: str, who: str, lang: str = "en") -> dict[str, dict[str, object]]:
    with world.app.db.connect() as conn:
        rows = queries.allowed(conn, code, world.actors[who], world.clock.now(), lang,
                                settings=world.app.engine.settings)
    return {str(r["trigger"]): r for r in rows}


def test_allowed_marks_acts_that_need_the_events_data(world: World) -> None:
    """A draft whose required documents are not uploaded may not be submitted yet, and the
    dry run says which (``dossier_complete`` reads the uploads, not the event); once they are,
    nothing is missing. A ``request_completion`` is open to the commune officer but needs a
    reason."""
    settings = world.app.engine.settings
    world.app.engine.settings = replace(settings, required_documents=("business_plan",))
    try:
        code = world.register()
        submit = _offered(world, code, "producer1")["submit"]
        assert not submit["allowed"] and submit["why_code"] == "dossier_incomplete"
        world.upload(code, "business_plan")
        submit = _offered(world, code, "producer1")["submit"]
        assert submit["allowed"] and submit["needs_input"] == []
        world.fire(code, "submit", "producer1", {})
    finally:
        world.app.engine.settings = settings
    world.fire(code, "start_review", "commune1")
    asked = _offered(world, code, "commune1")["request_completion"]
    assert asked["allowed"] and asked["needs_input"] == ["reason_required"]


def test_allowed_refuses_by_a_guard_on_the_case_and_says_why(world: World) -> None:
    """The system may withdraw only a case past its completion deadline: on a draft the dry
    run refuses with the guard's own code, rendered in Vietnamese when asked."""
    code = world.register()
    withdraw = _offered(world, code, "system", "vi")["withdraw"]
    assert not withdraw["allowed"] and withdraw["why_code"] == "withdrawal_not_due"
    assert "quá hạn bổ sung" in str(withdraw["why"])


def test_allowed_under_the_test_only_version_follows_its_table(
        world: World, city_only: Lifecycle) -> None:
    """A registered case under the test-only version is the city officer's to start; the
    district officer is told which roles may."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    assert _offered(world, code, "city")["start_review"]["allowed"]
    refusal = _offered(world, code, "district1")["start_review"]
    assert not refusal["allowed"] and refusal["why_code"] == "hint_role_not_allowed"

