"""Apply one event to one case atomically: lock, check, guard, move, audit, outbox, commit."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

import states
from workflow.clock import Clock, local
from workflow.config import Settings
from workflow.domain import certificates, effects, eventdata, outbox
from workflow.domain.decide import decide, facts_for
from workflow.domain.facts import Event, Facts
from workflow.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from workflow.store import (
    audit,
    councils,
    deadlines,
    history,
    queries,
    replay,
    seal,
)
from workflow.store import statements as stmt
from workflow.store.db import driver_transaction
from workflow.store.driver import fetch, pipeline, run
from workflow.store.schema import certificates as certs
from workflow.store.schema import idempotency_keys

log = structlog.get_logger("ocop.engine")

ALL_TRIGGERS = tuple(dict.fromkeys(t for lc in states.LIFECYCLES.values() for t in lc.triggers()))



@dataclass(frozen=True)
class Applied:
    code: str
    trigger: str
    from_state: str
    to_state: str
    version: int
    seq: int
    message_ids: tuple[str, ...] = ()
    replayed: bool = False
    response: dict[str, Any] | None = field(default=None, compare=False)
    lease: datetime | None = None  # the messages' dispatch lease, held by the after-commit nudge


Hook = Callable[[Applied], None]  # run after a transition's transaction has committed


class WorkflowEngine:
    """The one entry point that changes a case. Wired by ``bootstrap``; holds no case state."""

    def __init__(self, db: Engine, clock: Clock, settings: Settings,
                 view: Callable[[Connection, str], dict[str, Any]] | None = None,
                 after_commit: Sequence[Hook] = (),
                 outbox_lease: timedelta | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings
        self.view = view
        # Fixed at construction (``bootstrap`` passes them): the relay's nudge, observers.
        self.after_commit: tuple[Hook, ...] = tuple(after_commit)
        # Given when a relay nudges after commit: the transition writes its messages already
        # leased to that nudge, which then publishes without a write transaction of its own.
        self.outbox_lease = outbox_lease

    def apply(self, event: Event) -> Applied:
        """Apply one event to one case in its own transaction, then nudge the relay."""
        started = time.perf_counter()
        try:
            with driver_transaction(self.db) as conn:
                applied = self.apply_in(conn, event)
        except IntegrityError:
            if not event.idempotency_key:
                raise
            # The same key, at the same moment, in another transaction (on another case, or on
            # this one after its lock): that one committed first. Asked again, the key is
            # stored: the same request gets its replay, another one a 409.
            with driver_transaction(self.db) as conn:
                applied = self.apply_in(conn, event)
        self.committed(applied)
        log.info("transition", case_code=applied.code, trigger=event.trigger,
                 actor=event.actor.name, role=event.actor.role, from_state=applied.from_state,
                 to_state=applied.to_state, version=applied.version, replayed=applied.replayed,
                 duration_ms=round((time.perf_counter() - started) * 1000, 3))
        return applied

    def committed(self, applied: Applied) -> None:
        """Run the after-commit hooks (the outbox relay's nudge). Callers of ``apply_in`` call
        this once their own transaction has committed."""
        for hook in self.after_commit:
            hook(applied)

    def apply_in(self, conn: Connection, event: Event) -> Applied:
        """Apply ``event`` inside the caller's write transaction (the scheduler marks its
        deadline fired in the same one). Raises before writing anything if refused."""
        if event.trigger not in ALL_TRIGGERS:
            raise InvalidInput("unknown_trigger", got=event.trigger,
                               trigger_choices=list(ALL_TRIGGERS))
        eventdata.check(event.data, event.trigger)
        rows = fetch(conn, stmt.LOCK_CASE, {"code": event.case_code})
        if not rows:
            raise NotFound("case_not_found", got=event.case_code)
        case, live_clocks, uploaded = _split_clocks(rows)
        request_hash = _request_hash(event) if event.idempotency_key else ""
        if event.idempotency_key:
            replay = self._replay(conn, event, request_hash)
            if replay is not None:
                return replay
        if event.expected_version is not None and event.expected_version != case["version"]:
            raise PreconditionFailed("version_mismatch", case=case["code"],
                                     version_now=case["version"], expected=event.expected_version)
        facts = facts_for(case, event, self.clock.now(), self.settings, live_clocks)
        load_context(conn, facts, uploaded)
        plan, dest = decide(facts, lambda: queries.newest_certificate(conn, case["id"], "valid"))
        applied = self._write(conn, facts, plan, dest, request_hash)
        return applied

    def _write(self, conn: Connection, f: Facts, plan: effects.Plan, dest: str,
               request_hash: str) -> Applied:
        case, event, now = f.case, f.event, f.now
        internal = dest == f.state and is_internal(f.rule_version, event.trigger, f.state)
        issued = _certificates(conn, f, plan)
        decided = _decide(conn, f, plan)
        moved = {k: plan.updates.get(k, case[k]) for k in stmt.MOVABLE}
        if "potential_5" not in plan.updates and (
                issued is not None or (f.state == "central_review" != dest)):
            moved["potential_5"] = None  # the next certificate or the central result ends it
        data = {**plan.audit, **({"certificate": issued["number"]} if issued else {}),
                "effects": recorded_effects(case, moved, plan, issued, decided)}
        lease = now + self.outbox_lease if self.outbox_lease else None
        with pipeline(conn):  # PostgreSQL: the writes below cost one round trip, not one each
            seq = history.append(
                conn, history.Chain.of(case), stmt.MOVE_CASE,
                {"old_version": case["version"], "state": dest,
                 "new_version": case["version"] + 1, "now": now, "rules": f.rule_version,
                 **moved},
                at=now, actor=event.actor.name, role=event.actor.role, trigger=event.trigger,
                from_state=f.state, to_state=dest, reason=event.reason, data=data,
                rule_version=f.rule_version)["seq"]
            if plan.sheets:
                run(conn, stmt.INSERT_SCORE_SHEETS, [
                    {"case_id": case["id"], "audit_seq": seq, "level": plan.sheet_level,
                     "member": s.member, "a": s.a, "b": s.b, "c": s.c, "total": s.total,
                     "mandatory_ok": plan.mandatory_ok, "rule_version": f.rule_version,
                     "recorded_at": now, "council_id": f.council["id"] if f.council else None,
                     "entered_by": event.actor.name} for s in plan.sheets])
            if not internal:
                deadlines.apply(conn, f, dest, issued["valid_to"] if issued else None)
            elif decided is not None:
                deadlines.decided(conn, f, decided["valid_to"])
            messages = [] if internal and decided is None else outbox.status_messages(
                case, seq, event.trigger, f.state, dest, now,
                message_extra(plan, issued or decided, event, case, dest),
                public_url=self.settings.public_url, available_at=lease)
            if messages:
                run(conn, stmt.INSERT_OUTBOX, messages)
        applied = Applied(case["code"], event.trigger, f.state, dest, case["version"] + 1, seq,
                          tuple(m["message_id"] for m in messages),
                          lease=lease if messages else None)
        if event.idempotency_key:
            response = self.view(conn, case["code"]) if self.view else {}
            conn.execute(insert(idempotency_keys).values(
                actor=event.actor.name, key=event.idempotency_key, request_hash=request_hash,
                case_code=case["code"], response={"applied": _applied_json(applied),
                                                  "case": response}, created_at=now))
            applied = Applied(**{**applied.__dict__, "response": response})
        return applied

    def _replay(self, conn: Connection, event: Event, request_hash: str) -> Applied | None:
        stored = conn.execute(select(idempotency_keys).where(
            idempotency_keys.c.actor == event.actor.name,
            idempotency_keys.c.key == event.idempotency_key)).first()
        if stored is None:
            return None
        if stored.request_hash != request_hash:
            raise Conflict("idempotency_key_reused", got=event.idempotency_key,
                           actor=event.actor.name, case=stored.case_code)
        first = stored.response["applied"]
        return Applied(first["code"], first["trigger"], first["from"], first["to"],
                       first["version"], first["seq"], replayed=True,
                       response=stored.response["case"])


_CLOCK_LABELS = tuple((c, f"clock_{c}") for c in stmt.CLOCK_COLUMNS)


def _split_clocks(rows: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], list[dict[str, Any]],
                                                         frozenset[str]]:
    """The case columns, the live clocks joined onto its rows, the kinds uploaded to it."""
    case = rows[0].copy()
    for _, label in _CLOCK_LABELS:
        del case[label]
    uploaded = case.pop(stmt.UPLOADED_KINDS)
    clocks = [{c: row[label] for c, label in _CLOCK_LABELS}
              for row in rows if row["clock_id"] is not None]
    return case, clocks, frozenset(uploaded.split(",")) if uploaded else frozenset()


def is_internal(rules: str, trigger: str, state: str | None = None) -> bool:
    """Whether ``trigger`` is an internal event under ``rules`` — an audited act that leaves
    the case where it is: no row of it (from ``state``; from any state if None) has a
    destination. The engine writes no clock and no notice for one; the sweep batches them."""
    return all(r.dest is None for r in states.lifecycle(rules).rows(trigger, state))


# The triggers internal from every state under every rule version (``escalate``): the ones the
# sweep's set-based batch takes.
INTERNAL_TRIGGERS = frozenset(t for t in ALL_TRIGGERS
                              if all(is_internal(v, t) for v in states.LIFECYCLES))


def _applied_json(a: Applied) -> dict[str, Any]:
    return {"code": a.code, "trigger": a.trigger, "from": a.from_state, "to": a.to_state,
            "version": a.version, "seq": a.seq}


def _request_hash(event: Event) -> str:
    body = audit.canonical({"case": event.case_code, "trigger": event.trigger,
                            "data": event.data, "reason": event.reason})
    return hashlib.sha256(body.encode()).hexdigest()


def load_context(conn: Connection, f: Facts, uploaded: frozenset[str]) -> None:
    """What the event's checks read besides the case row: the uploaded document kinds (for
    ``submit``/``resubmit``; read with the case row), the council a scoring event names, the
    pending certificate (for ``record_decision``)."""
    trigger, case_id = f.event.trigger, f.case["id"]
    if trigger in ("submit", "resubmit"):
        f.uploaded_kinds = uploaded
    council = f.event.data.get("council")
    if isinstance(council, int) and not isinstance(council, bool) and 0 < council < 2**31:
        f.council = councils.get(conn, council)
    if trigger == "record_decision":
        f.pending = queries.newest_certificate(conn, case_id, "pending")


def recorded_effects(case: dict[str, Any], moved: dict[str, Any], plan: effects.Plan,
                     issued: dict[str, Any] | None,
                     decided: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the event did to the fields ``ocop audit verify`` replays, kept in its audit
    entry (always, so event data can never supply its own): the replayed fields it changed,
    the certificate it issued, the status it gave the valid ones (``replay``)."""
    out: dict[str, Any] = {}
    changed = {k: moved[k] for k in replay.FIELDS if moved[k] != case[k]}
    if changed:
        out["set"] = changed
    if plan.end_certificates:
        out["ended"] = plan.end_certificates
    if issued is not None:
        out["issued"] = {**replay.certificate_fields(issued), "status": issued["status"]}
    if decided is not None:
        out["decided"] = replay.certificate_fields(decided)
    return out


def _certificates(conn: Connection, f: Facts, plan: effects.Plan) -> dict[str, Any] | None:
    """End or supersede the case's certificates and issue the new one, if any. A certificate
    issued with its decision supersedes the valid and pending ones; one issued pending (no
    decision yet) supersedes only an earlier pending one: the certificate in force stays in
    force until the new one's decision (DOMAIN.md §9)."""
    case_id = f.case["id"]
    if plan.end_certificates:
        conn.execute(update(certs).where(certs.c.case_id == case_id, certs.c.status == "valid")
                     .values(status=plan.end_certificates))
    issue = plan.issue
    if issue is None:
        return None
    replaced = ("valid", "pending") if issue.decision_date else ("pending",)
    conn.execute(update(certs).where(certs.c.case_id == case_id, certs.c.status.in_(replaced))
                 .values(status="superseded"))
    entered = local(f.now).date()
    row = {"case_id": case_id, "number": certificates.number(issue.level, entered),
           "stars": issue.stars, "level": issue.level, "rule_version": f.rule_version,
           "issued_on": issue.scored_on or entered,
           "valid_to": certificates.valid_to(issue.decision_date)
           if issue.decision_date else None,
           "status": "valid" if issue.decision_date else "pending",
           "decision_no": issue.decision_no, "decision_date": issue.decision_date,
           "decision_body": issue.decision_body, "created_at": f.now}
    row["signature"] = _sign(conn, f, row)
    conn.execute(insert(certs), row)
    return row


def _sign(conn: Connection, f: Facts, row: dict[str, Any]) -> str:
    return seal.of(conn).sign(seal.certificate_payload(
        row, f.case["code"], f.case["product"], f.case["producer_name"]))


def _decide(conn: Connection, f: Facts, plan: effects.Plan) -> dict[str, Any] | None:
    """``record_decision``: the pending certificate gets its decision and its validity (36
    months from the decision's date), signed anew; the certificate it replaces is superseded."""
    if plan.decide is None or f.pending is None:
        return None
    row = {**f.pending, **plan.decide, "status": "valid",
           "valid_to": certificates.valid_to(plan.decide["decision_date"])}
    row["signature"] = _sign(conn, f, row)
    replaced = conn.execute(select(certs.c.number).where(
        certs.c.case_id == f.case["id"], certs.c.status == "valid")).scalars().all()
    if replaced:  # audited, never silent
        plan.audit["certificate_superseded"] = replaced[0]
        conn.execute(update(certs).where(certs.c.case_id == f.case["id"],
                                         certs.c.status == "valid").values(status="superseded"))
    conn.execute(update(certs).where(certs.c.id == row["id"]).values(
        decision_no=row["decision_no"], decision_date=row["decision_date"],
        decision_body=row["decision_body"], valid_to=row["valid_to"], status="valid",
        signature=row["signature"]))
    return row


def message_extra(plan: effects.Plan, issued: dict[str, Any] | None, event: Event,
                   case: dict[str, Any], dest: str) -> dict[str, Any]:
    extra: dict[str, Any] = {"stars": plan.updates.get("stars", case["stars"])}
    if issued:
        valid_to = issued["valid_to"]
        extra["certificate"] = {"number": issued["number"], "stars": issued["stars"],
                                "valid_to": valid_to.isoformat() if valid_to else None,
                                "status": issued["status"]}
        if issued.get("decision_date"):
            extra["certificate"]["decision"] = {
                "number": issued["decision_no"], "date": issued["decision_date"].isoformat(),
                "body": issued["decision_body"]}
    if event.reason:
        extra["reason"] = event.reason
    if dest == "needs_completion":
        extra["completion_days"] = event.data.get("days", 30)
    return extra
