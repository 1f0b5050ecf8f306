"""Every row of every rule version's lifecycle table, generated from ``states/``: allowed for
each role it names, refused from every other state, for every other role and out of scope.
Every refusal raises the right error with one sentence and leaves every table untouched."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

import states
from states.model import TERMINAL_STATES, Transition
from tests.support import START, World, make_app
from tests.unit.lifecycle_support import (
    ALL_TRIGGERS,
    IN_SCOPE,
    LATE_TRIGGERS,
    OUT_OF_SCOPE,
    ROLES,
    VERSIONS,
    Driver,
    all_rows,
    asker,
    case_row,
    expected_stars,
    happy,
    in_era,
    refused,
    role_union,
    row_id,
    rows_by_source,
    words,
)
from workflow.clock import FixedClock
from workflow.domain.facts import Actor, Event
from workflow.engine import Applied
from workflow.errors import Forbidden, WrongState
from workflow.store.audit import verify
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


def fire_as_role(zoo: Zoo, version: str, row: Transition, role: str, code: str) -> Applied:
    """Fire the row as a user of ``role`` with the data that role would send."""
    _, data, reason = happy(version, row.trigger, row.dest)
    who = asker(version, row.source) if row.trigger == "request_completion" else IN_SCOPE[role]
    if row.trigger == "open_reevaluation" and role == "producer":
        data = {"reason": "upgrade"}
    if row.trigger in LATE_TRIGGERS:
        return zoo.drive.expire(code, row.trigger)
    if row.trigger == "withdraw" and role == "system":
        zoo.world.clock.advance(days=31)  # the producer's completion deadline has passed
    with in_era(zoo.world, version, row.trigger, row.source):
        return zoo.world.fire(code, row.trigger, who, data, reason)


@pytest.mark.parametrize(("version", "row", "role"), role_cases(),
                         ids=[f"{row_id((v, r))}-by-{role}" for v, r, role in role_cases()])
def test_every_row_moves_the_case_for_every_role_it_names(zoo: Zoo, version: str,
                                                          row: Transition, role: str) -> None:
    """Each (version, trigger, source, dest) row fires for each role it lists, given valid data:
    the case lands in the row's destination with one more audit entry and a verified chain."""
    code = zoo.drive.reach(version, row.source, via_for(row), holding=row.trigger in HOLDING)
    entries, messages = audit_count(zoo, code)
    start = zoo.world.clock.now()
    try:
        applied = fire_as_role(zoo, version, row, role, code)
    finally:
        zoo.world.clock.set(start)
    assert (applied.from_state, applied.to_state) == (row.source, row.dest or row.source)
    after_entries, after_messages = audit_count(zoo, code)
    assert after_entries == entries + 1
    assert (after_messages > messages) == (row.dest is not None)
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
    who = IN_SCOPE[sorted(roles)[0]]
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
    """Every role the row does not list, supervisor and admin included, is refused as
    Forbidden with a sentence that names the roles the trigger is for."""
    rows = rows_by_source(version)[trigger, source]
    allowed = role_union(rows)
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
            for role in sorted(role_union(rows_by_source(v)[t, s])) if role in OUT_OF_SCOPE]


@pytest.mark.parametrize(("version", "trigger", "source", "role"), scoped_rows(),
                         ids=[f"{v}-{t}-{s}-{r}" for v, t, s, r in scoped_rows()])
def test_every_scoped_role_is_refused_on_another_producers_district_or_commune(
        zoo: Zoo, version: str, trigger: str, source: str, role: str) -> None:
    """A producer acts only on their own cases, a district or commune officer only in their own
    district or commune: the right role out of scope is refused as Forbidden."""
    rows = rows_by_source(version)[trigger, source]
    via = rows[0].dest if trigger == "resubmit" else None
    code = zoo.case(version, source, via)
    _, data, reason = happy(version, trigger, rows[0].dest)
    with in_era(zoo.world, version, trigger, source):
        message = refused(zoo.app, code, Forbidden, lambda: zoo.world.fire(
            code, trigger, OUT_OF_SCOPE[role], data, reason))
    assert OUT_OF_SCOPE[role] in message and code in message
    assert "own" in message


@pytest.mark.parametrize("commune", ["Cự Khê", " Cự Khê  ", unicodedata.normalize("NFD", "Cự Khê")])
def test_scope_matches_exactly_after_nfc_normalisation_and_trimming(zoo: Zoo,
                                                                    commune: str) -> None:
    """A commune officer whose commune is written decomposed or padded still acts in it."""
    code = zoo.drive.reach("1489", "registered")
    officer = Actor("commune-nfd", "commune_officer", commune=commune)
    applied = zoo.app.engine.apply(Event(code, "start_review", officer))
    assert applied.to_state == "commune_prescore"


@pytest.mark.parametrize("commune", ["Cu Khe", "cự khê", "Cự Khê Bắc"])
def test_scope_is_refused_for_a_commune_spelled_differently(zoo: Zoo, commune: str) -> None:
    """Scope is exact: no accent folding, no case folding, no prefix match."""
    code = zoo.case("1489", "registered")
    officer = Actor("commune-other", "commune_officer", commune=commune)
    message = refused(zoo.app, code, Forbidden, lambda: zoo.app.engine.apply(
        Event(code, "start_review", officer)))
    assert "own commune" in message


def test_every_version_lists_a_source_for_every_trigger_it_names() -> None:
    """The tables are self-consistent: each row's states are states of its version."""
    for version, lc in states.LIFECYCLES.items():
        for row in lc.transitions:
            assert row.source in lc.states, (version, row)
            assert row.dest is None or row.dest in lc.states, (version, row)
            assert row.roles, (version, row)
