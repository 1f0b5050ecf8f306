"""Every row of every rule version's lifecycle table, generated from ``states/``: allowed for
each role it names, refused from every other state, for every other role and out of scope.
Every refusal raises the right error with one sentence and leaves every table untouched.

The test clock is September 2025: the districts ended on 2025-06-30, so a row naming the
district officer is acted on by the district's successor (the commune officer) and the district
officer is refused because the unit ended; the rows the district officers acted on before then
are checked again in a world of January 2025 (:class:`~tests.unit.lifecycle_support.EraWorld`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import states
from states.model import TERMINAL_STATES, Transition
from tests.support import BINH_MINH, HA_DONG, START, World, make_app
from tests.unit.lifecycle_support import (
    ACTS_FOR,
    ALL_TRIGGERS,
    ERA_ACTS_FOR,
    IN_SCOPE,
    LATE_TRIGGERS,
    OUT_OF_SCOPE,
    ROLES,
    VERSIONS,
    Driver,
    EraWorld,
    act_day,
    acting,
    all_rows,
    asker,
    case_row,
    era_world,
    expected_stars,
    happy,
    in_era,
    needs_old_units,
    path_to,
    refusal,
    refused,
    role_union,
    row_id,
    rows_by_source,
    why,
    words,
)
from workflow import registry
from workflow.clock import FixedClock
from workflow.domain.facts import Actor, Event
from workflow.domain.units import REORGANISED_ON
from workflow.engine import Applied
from workflow.errors import Forbidden, WrongState
from workflow.store.audit import verify
from workflow.store.db import write_transaction
from workflow.store.schema import audit_entries, outbox


class Zoo:
    """One module-wide world with a case parked in each state of each version, reached by
    real transitions. Refusals change nothing, so every refusal test can share them."""

    def __init__(self) -> None:
        self.app = make_app("sqlite://", FixedClock(START))
        self.world = World(self.app)
        self.drive = Driver(self.world)
        self._parked: dict[tuple[str, str, str | None], str] = {}

    def case(self, version: str, state: str, via: str | None = None) -> str:
        if state == "needs_completion" and via is None:
            via = next(iter(asker_states(version)))
        key = (version, state, via)
        if key not in self._parked:
            self._parked[key] = self.drive.reach(version, state, via)
        return self._parked[key]


def asker_states(version: str) -> tuple[str, ...]:
    return states.lifecycle(version).sources("request_completion")


@pytest.fixture(scope="module")
def zoo() -> Iterator[Zoo]:
    z = Zoo()
    yield z
    z.app.close()


# Triggers that need the case to hold a valid certificate, whatever its state.
HOLDING = ("revoke", "expire_certificate")


def via_for(row: Transition) -> str | None:
    """The asking state a ``needs_completion`` case must come from for this row."""
    if row.source != "needs_completion":
        return None
    return row.dest if row.trigger == "resubmit" else None


def role_cases() -> list[tuple[str, Transition, str]]:
    """Every (row, role) pair, except the system's withdrawals from states other than
    needs_completion: those are always refused by their guard (see test_engine_guards)."""
    return [(v, row, role) for v, row in all_rows() for role in sorted(row.roles)
            if not (row.trigger == "withdraw" and role == "system"
                    and row.source != "needs_completion")]


def audit_count(zoo: Zoo, code: str) -> tuple[int, int]:
    case_id = case_row(zoo.app, code)["id"]
    with zoo.app.db.connect() as conn:
        entries = conn.execute(select(func.count()).select_from(audit_entries)
                               .where(audit_entries.c.case_id == case_id)).scalar_one()
        messages = conn.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.case_id == case_id)).scalar_one()
    return entries, messages


def fire_as_role(zoo: Zoo, version: str, row: Transition, role: str, code: str,
                 acts_for: dict[str, str] = ACTS_FOR) -> Applied:
    """Fire the row as the user who acts for ``role`` with the data that role would send."""
    _, data, reason = happy(version, row.trigger, row.dest, acts_for)
    who = (asker(version, row.source, acts_for) if row.trigger == "request_completion"
           else acts_for[role])
    if row.trigger == "open_reevaluation" and role == "producer":
        data = {"reason": "upgrade"}
    if row.trigger in LATE_TRIGGERS:
        return zoo.drive.expire(code, row.trigger)
    if row.trigger == "withdraw" and role == "system":
        zoo.world.clock.advance(days=31)  # the producer's completion deadline has passed
    with in_era(zoo.world, version, row.trigger, row.source):
        return zoo.world.fire(code, row.trigger, who, data, reason)


def world_for(request: pytest.FixtureRequest, zoo: Zoo, version: str, row: Transition) -> Zoo:
    """``zoo``, or the January 2025 one when the way to the row starts a re-evaluation at a
    district stage before 2025-07-01 (a 1048 one, in 2019): only cases in the old units can."""
    steps = [*path_to(version, row.source, via_for(row), holding=row.trigger in HOLDING),
             (row.trigger, row.source, row.dest)]
    if needs_old_units(zoo.world, version, steps):
        era: Zoo = request.getfixturevalue("era_zoo")
        return era
    return zoo


@pytest.mark.parametrize(("version", "row", "role"), role_cases(),
                         ids=[f"{row_id((v, r))}-by-{role}" for v, r, role in role_cases()])
def test_every_row_moves_the_case_for_every_role_it_names(request: pytest.FixtureRequest,
                                                          zoo: Zoo, version: str,
                                                          row: Transition, role: str) -> None:
    """Each (version, trigger, source, dest) row fires for each role it lists, given valid data:
    the case lands in the row's destination with one more audit entry and a verified chain.
    A district stage is the district's successor's now: the district officer is refused
    because the district ended, and the commune officer of the case's commune acts. (A 1048
    re-evaluation's review starts in 2019: in the January 2025 world, by the district.)"""
    zoo = world_for(request, zoo, version, row)
    era = isinstance(zoo.world, EraWorld)
    code = zoo.drive.reach(version, row.source, via_for(row), holding=row.trigger in HOLDING,
                           pending=row.trigger == "record_decision")
    entries, messages = audit_count(zoo, code)
    start = zoo.world.clock.now()
    if role == "district_officer" and not era:
        _, data, reason = happy(version, row.trigger, row.dest)
        with in_era(zoo.world, version, row.trigger, row.source):
            ended = refusal(zoo.app, code, Forbidden, lambda: zoo.world.fire(
                code, row.trigger, IN_SCOPE[role], data, reason))
        assert why(ended) == "scope_unit_ended", ended.message
        assert "Huyện Thanh Oai" in ended.message and "2025-06-30" in ended.message
        assert zoo.world.clock.now() == start
    try:
        applied = fire_as_role(zoo, version, row, role, code,
                               ERA_ACTS_FOR if era else ACTS_FOR)
    finally:
        zoo.world.clock.set(start)
    assert (applied.from_state, applied.to_state) == (row.source, row.dest or row.source)
    after_entries, after_messages = audit_count(zoo, code)
    assert after_entries == entries + 1
    # A move tells the producer; so does a decision, which puts their certificate in force.
    assert (after_messages > messages) == (row.dest is not None
                                           or row.trigger == "record_decision")
    case = case_row(zoo.app, code)
    assert case["rule_version"] == version and case["audit_seq"] == after_entries
    if case["state"] not in ("revoked", "expired", "withdrawn"):  # stars as they were
        assert case["stars"] == expected_stars(case["state"], case["score"], case["star_cap"])
    with zoo.app.db.connect() as conn:
        assert verify(conn, code).ok


def version_triggers() -> list[tuple[str, str]]:
    return [(v, t) for v in VERSIONS for t in ALL_TRIGGERS]


@pytest.mark.parametrize(("version", "trigger"), version_triggers(),
                         ids=[f"{v}-{t}" for v, t in version_triggers()])
def test_every_trigger_is_refused_from_every_state_it_does_not_leave(zoo: Zoo, version: str,
                                                                     trigger: str) -> None:
    """From each state the table has no row for, the trigger is refused as WrongState with a
    sentence naming the state, where the trigger is allowed and what is allowed now."""
    lc = states.lifecycle(version)
    sources = lc.sources(trigger)
    roles = role_union(lc.rows(trigger)) if sources else frozenset({"city_officer"})
    who = ACTS_FOR[sorted(roles)[0]]
    _, data, reason = happy(version, trigger, None) if trigger not in (
        "record_district_score", "record_city_score") else ("", {}, None)
    for state in lc.states:
        if state in sources:
            continue
        code = zoo.case(version, state)
        message = refused(zoo.app, code, WrongState, lambda code=code: zoo.world.fire(
            code, trigger, who, data, reason))
        assert f"state {words('state', state)}" in message and code in message
        if sources:
            assert f"allowed only from {words('state', *sources)}" in message
        else:
            assert f"does not exist under {words('rules', version)}" in message
        if state in TERMINAL_STATES:
            assert "final" in message
        else:
            assert f"now: {words('trigger', *lc.triggers_from(state))}." in message


def source_rows() -> list[tuple[str, str, str]]:
    return [(v, t, s) for v in VERSIONS for (t, s) in rows_by_source(v)]


@pytest.mark.parametrize(("version", "trigger", "source"), source_rows(),
                         ids=[f"{v}-{t}-{s}" for v, t, s in source_rows()])
def test_every_row_is_refused_for_every_role_it_does_not_name(zoo: Zoo, version: str,
                                                              trigger: str, source: str) -> None:
    """Every role the row does not list (nor takes over: a district stage is the commune
    officer's too after 2025-07-01), supervisor and admin included, is refused as Forbidden
    with a sentence that names the roles the trigger is for."""
    rows = rows_by_source(version)[trigger, source]
    allowed = acting(role_union(rows), act_day(version, trigger, source))
    via = rows[0].dest if trigger == "resubmit" else None
    code = zoo.case(version, source, via)
    _, data, reason = happy(version, trigger, rows[0].dest)
    for role in ROLES:
        if role in allowed:
            continue
        with in_era(zoo.world, version, trigger, source):
            message = refused(zoo.app, code, Forbidden, lambda role=role: zoo.world.fire(
                code, trigger, IN_SCOPE[role], data, reason))
        assert f"Role {words('role', role)} may not take the action {words('trigger', trigger)}" \
            in message
        assert f"that is for {words('role', *sorted(allowed))}." in message


def scoped_rows() -> list[tuple[str, str, str, str]]:
    return [(v, t, s, role) for v, t, s in source_rows()
            for role in sorted(acting(role_union(rows_by_source(v)[t, s]), act_day(v, t, s)))
            if role in OUT_OF_SCOPE]


@pytest.mark.parametrize(("version", "trigger", "source", "role"), scoped_rows(),
                         ids=[f"{v}-{t}-{s}-{r}" for v, t, s, r in scoped_rows()])
def test_every_scoped_role_is_refused_on_another_producers_district_or_commune(
        zoo: Zoo, version: str, trigger: str, source: str, role: str) -> None:
    """A producer acts only on their own cases, a commune officer only in their own commune
    (a district stage's successor included): the right role out of scope is refused as
    Forbidden. The other district's officer is refused too: every district has ended."""
    rows = rows_by_source(version)[trigger, source]
    via = rows[0].dest if trigger == "resubmit" else None
    code = zoo.case(version, source, via)
    _, data, reason = happy(version, trigger, rows[0].dest)
    with in_era(zoo.world, version, trigger, source):
        error = refusal(zoo.app, code, Forbidden, lambda: zoo.world.fire(
            code, trigger, OUT_OF_SCOPE[role], data, reason))
    assert OUT_OF_SCOPE[role] in error.message and code in error.message
    if role == "district_officer" and act_day(version, trigger, source) >= REORGANISED_ON:
        assert why(error) == "scope_unit_ended", error.message
    elif role == "district_officer":  # a 1048 re-evaluation, in 2019: not in their district
        assert why(error) == "scope_other_district", error.message
    else:
        assert why(error) in ("scope_not_own", "scope_other_commune"), error.message
        assert "own" in error.message


class EraZoo(Zoo):
    """:class:`Zoo` in January 2025, when the districts still acted (:class:`EraWorld`)."""

    def __init__(self) -> None:  # the same fields as Zoo, in another era
        self._world = era_world()
        self.world = self._world.__enter__()
        self.app = self.world.app
        self.drive = Driver(self.world)
        self._parked = {}

    def close(self) -> None:
        self._world.__exit__(None, None, None)


@pytest.fixture(scope="module")
def era_zoo() -> Iterator[EraZoo]:
    z = EraZoo()
    yield z
    z.close()


def district_rows() -> list[tuple[str, Transition]]:
    return [(v, row) for v, row in all_rows() if "district_officer" in row.roles]


@pytest.mark.parametrize(("version", "row"), district_rows(),
                         ids=[row_id(item) for item in district_rows()])
def test_before_2025_07_01_every_district_row_moves_for_the_district_officer_alone(
        era_zoo: EraZoo, version: str, row: Transition) -> None:
    """Before the reorganisation the district officer of the producer's district fires every
    row naming the district officer; the other district's officer is refused as out of their
    district, and the commune officer of the case's (old) commune as not a district officer."""
    assert isinstance(era_zoo.world, EraWorld)
    code = era_zoo.drive.reach(version, row.source, via_for(row),
                               pending=row.trigger == "record_decision")
    _, data, reason = happy(version, row.trigger, row.dest, ERA_ACTS_FOR)
    with in_era(era_zoo.world, version, row.trigger, row.source):
        other = refusal(era_zoo.app, code, Forbidden, lambda: era_zoo.world.fire(
            code, row.trigger, OUT_OF_SCOPE["district_officer"], data, reason))
        commune = refused(era_zoo.app, code, Forbidden, lambda: era_zoo.world.fire(
            code, row.trigger, "commune1", data, reason))
    assert why(other) == "scope_other_district", other.message
    assert "Huyện Thanh Oai [old:278]" in other.message
    assert "Quận Hà Đông [old:268]" in other.message
    assert f"that is for {words('role', 'district_officer')}." in commune
    entries, _ = audit_count(era_zoo, code)
    start = era_zoo.world.clock.now()
    try:
        applied = fire_as_role(era_zoo, version, row, "district_officer", code, ERA_ACTS_FOR)
    finally:
        era_zoo.world.clock.set(start)
    assert (applied.from_state, applied.to_state) == (row.source, row.dest)
    assert audit_count(era_zoo, code)[0] == entries + 1
    case = case_row(era_zoo.app, code)
    assert (case["district_code"], case["commune_code"]) == ("old:278", "old:10120")
    with era_zoo.app.db.connect() as conn:
        assert verify(conn, code).ok


@pytest.mark.parametrize("commune", ["Bình Minh", " xã  BÌNH MINH ", "Bình\u200b Minh",
                                     "Bình\u00a0Minh", unicodedata.normalize("NFD", "Bình Minh"),
                                     "10126"])
def test_a_commune_typed_in_any_variant_is_the_same_unit_and_its_officer_acts_in_it(
        zoo: Zoo, commune: str) -> None:
    """A commune officer whose commune was typed decomposed, padded, with a zero-width or
    no-break space, in another case or as its code is the officer of the one unit (10126, Xã
    Bình Minh) and acts on p1's cases there."""
    name = f"commune-{len(zoo._parked)}-{abs(hash(commune))}"
    with write_transaction(zoo.app.db) as conn:
        registry.add_user(conn, zoo.world.clock.now(), name, "commune_officer", None, commune)
        officer = registry.actor_named(conn, name)
    assert (officer.unit, officer.commune) == (BINH_MINH, "Xã Bình Minh")
    code = zoo.drive.reach("1489", "registered")
    applied = zoo.app.engine.apply(Event(code, "start_review", officer))
    assert applied.to_state == "commune_prescore"


@pytest.mark.parametrize("unit", [None, HA_DONG, "old:10120", "old:10135"])
def test_scope_compares_the_unit_key_never_the_name(zoo: Zoo, unit: str | None) -> None:
    """An officer whose commune *name* is the case's but whose unit key is another's (none;
    Hà Đông; Cự Khê, which ended; the old Bình Minh of Thanh Oai) is refused, naming both."""
    code = zoo.case("1489", "registered")
    officer = Actor("commune-other", "commune_officer", commune="Xã Bình Minh", unit=unit)
    error = refusal(zoo.app, code, Forbidden, lambda: zoo.app.engine.apply(
        Event(code, "start_review", officer)))
    assert why(error) == "scope_other_commune", error.message
    assert "Xã Bình Minh [10126]" in error.message and f"[{unit or '—'}]" in error.message
    assert "own commune" in error.message


def test_every_version_lists_a_source_for_every_trigger_it_names() -> None:
    """The tables are self-consistent: each row's states are states of its version."""
    for version, lc in states.LIFECYCLES.items():
        for row in lc.transitions:
            assert row.source in lc.states, (version, row)
            assert row.dest is None or row.dest in lc.states, (version, row)
            assert row.roles, (version, row)
