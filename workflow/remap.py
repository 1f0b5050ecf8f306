"""The 2025 reorganisation as data changes (``ocop units remap``) and reports across it
(``ocop units rollup``).

A **remap** moves what still points at a retired commune to the one the official mapping names
as its default successor (:func:`workflow.store.units.successor`):

* a producer: its commune (key and name) follows; its district, which no longer exists, is
  cleared, as :func:`workflow.registry.place` records a producer of a new commune. Producers
  have no audit chain, so each move is an entry of the admin log.
* a live case (not in :data:`CLOSED`: neither ended nor certified): its commune follows, as an
  audited ``reassign_unit`` event of the case (state unchanged). Its district is kept: the old
  district's officers keep *reading* its history. Closed cases keep the codes they closed with
  (the old units' record; :func:`rollup` counts them under either era).
* a case at a **district stage** (a state from which its rule version names the district
  officer, or waiting on the producer to return to one): ``transfer_case``, a second audited
  event naming the role that owns it now (the settings' ``district_successor``), and the
  producer's ``transferred`` notice in the same transaction. Once per case.

A row whose commune has no successor in the mapping is reported with the reason, never guessed.
Each case changes in one transaction (its entries, its row, its notices); producers in chunks.
The dry run computes the same changes with :func:`change_of` and writes nothing, so its report
is the run's; a second run finds nothing to do.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Engine, Table, bindparam, exists, or_, select, update

import states
from states.model import CERTIFIED, DISTRICT_OFFICER, NEEDS_COMPLETION, TERMINAL_STATES
from workflow.clock import local
from workflow.config import Settings
from workflow.domain import outbox
from workflow.domain.decide import rule_version
from workflow.domain.facts import SYSTEM_ACTOR, Event
from workflow.domain.units import OLD, REORGANISED_ON, Unit, is_old
from workflow.errors import InvalidInput
from workflow.store import adminlog, history, units
from workflow.store import statements as stmt
from workflow.store.db import write_transaction
from workflow.store.schema import audit_entries, cases, producers
from workflow.store.schema import units as units_table

REASSIGN, TRANSFER = "reassign_unit", "transfer_case"
# The reasons the two events record (catalogue kind ``explain``: the timeline shows them).
MOVED_WHY, TRANSFER_WHY = "units_reorganised_2025", "districts_ended_2025"
PRODUCER_MOVED = "producer_moved"  # the admin log's action
CHUNK = 200  # producers per transaction
# Cases that keep the units they closed with: ended ones, and certified ones (their work is
# done; a certified case re-opened for re-evaluation is live again, and the next remap moves it).
CLOSED = frozenset(TERMINAL_STATES | {CERTIFIED})
# A case's commune moves; its version and chain head move with it.
MOVE_UNIT = (
    update(cases)
    .where(cases.c.id == bindparam("case_id"), cases.c.version == bindparam("old_version"))
    .values(commune=bindparam("commune"), commune_code=bindparam("commune_code"),
            version=bindparam("new_version"), audit_seq=bindparam("seq"),
            audit_head=bindparam("head"), audit_seal=bindparam("seal"),
            updated_at=bindparam("now"))
)


@dataclass(frozen=True)
class Place:
    """A commune as a row records it: the name shown and the key scope compares."""

    name: str | None
    key: str | None

    @classmethod
    def of(cls, unit: Unit) -> Place:
        return cls(unit.name, unit.key)

    def as_dict(self) -> dict[str, Any]:
        return {"commune": self.name, "code": self.key}

    def words(self) -> str:
        return f"{self.name or '—'} [{self.key or '—'}]"


@dataclass(frozen=True)
class ProducerMove:
    id: int
    name: str
    old: Place
    new: Place
    district: Place  # the district it leaves (cleared on the producer)


@dataclass(frozen=True)
class CaseChange:
    code: str
    state: str
    old: Place
    new: Place | None  # None: the commune is current, only the transfer is due
    transfer_to: str | None  # the role the case passes to, or None


@dataclass(frozen=True)
class Unmapped:
    what: str  # "producer" or "case"
    target: str  # the producer's id or the case's code
    name: str
    old: Place
    reason: str  # no_successor, successor_not_in_force (catalogue kind "ui", remap_…)


Change = ProducerMove | CaseChange | Unmapped


@dataclass
class Report:
    on: date
    dry_run: bool
    successor_role: str
    producers: list[ProducerMove] = field(default_factory=list)
    cases: list[CaseChange] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)

    def add(self, change: Change | None) -> None:
        if isinstance(change, ProducerMove):
            self.producers.append(change)
        elif isinstance(change, CaseChange):
            self.cases.append(change)
        elif isinstance(change, Unmapped):
            self.unmapped.append(change)

    def counts(self) -> dict[str, int]:
        return {"producers_moved": len(self.producers),
                "cases_moved": sum(c.new is not None for c in self.cases),
                "cases_transferred": sum(c.transfer_to is not None for c in self.cases),
                "unmapped": len(self.unmapped)}

    def as_dict(self) -> dict[str, Any]:
        return {
            "on": self.on.isoformat(), "dry_run": self.dry_run,
            "successor_role": self.successor_role, "counts": self.counts(),
            "producers": [{"id": p.id, "name": p.name, "from": p.old.as_dict(),
                           "to": p.new.as_dict(), "district": p.district.as_dict()}
                          for p in self.producers],
            "cases": [{"code": c.code, "state": c.state, "from": c.old.as_dict(),
                       "to": c.new.as_dict() if c.new else None,
                       "transferred_to": c.transfer_to} for c in self.cases],
            "unmapped": [{"what": u.what, "target": u.target, "name": u.name,
                          "from": u.old.as_dict(), "reason": u.reason}
                         for u in self.unmapped],
        }


class Mapping:
    """Which communes are retired on ``today`` and where each one's rows go (read once)."""

    def __init__(self, conn: Connection, today: date) -> None:
        self.today = today
        self.retired_keys = set(conn.execute(
            select(units_table.c.key).where(units_table.c.valid_to < today)).scalars())
        self._to: dict[str, Unit | str] = {}

    def retired(self, key: str | None) -> bool:
        """Ended before ``today``; an ``old:`` key the table lacks (a province not loaded)
        ended with the reorganisation."""
        return key is not None and (key in self.retired_keys or (
            is_old(key) and self.today >= REORGANISED_ON))

    def target(self, conn: Connection, key: str) -> Unit | str:
        """The default successor of ``key``, or why there is none to use."""
        if key not in self._to:
            unit = units.successor(conn, key)
            self._to[key] = ("no_successor" if unit is None else
                             "successor_not_in_force" if not unit.in_force(self.today) else unit)
        return self._to[key]


# States from which some rule version's row names the district officer, and needs_completion
# (which may return to one): where a district stage can be, narrowed case by case.
DISTRICT_STATES = tuple(sorted(
    {r.source for lc in states.LIFECYCLES.values() for r in lc.transitions
     if DISTRICT_OFFICER in r.roles} | {NEEDS_COMPLETION}))


def at_district_stage(case: dict[str, Any], now: datetime) -> bool:
    """Whether the case waits on the district: a row from its state (from the state it returns
    to, while it waits for the producer's completion) names the district officer, each trigger
    read under the rule version it would fire under now (a floating start follows today's)."""
    state = case["state"]
    if state == NEEDS_COMPLETION and case.get("return_state"):
        state = case["return_state"]
    versions = {str(case["rule_version"]),
                rule_version(case, Event(case["code"], "start_review", SYSTEM_ACTOR), now)}
    triggers = dict.fromkeys(t for v in sorted(versions) for t in states.lifecycle(v).triggers())
    for trigger in triggers:
        lc = states.lifecycle(rule_version(case, Event(case["code"], trigger, SYSTEM_ACTOR), now))
        if any(DISTRICT_OFFICER in row.roles for row in lc.rows(trigger, state)):
            return True
    return False


def change_of(conn: Connection, case: dict[str, Any], now: datetime, mapping: Mapping,
              successor_role: str, transferred: bool) -> CaseChange | Unmapped | None:
    """What a remap does to one case now: nothing, a move and/or a transfer, or an unmapped
    row. ``transferred``: the case already has its ``transfer_case`` entry."""
    if case["state"] in CLOSED:
        return None
    old = Place(case["commune"], case["commune_code"])
    new = None
    if mapping.retired(case["commune_code"]):
        target = mapping.target(conn, case["commune_code"])
        if isinstance(target, str):
            return Unmapped("case", case["code"], case["product"], old, target)
        new = Place.of(target)
    due = (not transferred and local(now).date() >= REORGANISED_ON
           and at_district_stage(case, now))
    if new is None and not due:
        return None
    return CaseChange(case["code"], case["state"], old, new, successor_role if due else None)


def producer_change(conn: Connection, row: dict[str, Any],
                    mapping: Mapping) -> ProducerMove | Unmapped | None:
    key = row["commune_code"]
    if not mapping.retired(key):
        return None
    old = Place(row["commune"], key)
    target = mapping.target(conn, key)
    if isinstance(target, str):
        return Unmapped("producer", str(row["id"]), row["name"], old, target)
    return ProducerMove(row["id"], row["name"], old, Place.of(target),
                        Place(row["district"], row["district_code"]))


def run(db: Engine, now: datetime, settings: Settings, operator: str,
        dry_run: bool = False) -> Report:
    """Remap every producer and case that needs it at ``now``, as ``operator`` (the name the
    audit entries and the admin log record), one transaction per case and per chunk of
    producers; with ``dry_run``, only report what it would do."""
    name = _operator(operator)
    report = Report(local(now).date(), dry_run, settings.district_successor)
    with db.connect() as conn:
        mapping, producer_ids, case_ids = _prepare(conn, report.on)
        if dry_run:
            done = set(conn.execute(select(audit_entries.c.case_id)
                                    .where(audit_entries.c.trigger == TRANSFER)).scalars())
            for row in _rows(conn, producers, producer_ids):
                report.add(producer_change(conn, row, mapping))
            for row in _rows(conn, cases, case_ids):
                report.add(change_of(conn, row, now, mapping, report.successor_role,
                                     row["id"] in done))
            return report
    for i in range(0, len(producer_ids), CHUNK):
        with write_transaction(db) as conn:
            for pid in producer_ids[i:i + CHUNK]:
                report.add(_move_producer(conn, pid, now, mapping, name))
    for case_id in case_ids:
        with write_transaction(db) as conn:
            report.add(_change_case(conn, case_id, now, mapping, settings, name))
    return report


def apply(conn: Connection, now: datetime, settings: Settings, actor: str = "cli") -> Report:
    """The whole remap inside the caller's write transaction (a replay such as the demo's)."""
    name = _operator(actor)
    report = Report(local(now).date(), False, settings.district_successor)
    mapping, producer_ids, case_ids = _prepare(conn, report.on)
    for pid in producer_ids:
        report.add(_move_producer(conn, pid, now, mapping, name))
    for case_id in case_ids:
        report.add(_change_case(conn, case_id, now, mapping, settings, name))
    return report


def _operator(name: str) -> str:
    if not name.strip() or len(name.strip()) > 120:
        raise InvalidInput("remap_operator_invalid", got=name)
    return name.strip()


def _prepare(conn: Connection, today: date) -> tuple[Mapping, list[int], list[int]]:
    if units.count(conn) == 0:
        raise InvalidInput("remap_units_not_loaded")
    mapping = Mapping(conn, today)
    return (mapping, *_candidates(conn, mapping))


def _candidates(conn: Connection, mapping: Mapping) -> tuple[list[int], list[int]]:
    """Producers on a retired commune; cases not closed on one or in a state where a district
    stage may be (each narrowed by :func:`producer_change` / :func:`change_of`)."""
    after = mapping.today >= REORGANISED_ON
    listed = sorted(k for k in mapping.retired_keys if not (after and is_old(k)))

    def retired(column: Any) -> Any:
        return or_(column.like(f"{OLD}%"), column.in_(listed)) if after else column.in_(listed)
    pids = conn.execute(select(producers.c.id).where(retired(producers.c.commune_code))
                        .order_by(producers.c.id)).scalars().all()
    where = retired(cases.c.commune_code)
    if after:
        where = or_(where, cases.c.state.in_(DISTRICT_STATES))
    cids = conn.execute(select(cases.c.id).where(cases.c.state.not_in(sorted(CLOSED)),
                                                 where).order_by(cases.c.id)).scalars().all()
    return list(pids), list(cids)


def _rows(conn: Connection, table: Table, ids: list[int]) -> Iterator[dict[str, Any]]:
    for i in range(0, len(ids), 500):
        rows = conn.execute(select(table).where(table.c.id.in_(ids[i:i + 500]))
                            .order_by(table.c.id))
        yield from (dict(r._mapping) for r in rows)


def _move_producer(conn: Connection, pid: int, now: datetime, mapping: Mapping,
                   operator: str) -> ProducerMove | Unmapped | None:
    row = conn.execute(select(producers).where(producers.c.id == pid).with_for_update()).first()
    if row is None:
        return None
    change = producer_change(conn, dict(row._mapping), mapping)
    if isinstance(change, ProducerMove):
        conn.execute(update(producers).where(producers.c.id == pid).values(
            commune=change.new.name, commune_code=change.new.key, district=None,
            district_code=None))
        adminlog.record(conn, now, operator, PRODUCER_MOVED, f"producer:{pid}", {
            "producer": change.name, "reason": MOVED_WHY,
            "from": {"district": change.district.name, "commune": change.old.name,
                     "codes": {"district": change.district.key, "commune": change.old.key}},
            "to": change.new.as_dict()})
    return change


def _change_case(conn: Connection, case_id: int, now: datetime, mapping: Mapping,
                 settings: Settings, operator: str) -> CaseChange | Unmapped | None:
    """One case's move and transfer, under its row lock, in the caller's transaction."""
    code = conn.execute(select(cases.c.code).where(cases.c.id == case_id)).scalar_one()
    rows = conn.execute(stmt.LOCK_CASE, {"code": code}).all()
    case = {k: v for k, v in rows[0]._mapping.items() if not k.startswith("clock_")}
    transferred = conn.execute(select(exists().where(
        audit_entries.c.case_id == case_id, audit_entries.c.trigger == TRANSFER))).scalar()
    change = change_of(conn, case, now, mapping, settings.district_successor, bool(transferred))
    if not isinstance(change, CaseChange):
        return change
    chain, version = history.Chain.of(case), case["version"]
    common = {"at": now, "actor": operator, "role": "system", "from_state": case["state"],
              "to_state": case["state"], "rule_version": case["rule_version"]}
    if change.new is not None:
        history.append(conn, chain, MOVE_UNIT, {
            "old_version": version, "new_version": version + 1, "now": now,
            "commune": change.new.name, "commune_code": change.new.key},
            **common, trigger=REASSIGN, reason=MOVED_WHY, data={
                "from": {"district": case["district"], "commune": case["commune"],
                         "codes": {"district": case["district_code"],
                                   "commune": case["commune_code"]}},
                "to": change.new.as_dict()})
        version += 1
    if change.transfer_to is not None:
        commune = change.new or change.old
        unit = commune.key if change.transfer_to == "commune_officer" else None
        entry = history.append(conn, chain, history.MOVE_HEAD, {
            "old_version": version, "new_version": version + 1, "now": now,
            "rules": case["rule_version"]},
            **common, trigger=TRANSFER, reason=TRANSFER_WHY,
            data={"to_role": change.transfer_to, "unit": unit, "reason": TRANSFER_WHY})
        conn.execute(stmt.INSERT_OUTBOX, outbox.status_messages(
            case, entry["seq"], TRANSFER, case["state"], case["state"], now,
            {"stars": case["stars"], "to_role": change.transfer_to,
             "unit": commune.name if unit else None, "reason": TRANSFER_WHY},
            public_url=settings.public_url, kind="transferred"))
    return change


@dataclass(frozen=True)
class Tally:
    """Case counts of one unit: every case, those under way (neither closed nor certified) and
    those certified (holding their certificate, state ``certified``)."""

    key: str | None
    label: str
    all: int = 0
    open: int = 0
    certified: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"unit": self.key, "label": self.label, "all": self.all, "open": self.open,
                "certified": self.certified}


BY = ("old", "new")


def rollup(conn: Connection, by: str, today: date, year: int | None = None) -> list[Tally]:
    """Case counts per commune. ``new``: every retired commune counted under its default
    successor (so 2023 and 2026 compare); ``old``: the commune each case was recorded in when
    it was opened (before a remap moved it), so cases opened after 2025-07-01 count under their
    new commune. ``year``: only cases opened that year (Vietnam time)."""
    if by not in BY:
        raise InvalidInput("rollup_by_unknown", got=by, by=list(BY))
    first = _first_codes(conn) if by == "old" else {}
    mapping = Mapping(conn, today)
    counts: dict[str | None, list[int]] = {}
    for row in conn.execute(select(cases.c.id, cases.c.commune_code, cases.c.state,
                                   cases.c.created_at)):
        if year is not None and local(row.created_at).year != year:
            continue
        key = first.get(row.id, row.commune_code)
        if by == "new" and mapping.retired(key):
            target = mapping.target(conn, str(key))
            key = key if isinstance(target, str) else target.key
        tally = counts.setdefault(key, [0, 0, 0])
        tally[0] += 1
        tally[1] += row.state not in CLOSED
        tally[2] += row.state == CERTIFIED
    return [Tally(key, _label(conn, key), *n)
            for key, n in sorted(counts.items(), key=lambda kv: kv[0] or "")]


def _first_codes(conn: Connection) -> dict[int, str | None]:
    """Each moved case's commune before its first ``reassign_unit`` entry."""
    out: dict[int, str | None] = {}
    q = (select(audit_entries.c.case_id, audit_entries.c.data)
         .where(audit_entries.c.trigger == REASSIGN)
         .order_by(audit_entries.c.case_id, audit_entries.c.seq))
    for row in conn.execute(q):
        if row.case_id not in out:
            out[row.case_id] = json.loads(row.data)["from"]["codes"]["commune"]
    return out


def _label(conn: Connection, key: str | None) -> str:
    unit = units.maybe(conn, key)
    return unit.label if unit is not None else f"— [{key or '—'}]"
