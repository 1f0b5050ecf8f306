"""Apply many events in one transaction, set-based: internal events (audited acts that move no
case, :func:`apply_internal_batch`) and events that move a case without issuing a certificate
(``open_reevaluation``, ``start_review``: :func:`apply_moving_batch`).

The deadline sweep escalates hundreds of cases at once. Each event passes the same checks the
engine runs in ``apply_in`` — a row for the trigger from the case's state under its rule
version, the actor's role and scope, the row's guards, the effect plan and the shared machine —
and a refused event is left out before anything is written. The accepted ones are then written
together: one executemany of the case rows (version, audit head), one insert of the audit
entries. Each case's hash chain continues from its head; two events of one case chain in order.

The moving batch writes, for each case, exactly what ``WorkflowEngine.apply`` would: the case
row moved (fields, version, audit head), the audit entry with its recorded effects, the left
state's clocks cancelled and the new state's opened (``workflow.store.deadlines``' rules), the
producer's status notice per channel (leased to the relay's nudge as the engine leases them).
A case given several events (re-open, then start review) takes them in order, all or none.

The caller has locked the case rows (``SELECT ... FOR UPDATE``) and passes them in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, select

from workflow.domain import effects, eventdata, outbox
from workflow.domain.decide import CERT_STATES, decide, facts_for
from workflow.domain.facts import Event, Facts
from workflow.engine import (
    INTERNAL_TRIGGERS,
    Applied,
    WorkflowEngine,
    is_internal,
    message_extra,
    recorded_effects,
)
from workflow.errors import InvalidInput, NotFound, OcopError
from workflow.store import audit, history
from workflow.store import deadlines as clocks
from workflow.store import statements as stmt
from workflow.store.schema import certificates, deadlines

LIVE_CLOCKS = (select(deadlines).where(deadlines.c.case_id.in_(bindparam("ids", expanding=True)),
                                       deadlines.c.status.in_(("open", "paused")))
               .order_by(deadlines.c.id))
VALID_CERTIFICATES = (select(certificates)
                      .where(certificates.c.case_id.in_(bindparam("ids", expanding=True)),
                             certificates.c.status == "valid")
                      .order_by(certificates.c.id))


@dataclass
class _Chain:
    """One case's row as locked, and where its audit chain stands after this batch's events."""

    case: dict[str, Any]
    chain: history.Chain
    version: int
    rules: str = ""


def apply_internal_batch(conn: Connection, engine: WorkflowEngine, events: Sequence[Event],
                         locked: Mapping[str, dict[str, Any]]) -> list[Applied | OcopError]:
    """Apply ``events`` (internal triggers only) to the cases in ``locked`` (by code, each the
    case row with its producer's columns, locked by the caller). Returns, in order, what each
    event did or the error that refused it; refused events write nothing."""
    now = engine.clock.now()
    context = _Context(conn, {case["id"]: case["state"] in CERT_STATES
                              for e in events if (case := locked.get(e.case_code))})
    chains: dict[str, _Chain] = {}
    entries: list[dict[str, Any]] = []
    results: list[Applied | OcopError] = []
    for event in events:
        try:
            chain = chains.get(event.case_code) or _chain(locked, event.case_code)
            entry, applied = _apply(engine, chain, event, now, context)
        except OcopError as error:
            results.append(error)
            continue
        chains[event.case_code] = chain
        entries.append(entry)
        results.append(applied)
    _write(conn, list(chains.values()), entries, now)
    return results


class _Context:
    """What ``apply_in`` reads besides the case row, fetched once for the whole batch: the live
    clocks of every case and the current certificate of those in a certificate state."""

    def __init__(self, conn: Connection, certified: dict[int, bool]) -> None:
        """``certified``: for each case id, whether it is in a certificate state."""
        self.clocks: dict[int, list[dict[str, Any]]] = {}
        self.certificates: dict[int, dict[str, Any]] = {}
        # The moving batch's memos: event data already checked (by trigger), and the clock a
        # state opens under a rule version (the same for every case of the batch but its id).
        self.checked: set[str] = set()
        self.opens: dict[tuple[str, str], list[dict[str, Any]]] = {}
        if certified:
            for row in conn.execute(LIVE_CLOCKS, {"ids": sorted(certified)}):
                self.clocks.setdefault(row.case_id, []).append(dict(row._mapping))
        with_certificate = sorted(i for i, yes in certified.items() if yes)
        if with_certificate:
            for row in conn.execute(VALID_CERTIFICATES, {"ids": with_certificate}):
                self.certificates[row.case_id] = dict(row._mapping)  # the newest wins


def _chain(locked: Mapping[str, dict[str, Any]], code: str) -> _Chain:
    case = locked.get(code)
    if case is None:
        raise NotFound("case_not_found", got=code)
    return _Chain(case, history.Chain.of(case), case["version"])


def _apply(engine: WorkflowEngine, chain: _Chain, event: Event, now: datetime,
           context: _Context) -> tuple[dict[str, Any], Applied]:
    """The checks of ``WorkflowEngine.apply_in``, then the next entry of the case's chain."""
    if event.trigger not in INTERNAL_TRIGGERS:
        raise InvalidInput("not_internal_trigger", trigger=event.trigger,
                           trigger_choices=sorted(INTERNAL_TRIGGERS))
    if event.idempotency_key or event.expected_version is not None:
        raise InvalidInput("batch_takes_no_key", trigger=event.trigger, case=event.case_code)
    case = chain.case
    facts = facts_for(case, event, now, engine.settings, context.clocks.get(case["id"], []))
    plan, dest = decide(facts, lambda: context.certificates.get(case["id"]))
    if (dest != facts.state or not is_internal(facts.rule_version, event.trigger, facts.state)
            or plan.updates or plan.sheets or plan.issue or plan.end_certificates):
        raise AssertionError(f"{event.trigger} from {facts.state} is not internal under "
                             f"{facts.rule_version}")
    chain.version, chain.rules = chain.version + 1, facts.rule_version
    entry = chain.chain.next(
        at=now, actor=event.actor.name, role=event.actor.role, trigger=event.trigger,
        from_state=facts.state, to_state=dest, reason=event.reason, data=plan.audit,
        rule_version=facts.rule_version)
    return entry, Applied(case["code"], event.trigger, facts.state, dest, chain.version,
                          entry["seq"])


def _write(conn: Connection, chains: list[_Chain], entries: list[dict[str, Any]],
           now: datetime) -> None:
    history.write(conn, history.MOVE_HEAD, [
        (c.chain, {"old_version": c.case["version"], "new_version": c.version, "now": now,
                   "rules": c.rules}) for c in chains], entries)


# --- events that move a case and issue no certificate ----------------------------------------

MOVING_TRIGGERS = frozenset({"open_reevaluation", "start_review"})


@dataclass
class _Move:
    """One case's events, decided: the case as they leave it, what to write."""

    case: dict[str, Any]
    chain: history.Chain
    version: int
    live: list[dict[str, Any]]
    entries: list[dict[str, Any]] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    opened: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    applied: list[Applied] = field(default_factory=list)


def apply_moving_batch(conn: Connection, engine: WorkflowEngine,
                       events: Sequence[Sequence[Event]], locked: Mapping[str, dict[str, Any]],
                       audit_extra: Mapping[str, Any] | None = None,
                       ) -> list[list[Applied] | OcopError]:
    """Apply each case's ``events`` (triggers of :data:`MOVING_TRIGGERS`, one case per inner
    sequence, in order) to the cases in ``locked`` (by code, locked by the caller), with
    ``audit_extra`` added to each audit entry's data. Returns, per case, what its events did
    or the error that refused one of them; a refused case writes nothing. The caller runs
    ``engine.committed`` for each ``Applied`` once its transaction has committed."""
    now = engine.clock.now()
    lease = now + engine.outbox_lease if engine.outbox_lease else None
    context = _Context(conn, {case["id"]: case["state"] in CERT_STATES
                              for es in events if es and (case := locked.get(es[0].case_code))})
    moves: list[_Move] = []
    results: list[list[Applied] | OcopError] = []
    for case_events in events:
        try:
            move = _move(engine, locked, case_events, now, lease, context, audit_extra or {})
        except OcopError as error:
            results.append(error)
            continue
        moves.append(move)
        results.append(move.applied)
    _write_moves(conn, moves, now)
    return results


def _move(engine: WorkflowEngine, locked: Mapping[str, dict[str, Any]],
          case_events: Sequence[Event], now: datetime, lease: datetime | None,
          context: _Context, extra: Mapping[str, Any]) -> _Move:
    original = _chain(locked, case_events[0].case_code).case
    move = _Move(dict(original), history.Chain.of(original), original["version"],
                 list(context.clocks.get(original["id"], [])))
    for event in case_events:
        _step(engine, move, event, now, lease, context, extra)
    return move


def _step(engine: WorkflowEngine, move: _Move, event: Event, now: datetime,
          lease: datetime | None, context: _Context, extra: Mapping[str, Any]) -> None:
    """``WorkflowEngine.apply_in`` and ``_write`` for one event, in memory."""
    if event.trigger not in MOVING_TRIGGERS or event.case_code != move.case["code"]:
        raise InvalidInput("not_moving_trigger", trigger=event.trigger,
                           trigger_choices=sorted(MOVING_TRIGGERS))
    if event.idempotency_key or event.expected_version is not None:
        raise InvalidInput("batch_takes_no_key", trigger=event.trigger, case=event.case_code)
    checked = event.trigger + audit.canonical(event.data)
    if checked not in context.checked:
        eventdata.check(event.data, event.trigger)
        context.checked.add(checked)
    case = move.case
    facts = facts_for(case, event, now, engine.settings, move.live)
    plan, dest = decide(facts, lambda: context.certificates.get(case["id"]))
    _no_certificate(facts, plan, dest)
    moved = {k: plan.updates.get(k, case[k]) for k in stmt.MOVABLE}
    if "potential_5" not in plan.updates and facts.state == "central_review" != dest:
        moved["potential_5"] = None
    data = {**plan.audit, **extra, "effects": recorded_effects(case, moved, plan, None)}
    entry = move.chain.next(
        at=now, actor=event.actor.name, role=event.actor.role, trigger=event.trigger,
        from_state=facts.state, to_state=dest, reason=event.reason, data=data,
        rule_version=facts.rule_version)
    move.entries.append(entry)
    _clocks(move, facts, dest, now, context)
    messages = outbox.status_messages(
        case, entry["seq"], event.trigger, facts.state, dest, now,
        message_extra(plan, None, event, case, dest),
        public_url=engine.settings.public_url, available_at=lease)
    move.messages += messages
    move.version += 1
    move.applied.append(Applied(case["code"], event.trigger, facts.state, dest, move.version,
                                entry["seq"], tuple(m["message_id"] for m in messages),
                                lease=lease if messages else None))
    move.case = {**case, **moved, "state": dest, "version": move.version,
                 "rule_version": facts.rule_version, "audit_seq": entry["seq"],
                 "audit_head": entry["hash"]}


def _no_certificate(f: Facts, plan: effects.Plan, dest: str) -> None:
    """The moving batch writes no certificate, score sheet or completion clock: a plan that
    would is a bug in the caller's choice of trigger, not a refusal."""
    if (plan.issue or plan.decide or plan.sheets or plan.end_certificates or dest == f.state
            or "needs_completion" in (dest, f.state)):
        raise AssertionError(f"{f.event.trigger} from {f.state} to {dest} is not a move the "
                             "batch writes")


def _clocks(move: _Move, f: Facts, dest: str, now: datetime, context: _Context) -> None:
    """``workflow.store.deadlines.apply`` for a move that issues no certificate and neither
    enters nor leaves ``needs_completion``: every live clock but the certificate's ends
    (unless the case leaves for ``expired``/``revoked``, which end those too), the new
    state's clock opens. A clock opened by an earlier event of the batch is written ended."""
    keep_cert = dest not in ("expired", "revoked")
    ended = [d for d in move.live if not (keep_cert and d["kind"] in clocks.CERT_KINDS)]
    for d in ended:
        if "id" in d:
            move.cancelled.append(d["id"])
        else:
            d["status"] = clocks.CANCELLED
    key = (f.rule_version, dest)
    if key not in context.opens:
        context.opens[key] = clocks.state_clock(f, dest, now)
    opened = [{**d, "case_id": move.case["id"]} for d in context.opens[key]]
    move.opened += opened
    move.live = [d for d in move.live if all(d is not e for e in ended)] + opened


def _write_moves(conn: Connection, moves: list[_Move], now: datetime) -> None:
    history.write(conn, stmt.MOVE_CASE, [
        (m.chain, {"old_version": m.version - len(m.applied), "state": m.case["state"],
                   "new_version": m.version, "now": now, "rules": m.case["rule_version"],
                   **{k: m.case[k] for k in stmt.MOVABLE}}) for m in moves],
        [e for m in moves for e in m.entries])
    cancelled = [i for m in moves for i in m.cancelled]
    if cancelled:
        conn.execute(stmt.SET_DEADLINES, {"ids": cancelled, "status": clocks.CANCELLED})
    opened = [d for m in moves for d in m.opened]
    if opened:
        conn.execute(stmt.INSERT_DEADLINE, opened)
    messages = [msg for m in moves for msg in m.messages]
    if messages:
        conn.execute(stmt.INSERT_OUTBOX, messages)
