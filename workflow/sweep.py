"""The deadline sweep: fire every due deadline exactly once, in time proportional to what is due.

Due rows are found through the partial index on ``due_at`` (open rows only) and locked with
``FOR UPDATE SKIP LOCKED`` together with their case on PostgreSQL, so two sweeps never take the
same deadline and never wait for each other; SQLite serialises whole sweeps (BEGIN IMMEDIATE).
Each deadline's action — an engine event as the system actor, outbox rows, the row's new status —
is written in the same transaction, so it fires once or not at all. A sweep after days of
downtime simply finds everything that fell due meanwhile.
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Row, select, update

from workflow import calendar, certificates, outbox
from workflow.clock import iso
from workflow.db import write_transaction
from workflow.engine import Applied, WorkflowEngine
from workflow.errors import GuardFailed, OcopError
from workflow.facts import SYSTEM_ACTOR, Event
from workflow.relay import Relay
from workflow.schema import cases, deadlines, producers
from workflow.schema import certificates as certs
from workflow.schema import outbox as outbox_rows

log = structlog.get_logger("ocop.sweep")

OFFICE_KINDS = frozenset({"review_start", "district_review", "commune_prescore", "ip_check",
                          "city_rating", "central_review"})
REMINDER_DAYS = {"completion_reminder_7": 7, "completion_reminder_1": 1}
NOTICE_DAYS = {"cert_notice_90": 90, "cert_notice_30": 30}
BATCH = 200
RETRY_LATER = timedelta(hours=1)
MESSAGE_IDS = uuid.UUID("6f1c3c52-8d7e-4b6a-9a51-0c0c0a0f0c0a")

DUE = (select(deadlines.c.id, deadlines.c.case_id, deadlines.c.kind, deadlines.c.state,
              deadlines.c.due_at, deadlines.c.level, cases.c.code)
       .join(cases, cases.c.id == deadlines.c.case_id))
CASE = (select(cases.c.id, cases.c.code, cases.c.product, cases.c.state, cases.c.audit_seq,
               producers.c.name.label("producer_name"),
               producers.c.email.label("producer_email"),
               producers.c.webhook_url.label("producer_webhook"),
               producers.c.lang.label("producer_lang"))
        .join(producers, producers.c.id == cases.c.producer_id))


@dataclass
class Fired:
    """What one batch did, handed over after its commit."""

    counts: Counter[str] = field(default_factory=Counter)
    applied: list[Applied] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


class Sweeper:
    def __init__(self, engine: WorkflowEngine, relay: Relay | None = None,
                 batch: int = BATCH) -> None:
        self.engine, self.relay, self.batch = engine, relay, batch
        self.settings = engine.settings

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
        for row in rows:
            fired.counts[self._one(conn, row, now, fired)] += 1
        return fired, len(rows)

    def _one(self, conn: Connection, d: Row[Any], now: datetime, fired: Fired) -> str:
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

    def _fire(self, conn: Connection, d: Row[Any], now: datetime, fired: Fired) -> str:
        if d.kind in OFFICE_KINDS:
            return self._escalate(conn, d, now, fired)
        if d.kind == "completion":
            fired.applied.append(self.engine.apply_in(conn, Event(
                d.code, "withdraw", SYSTEM_ACTOR, reason="The completion deadline passed.")))
            self._done(conn, d, now)
            return "withdrawn"
        if d.kind == "cert_expiry":
            fired.applied.append(self.engine.apply_in(conn, Event(d.code, "expire",
                                                                  SYSTEM_ACTOR)))
            self._done(conn, d, now)
            return "expired"
        if d.kind in REMINDER_DAYS:
            return self._remind(conn, d, now, fired)
        if d.kind in NOTICE_DAYS:
            return self._notice(conn, d, now, fired)
        return self._close(conn, d, now, "refused", f"unknown deadline kind {d.kind}")

    def _escalate(self, conn: Connection, d: Row[Any], now: datetime, fired: Fired) -> str:
        level = d.level + 1
        applied = self.engine.apply_in(conn, Event(
            d.code, "escalate", SYSTEM_ACTOR, {"deadline": d.kind, "level": level}))
        case = self._case(conn, d.case_id)
        reminder = d.kind == "central_review"
        payload = {**_about(case), "deadline": d.kind, "level": level, "due": iso(d.due_at),
                   "state": case["state"], "at": iso(now)}
        kind = "reminder" if reminder else "escalation"
        for channel, recipient in self._staff(level, reminder):
            self._message(conn, d, level, case, applied.seq, kind, channel, recipient, "vi",
                          payload, now, fired)
        again = calendar.add_working_days(now, self.settings.escalate_again_after_days)
        conn.execute(update(deadlines).where(deadlines.c.id == d.id)
                     .values(level=level, fired_at=now, due_at=again))
        fired.applied.append(applied)
        return "reminded_officer" if reminder else "escalated"

    def _staff(self, level: int, reminder: bool) -> list[tuple[str, str | None]]:
        """Who hears about a breach: in-app by role, and e-mail where an address is set."""
        if reminder:
            mail = self.settings.city_officer_email
            return [("inapp", "role:city_officer"), *([("email", mail)] if mail else [])]
        emails = self.settings.supervisor_emails
        out: list[tuple[str, str | None]] = [("inapp", "role:supervisor")]
        if emails:
            out.append(("email", emails[min(level, len(emails)) - 1]))
        return out

    def _remind(self, conn: Connection, d: Row[Any], now: datetime, fired: Fired) -> str:
        due = d.due_at + timedelta(days=REMINDER_DAYS[d.kind])
        if now < due:
            self._to_producer(conn, d, now, "completion_reminder",
                              {"due": iso(due), "days_left": _days_left(now, due)}, fired)
        self._done(conn, d, now)
        return "reminded" if now < due else "skipped"

    def _notice(self, conn: Connection, d: Row[Any], now: datetime, fired: Fired) -> str:
        cert = conn.execute(select(certs).where(certs.c.case_id == d.case_id,
                                                certs.c.status == "valid")
                            .order_by(certs.c.id.desc()).limit(1)).first()
        end = certificates.expires_at(cert.valid_to) if cert is not None else now
        if now < end and cert is not None:
            self._to_producer(conn, d, now, "certificate_notice", {
                "certificate": {"number": cert.number, "stars": cert.stars,
                                "valid_to": cert.valid_to.isoformat()},
                "due": iso(end), "days_left": _days_left(now, end)}, fired)
        self._done(conn, d, now)
        return "noticed" if now < end else "skipped"

    def _to_producer(self, conn: Connection, d: Row[Any], now: datetime, kind: str,
                     extra: dict[str, Any], fired: Fired) -> None:
        case = self._case(conn, d.case_id)
        payload = {**_about(case), "state": case["state"], "at": iso(now), **extra}
        for channel, recipient in outbox.channels(case):
            self._message(conn, d, d.level, case, case["audit_seq"], kind, channel, recipient,
                          case["producer_lang"], payload, now, fired)

    def _message(self, conn: Connection, d: Row[Any], level: int, case: dict[str, Any],
                 seq: int, kind: str, channel: str, recipient: str | None, lang: str,
                 payload: dict[str, Any], now: datetime, fired: Fired) -> None:
        row = outbox.message(case["id"], seq, kind, channel, recipient, lang, payload, now)
        # Derived from the deadline and level: firing twice would break the unique key.
        row["message_id"] = str(uuid.uuid5(MESSAGE_IDS, f"{d.id}/{level}/{channel}/{recipient}"))
        conn.execute(outbox_rows.insert(), row)
        fired.messages.append(row["message_id"])

    def _case(self, conn: Connection, case_id: int) -> dict[str, Any]:
        return dict(conn.execute(CASE.where(cases.c.id == case_id)).one()._mapping)

    def _done(self, conn: Connection, d: Row[Any], now: datetime) -> None:
        conn.execute(update(deadlines).where(deadlines.c.id == d.id)
                     .values(status="done", fired_at=now))

    def _close(self, conn: Connection, d: Row[Any], now: datetime, outcome: str,
               why: object) -> str:
        log.warning("deadline_refused", deadline_id=d.id, case_code=d.code, kind=d.kind,
                    error=str(why))
        self._done(conn, d, now)
        return outcome

    def _postpone(self, conn: Connection, d: Row[Any], now: datetime, why: object) -> None:
        log.warning("deadline_postponed", deadline_id=d.id, case_code=d.code, kind=d.kind,
                    error=str(why))
        conn.execute(update(deadlines).where(deadlines.c.id == d.id)
                     .values(due_at=now + RETRY_LATER))


def _about(case: dict[str, Any]) -> dict[str, Any]:
    return {"case_code": case["code"], "product": case["product"],
            "producer": case["producer_name"]}


def _days_left(now: datetime, due: datetime) -> int:
    return max(1, math.ceil((due - now) / timedelta(days=1)))
