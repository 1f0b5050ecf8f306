"""Helpers the engine tests share: actors per role, valid data per trigger, paths through the
lifecycle found from the data in ``states/``, and snapshots that prove a refusal changed nothing.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

import states
from states.model import ALL_ROLES, Transition
from tests.support import BEFORE_2025, DOCS, START, World, make_app
from workflow import registry
from workflow.bootstrap import App
from workflow.clock import FixedClock, local
from workflow.config import Settings
from workflow.domain.facts import Actor
from workflow.domain.permissions import acting_roles
from workflow.domain.scoring import capped, stars_for
from workflow.domain.units import REORGANISED_ON
from workflow.errors import QUOTES, OcopError
from workflow.i18n import label
from workflow.store.db import write_transaction
from workflow.store.queries import case_view
from workflow.store.schema import (
    audit_entries,
    cases,
    certificates,
    deadlines,
    idempotency_keys,
    outbox,
    score_sheets,
)

TABLES = (cases, audit_entries, outbox, deadlines, certificates, score_sheets, idempotency_keys)
VERSIONS = tuple(states.LIFECYCLES)
ALL_TRIGGERS = tuple(dict.fromkeys(t for lc in states.LIFECYCLES.values() for t in lc.triggers()))

# One in-scope user per role (producer p1 in Xã Bình Minh, which took in Cự Khê of Thanh Oai)
# and one out-of-scope user. district1's district (Thanh Oai) ended on 2025-06-30: at the test
# clock (September 2025) district1 may only read, and p1's district stages are acted on by the
# district's successor (``OCOP_DISTRICT_SUCCESSOR``, default the commune officer: commune1).
IN_SCOPE = {"producer": "producer1", "commune_officer": "commune1",
            "district_officer": "district1", "ip_officer": "ip", "city_officer": "city",
            "supervisor": "supervisor", "admin": "admin", "system": "system"}
OUT_OF_SCOPE = {"producer": "producer2", "commune_officer": "commune2",
                "district_officer": "district2"}
ROLES = ALL_ROLES
TODAY = START.date()
SUCCESSOR = Settings().district_successor  # the default: "commune_officer"
# Who acts for a role a row names, at the test clock: the district stages are the successor's.
ACTS_FOR = {**IN_SCOPE, "district_officer": IN_SCOPE[SUCCESSOR]}
# Who acts at p1's district stages at the test clock (1048/148 cases): the successor, commune1.
DISTRICT_STAGE = ACTS_FOR["district_officer"]
PRODUCER1_NAME = "HTX Tương Cự Đà"
CRITERIA = {"origin": True, "local_labour": True, "idea": True, "cultural_identity": True}
SENTENCE_BREAK = re.compile(r"[.!?]\s+[A-Z]")


# The People's Committee decision ``record_decision`` records in the tables' tests: dated on
# the test clock's day, the day the pending certificate was scored.
DECISION = {"number": "1234/QĐ-UBND", "date": TODAY.isoformat(), "body": "UBND thành phố Hà Nội"}


def rules_for(version: str) -> str | None:
    """Cases registered at the test clock (September 2025) are 1489 unless pinned."""
    return None if version == "1489" else version


def sheet_parts(version: str, total: float) -> tuple[float, float, float]:
    """Parts A, B, C that add up to ``total``, each within the version's maxima."""
    parts, left = [], round(total, 2)
    for top in states.lifecycle(version).part_maxima:
        part = round(min(left, top), 2)
        parts.append(part)
        left = round(left - part, 2)
    assert left == 0, f"{total} does not fit under {version}"
    return parts[0], parts[1], parts[2]


def scores(version: str, *totals: float, ok: bool = True) -> dict[str, Any]:
    return {"sheets": [{"member": f"member {i}", **dict(zip("abc", sheet_parts(version, t),
                                                            strict=True))}
                       for i, t in enumerate(totals, 1)], "mandatory_ok": ok}


# The score that routes each scoring trigger to each destination.
ROUTE_SCORES = {
    ("record_district_score", "rejected"): 40.0,
    ("record_district_score", "certified"): 60.0,
    ("record_district_score", "ip_check"): 75.0,
    ("record_district_score", "city_rating"): 60.0,
    ("record_city_score", "certified"): 80.0,
    ("record_city_score", "central_review"): 95.0,
    ("record_city_score", "rejected"): 40.0,
}


def happy(version: str, trigger: str, dest: str | None,
          acts_for: dict[str, str] = ACTS_FOR) -> tuple[str, dict[str, Any], str | None]:
    """Who fires ``trigger`` and with what data and reason so that it succeeds towards ``dest``
    (``acts_for``: who acts for each role; :data:`ERA_ACTS_FOR` before 2025-07-01)."""
    if (trigger, dest) in ROUTE_SCORES:
        lc = states.lifecycle(version)
        who = acts_for["district_officer"] if trigger == "record_district_score" else "city"
        assert lc.rows(trigger)
        return who, scores(version, ROUTE_SCORES[trigger, dest]), None
    if (trigger, dest) == ("record_commune_prescore", "rejected"):
        return "commune1", {"criteria": {**CRITERIA, "idea": False}}, None
    table: dict[str, tuple[str, dict[str, Any], str | None]] = {
        "submit": ("producer1", DOCS, None),
        # 1489's commune pre-score, or 1048/148's district review (at the test clock: the
        # district's successor's).
        "start_review": (acts_for["commune_officer" if version == "1489" else "district_officer"],
                         {}, None),
        "request_completion": ("", {"days": 10}, "the product label is missing"),
        "resubmit": ("producer1", {}, None),
        "record_commune_prescore": ("commune1", {"criteria": CRITERIA}, None),
        "verify_ip": ("ip", {"certificate_no": "4-0123456", "holder": PRODUCER1_NAME,
                             "registered_on": "2021-05-17"}, None),
        "record_no_ip": ("ip", {}, "no trademark registration yet"),
        "record_central_result": ("city", {"passed": True, "decision_no": "QĐ-123/BNN"}, None),
        # The case reached its state with its certificate pending (``Driver.reach(pending=)``).
        "record_decision": ("city", DECISION, None),
        "open_reevaluation": ("city", {"reason": "expiry"}, None),
        "expire": ("system", {}, None),
        "expire_certificate": ("system", {}, None),
        "revoke": ("city", {"reason_code": "violation"}, None),
        "withdraw": ("producer1", {}, None),
        "escalate": ("system", {"deadline": "review_start", "level": 1}, None),
    }
    return table[trigger]


def asker(version: str, state: str, acts_for: dict[str, str] = ACTS_FOR) -> str:
    """The user who asks for completion from ``state``."""
    (row,) = states.lifecycle(version).rows("request_completion", state)
    (role,) = row.roles
    return acts_for[role]


def acting(roles: frozenset[str] | set[str] | tuple[str, ...],
           on: date = TODAY) -> frozenset[str]:
    """The roles that act on a row naming ``roles`` on day ``on`` (the test clock): after
    2025-07-01 a district stage is also the district's successor's."""
    return frozenset(acting_roles(roles, on, SUCCESSOR))


def act_day(version: str, trigger: str, source: str) -> date:
    """The day a trigger is fired on in the world of the test clock (:func:`in_era`)."""
    if (trigger == "start_review" and source == "reevaluation"
            and states.rule_version_for(TODAY) != version):
        return era_day(version)
    return TODAY


Step = tuple[str, str, str | None]  # trigger, source, dest


def path_to(version: str, target: str, via: str | None = None,
            holding: bool = False) -> list[Step]:
    """The shortest way from ``draft`` to ``target`` in the lifecycle table (breadth first).
    ``via`` is the state that asked for completion when ``target`` is ``needs_completion``.
    ``holding``: reach ``target`` while the case holds a valid certificate — through a
    certification and a re-evaluation (opened for an upgrade, see :data:`HOLDING_REASON`)."""
    if target == "needs_completion" and via is not None:
        return [*path_to(version, via, holding=holding),
                ("request_completion", via, "needs_completion")]
    if holding and target not in ("certified", "reevaluation"):
        return [*path_to(version, "reevaluation"), *path_between(version, "reevaluation", target)]
    return path_between(version, "draft", target)


CERT_STATES = ("certified", "reevaluation", "central_review")
# The reason a re-evaluation is opened for when the certificate must outlive a bad end.
HOLDING_REASON = {"reason": "upgrade"}


def path_between(version: str, start: str, target: str) -> list[Step]:
    """The shortest lawful way from ``start`` to ``target`` (breadth first)."""
    lc = states.lifecycle(version)
    seen: dict[str, list[Step]] = {start: []}
    queue = deque([start])
    while queue:
        state = queue.popleft()
        for row in lc.transitions:
            if row.source != state or row.dest is None or row.dest in seen:
                continue
            if row.trigger == "resubmit" or (
                    "holds_valid_certificate" in row.guards and row.source not in CERT_STATES):
                continue  # a fresh case holds a certificate only from its certification on
            seen[row.dest] = [*seen[state], (row.trigger, row.source, row.dest)]
            queue.append(row.dest)
    return seen[target]


def last_day(version: str) -> date | None:
    """The last day ``version`` governs evaluations (``None``: it still does)."""
    start = states.lifecycle(version).in_force_from
    later = [d for _, d in states.in_force() if d > start]
    return min(later) - timedelta(days=1) if later else None


def era_day(version: str, old_units: bool = False) -> date:
    """The day :func:`in_era` starts a re-evaluation under ``version``: in the world of
    today's units, the first days after the reorganisation if the version still governed then
    (148 until 2025-07-05; the district's successor acts); otherwise, and in an
    :class:`EraWorld` (``old_units``), two weeks into the version's years."""
    start = states.lifecycle(version).in_force_from
    end = last_day(version)
    if not old_units and (end is None or end >= REORGANISED_ON):
        first = max(start, REORGANISED_ON) + timedelta(days=1)
        return first if end is None else min(first, end)
    return max(start, date(2019, 1, 1)) + timedelta(days=14)


def jumps(world: World, version: str, trigger: str, source: str) -> bool:
    """Whether :func:`in_era` moves the clock for this step."""
    return (trigger == "start_review" and source == "reevaluation"
            and states.rule_version_for(local(world.clock.now()).date()) != version)


def needs_old_units(world: World, version: str, steps: list[Step]) -> bool:
    """Whether ``steps`` start a re-evaluation at a district stage before 2025-07-01 (a 1048
    one goes back to 2019): in the world of today's units nobody can, as the case's commune did
    not exist then; an :class:`EraWorld`'s cases are in the old units."""
    lc = states.lifecycle(version)
    return not isinstance(world, EraWorld) and any(
        jumps(world, version, t, s) and era_day(version) < REORGANISED_ON
        and any("district_officer" in r.roles for r in lc.rows(t, s)) for t, s, _ in steps)


@contextmanager
def in_era(world: World, version: str, trigger: str, source: str) -> Iterator[None]:
    """A re-evaluation follows the version in force on its own date (DOMAIN.md §2): to start
    one under an older version, the clock goes back into that version's years meanwhile
    (:func:`era_day`)."""
    clock = world.clock
    now = clock.now()
    if not jumps(world, version, trigger, source):
        yield
        return
    era = era_day(version, isinstance(world, EraWorld))
    clock.set(now.replace(year=era.year, month=era.month, day=era.day))
    try:
        yield
    finally:
        clock.set(now)


@contextmanager
def shared_world() -> Iterator[World]:
    """One in-memory world for a whole module: cases are independent, so tests that each
    register their own cases can share it (cheaper than a migrated database per test)."""
    app = make_app("sqlite://", FixedClock(START))
    try:
        yield World(app)
    finally:
        app.close()


class EraWorld(World):
    """:class:`~tests.support.World` as it was before the 2025 reorganisation (clock
    :data:`ERA`): the same names, producer1 in Xã Cự Khê (Huyện Thanh Oai), producer2 in
    Phường Vạn Phúc (Quận Hà Đông), the district officers acting in their districts and the
    commune officers in those old communes. Units are given by name, as people typed them."""

    def __init__(self, app: App) -> None:  # the same fields as World, in another era
        self.app = app
        self.clock: FixedClock = app.clock  # type: ignore[assignment]
        now = self.clock.now()
        with write_transaction(app.db) as conn:
            self.p1 = registry.add_producer(conn, now, PRODUCER1_NAME, "cooperative",
                                            "Thanh Oai", "Cự Khê", "p1@example.vn")
            self.p2 = registry.add_producer(conn, now, "Làng lụa Vạn Phúc", "household",
                                            "Hà Đông", "Vạn Phúc")
            people = [
                ("producer1", "producer", None, None, self.p1),
                ("producer2", "producer", None, None, self.p2),
                ("district1", "district_officer", "Thanh Oai", None, None),
                ("district2", "district_officer", "Hà Đông", None, None),
                ("commune1", "commune_officer", None, "Cự Khê, Thanh Oai", None),
                ("commune2", "commune_officer", None, "Vạn Phúc, Hà Đông", None),
                ("ip", "ip_officer", None, None, None),
                ("city", "city_officer", None, None, None),
                ("supervisor", "supervisor", None, None, None),
                ("admin", "admin", None, None, None),
            ]
            self.tokens = {name: registry.add_user(conn, now, name, role, d, c, p,
                                                   token_days=3650)
                           for name, role, d, c, p in people}
            self.actors = {name: registry.actor_named(conn, name) for name, *_ in people}
        self.actors["system"] = Actor("system", "system")


# Before 2025-07-01 every role acts for itself.
ERA = BEFORE_2025
ERA_ACTS_FOR = dict(IN_SCOPE)


@contextmanager
def era_world() -> Iterator[EraWorld]:
    """:class:`EraWorld` in memory, its clock at :data:`ERA` (January 2025, under 148)."""
    app = make_app("sqlite://", FixedClock(ERA))
    try:
        yield EraWorld(app)
    finally:
        app.close()


class Driver:
    """Moves cases of a ``World`` along the lifecycle with valid data; ``acts_for`` says who
    acts for each role (:data:`ERA_ACTS_FOR` in an :class:`EraWorld`)."""

    def __init__(self, world: World, acts_for: dict[str, str] | None = None) -> None:
        self.world = world
        self.acts_for = acts_for or (ERA_ACTS_FOR if isinstance(world, EraWorld) else ACTS_FOR)

    def new_case(self, version: str, producer: str = "producer1") -> str:
        return self.world.register(producer=producer, rules=rules_for(version))

    def step(self, code: str, version: str, trigger: str, source: str, dest: str | None,
             data: dict[str, Any] | None = None, **kw: Any) -> Any:
        who, happy_data, reason = happy(version, trigger, dest, self.acts_for)
        if trigger == "request_completion":
            who = asker(version, source, self.acts_for)
        if trigger in LATE_TRIGGERS:
            return self.expire(code, trigger)
        with in_era(self.world, version, trigger, source):
            return self.world.fire(code, trigger, who, happy_data if data is None else data,
                                   reason, **kw)

    def expire(self, code: str, trigger: str = "expire") -> Any:
        """Fire ``trigger`` just after the certificate's validity; the clock then goes back."""
        clock = self.world.clock
        start = clock.now()
        clock.advance(days=3 * 366 + 1)
        try:
            return self.world.fire(code, trigger, "system")
        finally:
            clock.set(start)

    def reach(self, version: str, target: str, via: str | None = None,
              holding: bool = False, pending: bool = False) -> str:
        """A new case moved to ``target``; ``pending``: its certificates issued without their
        decision (for ``record_decision``)."""
        code = self.new_case(version)
        self.world.decide_at_once = not pending
        try:
            for trigger, source, dest in path_to(version, target, via, holding):
                data = HOLDING_REASON if holding and trigger == "open_reevaluation" else None
                self.step(code, version, trigger, source, dest, data)
        finally:
            self.world.decide_at_once = True
        assert case_state(self.world.app, code) == target
        return code


# Triggers fired after a certificate's date.
LATE_TRIGGERS = ("expire", "expire_certificate")


def expected_stars(state: str, score: float | None, cap: int | None) -> int | None:
    """The stars a case lawfully shows: none when rejected (DOMAIN.md §9), at most 4 during
    central review ("4★, proposed for 5★"), else the band capped by any cap."""
    if state == "rejected" or score is None:
        return None
    band = capped(stars_for(score), cap)
    return min(band, 4) if state == "central_review" else band


def case_state(app: App, code: str) -> str:
    with app.db.connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.code == code)).scalar_one())


def case_row(app: App, code: str) -> dict[str, Any]:
    with app.db.connect() as conn:
        return dict(conn.execute(select(cases).where(cases.c.code == code)).one()._mapping)


def _snapshot_sql() -> tuple[str, dict[str, tuple[str, str]]]:
    sizes = ", ".join(f"(SELECT count(*) FROM {t.name}), (SELECT max(id) FROM {t.name})"
                      for t in TABLES)
    rows = {t.name: (f"SELECT * FROM {t.name} ORDER BY id",
                     f"SELECT * FROM {t.name} WHERE {_case_column(t)} = :key ORDER BY id")
            for t in TABLES}
    return f"SELECT {sizes}", rows


def _case_column(t: Any) -> str:
    return "id" if t is cases else "case_code" if t is idempotency_keys else "case_id"


SIZES_SQL, ROWS_SQL = _snapshot_sql()


def snapshot(app: App, code: str | None = None) -> dict[str, Any]:
    """Every row a transition of case ``code`` may write, and each table's row count and
    highest id (so a row written for any other case shows too). Without ``code``: every row."""
    with app.db.connect() as conn:
        out: dict[str, Any] = {"#": tuple(conn.execute(text(SIZES_SQL)).one())}
        case_id = None if code is None else conn.execute(
            text("SELECT id FROM cases WHERE code = :code"), {"code": code}).scalar()
        for t in TABLES:
            every, one_case = ROWS_SQL[t.name]
            if case_id is None:
                rows = conn.execute(text(every))
            else:
                key = code if t is idempotency_keys else case_id
                rows = conn.execute(text(one_case), {"key": key})
            out[t.name] = [tuple(r) for r in rows]
        return out


def assert_one_sentence(message: str) -> None:
    """A refusal is one sentence: one line, a full stop at the end, no second sentence."""
    assert "\n" not in message.strip(), message
    assert message.strip().endswith("."), message
    assert not SENTENCE_BREAK.search(message), f"more than one sentence: {message}"


def words(kind: str, *codes: str) -> str:
    """The codes as an English refusal shows them: each quoted label, comma-separated."""
    return ", ".join(QUOTES.format(label(kind, code, "en")) for code in codes)


def refusal(app: App, code: str | None, error: type[OcopError],
            act: Callable[[], Any]) -> OcopError:
    """Run ``act``, expect exactly ``error`` (not another kind of refusal), check that nothing
    at all changed, and return the error."""
    before = snapshot(app, code)
    with pytest.raises(OcopError) as caught:
        act()
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert snapshot(app, code) == before, "a refused event changed the database"
    assert_one_sentence(caught.value.message)
    return caught.value


def refused(app: App, code: str | None, error: type[OcopError], act: Callable[[], Any]) -> str:
    """:func:`refusal`'s sentence."""
    return refusal(app, code, error, act).message


def why(error: OcopError) -> str | None:
    """The code of the reason an out-of-scope refusal gives (``scope_unit_ended``…)."""
    reason = error.params.get("why")
    return reason.get("code") if isinstance(reason, dict) else None


def rows_by_source(version: str) -> dict[tuple[str, str], tuple[Transition, ...]]:
    lc = states.lifecycle(version)
    return {(r.trigger, r.source): lc.rows(r.trigger, r.source) for r in lc.transitions}


def role_union(rows: tuple[Transition, ...]) -> frozenset[str]:
    return frozenset().union(*(r.roles for r in rows))


def all_rows() -> list[tuple[str, Transition]]:
    return [(v, row) for v, lc in states.LIFECYCLES.items() for row in lc.transitions]


def row_id(item: tuple[str, Transition]) -> str:
    version, row = item
    return f"{version}-{row.trigger}-{row.source}-{row.dest}"


def view(world: World, code: str) -> dict[str, Any]:
    """The case as ``ocop cases show --json`` gives it."""
    with world.app.db.connect() as conn:
        return case_view(conn, code)


def certs(world: World, code: str) -> list[dict[str, Any]]:
    """Every certificate of the case, oldest first."""
    case_id = case_row(world.app, code)["id"]
    with world.app.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(certificates).where(certificates.c.case_id == case_id)
            .order_by(certificates.c.id))]
