"""Random event sequences against random cases of all three rule versions (hypothesis, stateful):
whatever is fired, by whom, with whatever data and whenever, the case is always in a state its
version allows, its stars match its score band and its certificate, it never holds two valid
certificates, a final case holds a valid one only after a re-evaluation opened for an upgrade
(DOMAIN.md §9), every audit chain verifies, and a refused event changes nothing at all.

A run that starts before 2025-07-01 has its producers and officers in the old units (Cự Khê,
Thanh Oai); a later one in today's (Bình Minh), where a district stage is also the commune
officer's (the district's successor) and the district officers are refused."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import func, select

import states
from tests.support import START, World, make_app, record_intact
from tests.unit.lifecycle_support import (
    ACTS_FOR,
    ALL_TRIGGERS,
    ERA_ACTS_FOR,
    IN_SCOPE,
    OUT_OF_SCOPE,
    SUCCESSOR,
    VERSIONS,
    EraWorld,
    acting,
    asker,
    expected_stars,
    happy,
    path_between,
    path_to,
    sheet_parts,
    snapshot,
)
from workflow.clock import VIETNAM, FixedClock, local
from workflow.domain.facts import Event
from workflow.domain.units import REORGANISED_ON
from workflow.errors import (
    Conflict,
    Forbidden,
    GuardFailed,
    InvalidInput,
    OcopError,
    PreconditionFailed,
    WrongState,
)
from workflow.store import audit
from workflow.store.schema import audit_entries, cases, certificates

LAWFUL_RUN = 8  # lawful events per rule call, so random runs reach the deep states
USERS = sorted({*IN_SCOPE.values(), *OUT_OF_SCOPE.values()})
REFUSALS = (InvalidInput, WrongState, Forbidden, GuardFailed, Conflict, PreconditionFailed)
STARTS = (datetime(2023, 2, 20, 9, 0, tzinfo=VIETNAM), datetime(2025, 7, 3, 9, 0, tzinfo=VIETNAM),
          START)

REACHED: set[tuple[str, str]] = set()
EDGES = (0, 49.99, 50, 69.99, 70, 89.99, 90, 100)
totals = st.one_of(st.sampled_from(EDGES), st.decimals(min_value=40, max_value=100, places=2)
                   .map(float), st.decimals(min_value=0, max_value=100, places=2).map(float))


@st.composite
def score_data(draw: st.DrawFn, version: str) -> dict[str, Any]:
    """Score sheets: mostly valid for the version, sometimes over a maximum or malformed."""
    kind = draw(st.sampled_from(["valid", "valid", "valid", "over", "junk"]))
    if kind == "junk":
        return draw(st.sampled_from([{}, {"sheets": []}, {"sheets": [{"member": "m"}]},
                                     {"sheets": "x", "mandatory_ok": True}]))
    members = draw(st.lists(totals, min_size=1, max_size=3))
    sheets = [{"member": f"m{i}", **dict(zip("abc", sheet_parts(version, t), strict=True))}
              for i, t in enumerate(members)]
    if kind == "over":
        part = draw(st.sampled_from("abc"))
        sheets[0][part] = 41
    return {"sheets": sheets, "mandatory_ok": draw(st.integers(0, 5)) > 0}


def junk() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.just({}),
        st.dictionaries(st.sampled_from(["reason", "days", "passed", "holder", "criteria",
                                         "reason_code", "documents", "deadline", "level"]),
                        st.one_of(st.none(), st.booleans(), st.integers(-5, 200),
                                  st.text(max_size=5)), max_size=3))


class LifecycleMachine(RuleBasedStateMachine):
    """Cases on a fresh in-memory database, hammered with valid and invalid events."""

    case_codes = Bundle("cases")

    def __init__(self) -> None:
        super().__init__()
        self.app = make_app("sqlite://", FixedClock(START))
        self.world = World(self.app)
        self.clock = self.world.clock

    def teardown(self) -> None:
        self.app.close()

    @initialize(start=st.sampled_from(STARTS))
    def set_the_clock(self, start: datetime) -> None:
        if local(start).date() < REORGANISED_ON:  # the world of the old units, made then
            self.app.close()
            self.app = make_app("sqlite://", FixedClock(start))
            self.world = EraWorld(self.app)
            self.clock = self.world.clock
        self.clock.set(start)

    def lawful(self) -> bool:
        """Whether the lawful rules can act: the old units' producers and officers only until
        their units ended (nobody remaps them here)."""
        return not isinstance(self.world, EraWorld) or self._today() < REORGANISED_ON

    def _today(self) -> Any:
        return local(self.clock.now()).date()

    def _acts_for(self) -> dict[str, str]:
        return ERA_ACTS_FOR if self._today() < REORGANISED_ON else ACTS_FOR

    @precondition(lambda self: self.lawful())
    @rule(target=case_codes, version=st.sampled_from(VERSIONS), pinned=st.booleans(),
          producer=st.sampled_from(["producer1", "producer2"]))
    def register(self, version: str, pinned: bool, producer: str) -> str:
        group = "fabric_garment" if version == "1048" and pinned else "food"
        return self.world.register(producer=producer, group=group,
                                   rules=version if pinned else None)

    @precondition(lambda self: self.lawful())
    @rule(target=case_codes, version=st.sampled_from(VERSIONS), data=st.data())
    def register_and_march(self, version: str, data: st.DataObject) -> str:
        """A pinned case of producer 1 taken lawfully to a random state of its version."""
        goal = data.draw(st.sampled_from(states.lifecycle(version).states))
        code = self.world.register(rules=version)
        for trigger, source, dest in path_to(version, goal):
            if trigger == "expire":
                self.clock.advance(days=1100)
            who, payload, reason = happy(version, trigger, dest, self._acts_for())
            if trigger == "request_completion":
                who = asker(version, source, self._acts_for())
            self.world.fire(code, trigger, who, payload, reason)  # lawful: must not refuse
        return code

    @precondition(lambda self: self.lawful())
    @rule(target=case_codes, version=st.sampled_from(VERSIONS),
          reason=st.sampled_from(["expiry", "upgrade", "inspection", "criteria_change"]),
          end=st.sampled_from(["rejected", "withdrawn", "certified"]))
    def certify_and_reevaluate(self, version: str, reason: str, end: str) -> str:
        """A certified case re-opened for ``reason`` and taken lawfully to ``end``, under the
        version in force on the day its re-evaluation starts."""
        code = self.world.register(rules=version)
        self._march(code, version, path_to(version, "certified"))
        self.world.fire(code, "open_reevaluation", "city", {"reason": reason})
        now = self._version_now(self._case(code))
        self._march(code, now, path_between(now, "reevaluation", end))
        return code

    def _march(self, code: str, version: str, steps: list[tuple[str, str, str | None]]) -> None:
        for trigger, source, dest in steps:
            who, payload, reason = happy(version, trigger, dest, self._acts_for())
            if trigger == "request_completion":
                who = asker(version, source, self._acts_for())
            self.world.fire(code, trigger, who, payload, reason)  # lawful: must not refuse

    @rule(days=st.sampled_from([0, 1, 3, 10, 31, 200, 400, 1100]), hours=st.integers(0, 23))
    def advance_the_clock(self, days: int, hours: int) -> None:
        self.clock.advance(days=days, hours=hours)

    @rule(code=case_codes, data=st.data())
    def fire_rows_the_table_allows(self, code: str, data: st.DataObject) -> None:
        """Mostly lawful events, a few in a row: rows from the case's state, each by a user
        of a role that acts on the row that day (a district stage: the district officer, and
        from 2025-07-01 the successor too) and in the case's scope, with valid or invalid
        data."""
        for _ in range(LAWFUL_RUN):
            case = self._case(code)
            version = self._version_now(case)
            lc = states.lifecycle(version)
            rows = [r for r in lc.transitions if r.source == case["state"]]
            onward = [r for r in rows if r.trigger not in ("withdraw", "escalate", "revoke")]
            if onward and data.draw(st.integers(0, 9)) > 0:
                rows = onward  # mostly move on; the ends of a case come now and then
            if not rows:
                return
            row = data.draw(st.sampled_from(rows))
            role = data.draw(st.sampled_from(sorted(acting(row.roles, self._today()))))
            _, payload, reason = happy(version, row.trigger, row.dest, self._acts_for())
            if row.trigger == "request_completion":
                (role,) = row.roles
                if role == "district_officer" and self._today() >= REORGANISED_ON:
                    role = SUCCESSOR
            if row.trigger in ("record_district_score", "record_city_score"):
                payload = data.draw(score_data(version))
            if row.trigger == "verify_ip":
                payload = {**payload, "holder": self._producer_name(case)}
            if row.trigger == "open_reevaluation":
                payload = {"reason": data.draw(st.sampled_from(
                    ["expiry", "upgrade", "inspection", "criteria_change"]))}
            if row.trigger == "record_commune_prescore":
                payload = {"criteria": {c: data.draw(st.integers(0, 4)) > 0
                                        for c in payload["criteria"]}}
            self.fire(code, row.trigger, self._user(role, case), payload, reason)

    @rule(code=case_codes, trigger=st.sampled_from(ALL_TRIGGERS), who=st.sampled_from(USERS),
          payload=junk(), reason=st.one_of(st.none(), st.just(""), st.just("because")),
          key=st.one_of(st.none(), st.sampled_from(["k1", "k2"])),
          expected=st.one_of(st.none(), st.integers(1, 12)))
    def fire_anything(self, code: str, trigger: str, who: str, payload: dict[str, Any],
                      reason: str | None, key: str | None, expected: int | None) -> None:
        """Any trigger, by anyone, with any data, key and expected version."""
        self.fire(code, trigger, who, payload, reason, key, expected)

    def fire(self, code: str, trigger: str, who: str, payload: dict[str, Any],
             reason: str | None, key: str | None = None, expected: int | None = None) -> None:
        before = snapshot(self.app, code)
        seq = self._case(code)["audit_seq"]
        actor = self.world.actors[who]
        try:
            applied = self.app.engine.apply(Event(code, trigger, actor, payload, reason, key,
                                                  expected))
        except OcopError as error:
            assert isinstance(error, REFUSALS), f"{type(error).__name__}: {error}"
            assert snapshot(self.app, code) == before, f"refused {trigger} changed the database"
            return
        if applied.replayed:
            assert snapshot(self.app, code) == before
            return
        case = self._case(code)
        assert case["audit_seq"] == seq + 1
        lc = states.lifecycle(case["rule_version"])
        dests = {r.dest or r.source for r in lc.rows(trigger, applied.from_state)}
        assert applied.to_state in dests, (trigger, applied)
        REACHED.add((case["rule_version"], applied.to_state))

    @invariant()
    def every_case_is_in_a_state_of_its_version(self) -> None:
        for case in self._cases():
            assert case["state"] in states.lifecycle(case["rule_version"]).states

    @invariant()
    def stars_match_the_score_band_under_any_cap(self) -> None:
        """No stars when rejected, 4 during central review, else the band under any cap."""
        for case in self._cases():
            if case["state"] not in ("revoked", "expired", "withdrawn"):  # as they were
                assert case["stars"] == expected_stars(case["state"], case["score"],
                                                       case["star_cap"]), case

    @invariant()
    def stars_match_the_certificate_held(self) -> None:
        """A certified case (or one in central review) shows the stars of its newest
        certificate: the one pending its decision (§9), else the one in force."""
        valid = self._valid_certificates()
        pending = self._valid_certificates("pending")
        for case in self._cases():
            if case["state"] in ("certified", "central_review"):
                held = pending.get(case["id"]) or valid[case["id"]]
                assert case["stars"] == held["stars"], case

    @invariant()
    def a_final_case_holds_a_valid_certificate_only_after_an_upgrade(self) -> None:
        """§9: expired and revoked cases hold none; a rejected or withdrawn one keeps its old
        certificate only when the re-evaluation was opened for an ``upgrade``."""
        valid = self._valid_certificates()
        for case in self._cases():
            if case["state"] in ("expired", "revoked"):
                assert case["id"] not in valid, case
            elif case["state"] in ("rejected", "withdrawn") and case["id"] in valid:
                assert self._reopened_for(case["id"]) == "upgrade", case

    @invariant()
    def every_audit_chain_verifies(self) -> None:
        with self.app.db.connect() as conn:
            result = audit.verify(conn)
            assert result.ok, result.first_break
            n = conn.execute(select(func.count()).select_from(audit_entries)).scalar_one()
        assert result.entries == n
        assert record_intact(self.app).entries == n  # seals, replay, certificates too

    @invariant()
    def a_case_holds_at_most_one_valid_certificate(self) -> None:
        with self.app.db.connect() as conn:
            counts = conn.execute(select(certificates.c.case_id, func.count())
                                  .where(certificates.c.status == "valid")
                                  .group_by(certificates.c.case_id)).all()
        assert all(n == 1 for _, n in counts)

    def _valid_certificates(self, status: str = "valid") -> dict[int, dict[str, Any]]:
        with self.app.db.connect() as conn:
            return {r.case_id: dict(r._mapping) for r in conn.execute(
                select(certificates).where(certificates.c.status == status))}

    def _reopened_for(self, case_id: int) -> str | None:
        """The reason of the case's latest re-evaluation, from its audit trail."""
        with self.app.db.connect() as conn:
            data = conn.execute(select(audit_entries.c.data).where(
                audit_entries.c.case_id == case_id,
                audit_entries.c.trigger == "open_reevaluation")
                .order_by(audit_entries.c.seq.desc()).limit(1)).scalar()
        return None if data is None else json.loads(data).get("reason")

    def _cases(self) -> list[dict[str, Any]]:
        with self.app.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(cases))]

    def _case(self, code: str) -> dict[str, Any]:
        with self.app.db.connect() as conn:
            return dict(conn.execute(select(cases).where(cases.c.code == code)).one()._mapping)

    def _producer_name(self, case: dict[str, Any]) -> str:
        return "HTX Tương Cự Đà" if case["producer_id"] == self.world.p1 else "Làng lụa Vạn Phúc"

    def _user(self, role: str, case: dict[str, Any]) -> str:
        """The user of ``role`` whose scope covers the case (p1's or p2's side of town)."""
        if case["producer_id"] == self.world.p2 and role in OUT_OF_SCOPE:
            return OUT_OF_SCOPE[role]
        return IN_SCOPE[role]

    def _version_now(self, case: dict[str, Any]) -> str:
        if case["state"] in ("registered", "reevaluation") and not case["rules_pinned"]:
            return states.rule_version_for(local(self.clock.now()).date())
        return str(case["rule_version"])


LifecycleMachine.TestCase.settings = settings(
    max_examples=40, stateful_step_count=30, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

test_random_event_sequences_keep_every_case_lawful = LifecycleMachine.TestCase
test_random_event_sequences_keep_every_case_lawful.__doc__ = (
    "Random triggers, actors, data and clock moves never break the lifecycle's invariants.")
