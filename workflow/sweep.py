"""The deadline sweep: fire every due deadline exactly once, in time proportional to what is due.

Due rows are found through the partial index on ``due_at`` (open rows only) and locked with
``FOR UPDATE SKIP LOCKED`` together with their case on PostgreSQL, so two sweeps never take the
same deadline and never wait for each other; SQLite serialises whole sweeps (BEGIN IMMEDIATE).
Each deadline's action — an engine event as the system actor, outbox rows, the row's new status —
is written in the same transaction, so it fires once or not at all. A sweep after days of
downtime simply finds everything that fell due meanwhile.

The many kinds that change no case state fire set-based (``workflow.sweep_set``); the rare ones
that move a case — ``withdraw`` at the completion deadline, ``expire`` at a certificate's end —
go one by one through ``WorkflowEngine.apply_in``, after them.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import structlog
from sqlalchemy import Connection, select, update

import states
from workflow.domain.facts import SYSTEM_ACTOR, Event
from workflow.engine import WorkflowEngine
from workflow.errors import GuardFailed, OcopError
from workflow.relay import Relay
from workflow.store.db import write_transaction
from workflow.store.schema import cases, certificates, deadlines
from workflow.sweep_set import CLOSE, SET_BASED, Due, Fired, SetSweep

log = structlog.get_logger("ocop.sweep")

BATCH = 500
RETRY_LATER = timedelta(hours=1)

DUE = (select(deadlines.c.id, deadlines.c.case_id, deadlines.c.kind, deadlines.c.state,
              deadlines.c.due_at, deadlines.c.level, cases.c.code)
       .join(cases, cases.c.id == deadlines.c.case_id))


# The system's reason for withdrawing a case, as a code: shown in words from the catalogue
# (kind ``explain``) wherever a reason is shown.
WITHDRAWN_LATE = "completion_deadline_passed"


class Sweeper:
    def __init__(self, engine: WorkflowEngine, relay: Relay | None = None,
                 batch: int = BATCH) -> None:
        self.engine, self.relay, self.batch = engine, relay, batch
        self.set_sweep = SetSweep(engine)

    def run(self) -> Counter[str]:
        """Fire everything due now, batch by batch; returns what happened, by outcome."""
        total: Counter[str] = Counter()
        while True:
            with write_transaction(self.engine.db) as conn:
                fired, found = self._batch(conn)
            for applied in fired.applied:
                self.engine.committed(applied)
            if self.relay is not None:
                self.relay.dispatch(fired.messages)
            total.update(fired.counts)
            if found < self.batch:
                break
        if total:
            log.info("sweep", **total)
        return total

    def _batch(self, conn: Connection) -> tuple[Fired, int]:
        now = self.engine.clock.now()
        rows = conn.execute(
            DUE.where(deadlines.c.status == "open", deadlines.c.due_at <= now)
            .order_by(deadlines.c.due_at, deadlines.c.id).limit(self.batch)
            .with_for_update(skip_locked=True, of=[deadlines, cases])).all()
        fired = Fired()
        self._set_based(conn, [d for d in rows if d.kind in SET_BASED], now, fired)
        for row in rows:
            if row.kind not in SET_BASED:
                fired.counts[self._one(conn, row, now, fired)] += 1
        return fired, len(rows)

    def _set_based(self, conn: Connection, rows: list[Due], now: datetime,
                   fired: Fired) -> None:
        """Fire ``rows`` together; should that fail, each alone, so that a bug postpones only
        its own deadline and never blocks every other one."""
        if not rows:
            return
        try:
            with conn.begin_nested():
                part = self.set_sweep.fire(conn, rows, now)
        except Exception as error:
            if len(rows) > 1:
                for row in rows:
                    self._set_based(conn, [row], now, fired)
                return
            log.exception("deadline_error", deadline_id=rows[0].id, case_code=rows[0].code,
                          kind=rows[0].kind)
            self._postpone(conn, rows[0], now, error)
            fired.counts["postponed"] += 1
            return
        fired.add(part)

    def _one(self, conn: Connection, d: Due, now: datetime, fired: Fired) -> str:
        status = conn.execute(select(deadlines.c.status).where(deadlines.c.id == d.id)).scalar()
        if status != "open":  # an earlier action of this batch closed it (a withdrawal)
            return "skipped"
        try:
            with conn.begin_nested():
                return self._fire(conn, d, now, fired)
        except GuardFailed as error:
            if d.kind != "cert_expiry":
                return self._close(conn, d, now, "refused", error)
            self._postpone(conn, d, now, error)  # valid until later today: try again soon
            return "postponed"
        except OcopError as error:
            return self._close(conn, d, now, "refused", error)
        except Exception as error:  # a bug must not block every other deadline
            log.exception("deadline_error", deadline_id=d.id, case_code=d.code, kind=d.kind)
            self._postpone(conn, d, now, error)
            return "postponed"

    def _fire(self, conn: Connection, d: Due, now: datetime, fired: Fired) -> str:
        if d.kind == "completion":
            fired.applied.append(self.engine.apply_in(conn, Event(
                d.code, "withdraw", SYSTEM_ACTOR, reason=WITHDRAWN_LATE)))
            self._done(conn, d, now)
            return "withdrawn"
        if d.kind == "cert_expiry":
            if not _may_expire(conn, d.case_id):
                return self._expire_certificates(conn, d, now, fired)
            fired.applied.append(self.engine.apply_in(conn, Event(d.code, "expire",
                                                                  SYSTEM_ACTOR)))
            self._done(conn, d, now)
            return "expired"
        return self._close(conn, d, now, "refused", f"unknown deadline kind {d.kind}")

    def _expire_certificates(self, conn: Connection, d: Due, now: datetime,
                             fired: Fired) -> str:
        """The case has left the states ``expire`` leaves (rejected, withdrawn, or back in
        review): its certificate past its last day expires through the engine, an audit entry
        of the case that does not move it (DOMAIN.md §9)."""
        try:
            with conn.begin_nested():
                fired.applied.append(self.engine.apply_in(conn, Event(
                    d.code, "expire_certificate", SYSTEM_ACTOR)))
        except GuardFailed as error:
            if error.code != "no_valid_certificate":
                raise
            self._done(conn, d, now)  # revoked or superseded meanwhile: nothing left to end
            return "skipped"
        log.info("certificate_expired", deadline_id=d.id, case_code=d.code)
        self._done(conn, d, now)
        return "certificate_expired"

    def _done(self, conn: Connection, d: Due, now: datetime) -> None:
        conn.execute(CLOSE, {"ids": [d.id], "now": now})

    def _close(self, conn: Connection, d: Due, now: datetime, outcome: str,
               why: object) -> str:
        log.warning("deadline_refused", deadline_id=d.id, case_code=d.code, kind=d.kind,
                    error=str(why))
        self._done(conn, d, now)
        return outcome

    def _postpone(self, conn: Connection, d: Due, now: datetime, why: object) -> None:
        log.warning("deadline_postponed", deadline_id=d.id, case_code=d.code, kind=d.kind,
                    error=str(why))
        conn.execute(update(deadlines).where(deadlines.c.id == d.id)
                     .values(due_at=now + RETRY_LATER))


def _may_expire(conn: Connection, case_id: int) -> bool:
    """Whether the case, as it stands now, is in a state its rules let ``expire`` leave, and
    holds no certificate pending its decision (a re-evaluated product whose old certificate
    ends before the new one's decision: the old one expires, the case waits for it)."""
    state, rules = conn.execute(select(cases.c.state, cases.c.rule_version)
                                .where(cases.c.id == case_id)).one()
    pending = conn.execute(select(certificates.c.id).where(
        certificates.c.case_id == case_id, certificates.c.status == "pending")
        .limit(1)).first()
    return pending is None and state in states.lifecycle(rules).sources("expire")
