"""The set-based half of the deadline sweep: the kinds that change no case state.

Office escalations, the central_review reminder, completion reminders and certificate notices
of one batch are fired together: the escalations through ``workflow.batch`` (the engine's checks,
one write of the cases and one of their audit entries), then every outbox row in one insert,
every escalated deadline moved on in one update and every finished one closed in another.
The caller has locked the deadline rows and their cases (``FOR UPDATE SKIP LOCKED``).
"""

from __future__ import annotations

import math
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Connection, Row, bindparam, select, update

import states
from workflow.batch import VALID_CERTIFICATES, apply_internal_batch
from workflow.clock import iso
from workflow.domain import calendar, certificates, outbox
from workflow.domain.facts import SYSTEM_ACTOR, Event
from workflow.engine import Applied, WorkflowEngine
from workflow.errors import OcopError
from workflow.store import statements as stmt
from workflow.store.schema import cases, deadlines, producers

log = structlog.get_logger("ocop.sweep")

# The office clocks of every rule version, as ``states/`` defines them.
OFFICE_KINDS = frozenset(clock.kind for lc in states.LIFECYCLES.values()
                         for clock in lc.clocks.values() if clock.owner == "office")
REMINDER_DAYS = {"completion_reminder_7": 7, "completion_reminder_1": 1}
NOTICE_DAYS = certificates.NOTICE_LATEST
SET_BASED = OFFICE_KINDS | REMINDER_DAYS.keys() | NOTICE_DAYS.keys()
Due = Row[*tuple[Any, ...]]  # a row of the sweep's DUE query
MESSAGE_IDS = uuid.UUID("6f1c3c52-8d7e-4b6a-9a51-0c0c0a0f0c0a")

# The batch's cases, already locked: the columns the engine reads, and the producer's.
CASES = (select(cases, producers.c.name.label("producer_name"),
                producers.c.email.label("producer_email"),
                producers.c.webhook_url.label("producer_webhook"),
                producers.c.lang.label("producer_lang"))
         .join(producers, producers.c.id == cases.c.producer_id)
         .where(cases.c.id.in_(bindparam("ids", expanding=True))))
# Every escalation of a batch moves on by the same amount from the same moment: one statement.
BUMP = (update(deadlines).where(deadlines.c.id.in_(bindparam("ids", expanding=True)))
        .values(level=deadlines.c.level + 1, fired_at=bindparam("now"),
                due_at=bindparam("again")))
CLOSE = (update(deadlines).where(deadlines.c.id.in_(bindparam("ids", expanding=True)))
         .values(status="done", fired_at=bindparam("now")))


@dataclass
class Fired:
    """What one batch did, handed over after its commit."""

    counts: Counter[str] = field(default_factory=Counter)
    applied: list[Applied] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def add(self, other: Fired) -> None:
        self.counts.update(other.counts)
        self.applied += other.applied
        self.messages += other.messages


@dataclass
class _Writes:
    """The writes, gathered first and then made with one statement each."""

    messages: list[dict[str, Any]] = field(default_factory=list)
    bumped: list[int] = field(default_factory=list)
    done: list[int] = field(default_factory=list)

    def flush(self, conn: Connection, now: datetime, again: datetime | None) -> None:
        if self.messages:
            conn.execute(stmt.INSERT_OUTBOX, self.messages)
        if self.bumped:
            conn.execute(BUMP, {"ids": self.bumped, "now": now, "again": again})
        if self.done:
            conn.execute(CLOSE, {"ids": self.done, "now": now})


class SetSweep:
    """Fires one batch's set-based deadlines; holds nothing between batches."""

    def __init__(self, engine: WorkflowEngine) -> None:
        self.engine, self.settings = engine, engine.settings

    def fire(self, conn: Connection, rows: list[Due], now: datetime) -> Fired:
        locked = {r.id: {**r._mapping, "status_url": outbox.status_url(
            self.settings.public_url, r.code, r.status_token)} for r in conn.execute(
            CASES, {"ids": sorted({d.case_id for d in rows})})}
        fired, writes = Fired(), _Writes()
        office = [d for d in rows if d.kind in OFFICE_KINDS]
        seqs = self._escalate(conn, office, locked, now, fired, writes)
        valid = _certificates(conn, [d.case_id for d in rows if d.kind in NOTICE_DAYS])
        for d in rows:
            case = locked[d.case_id]
            seq = seqs.get(d.case_id, case["audit_seq"])
            if d.kind in REMINDER_DAYS:
                fired.counts[_remind(d, case, seq, now, writes)] += 1
            elif d.kind in NOTICE_DAYS:
                outcome = _notice(d, case, seq, valid.get(d.case_id), now, writes)
                if outcome == "notice_late":
                    self._notify_staff(d, case, seq, now, writes)
                fired.counts[outcome] += 1
        again = (calendar.add_working_days(now, self.settings.escalate_again_after_days)
                 if writes.bumped else None)
        writes.flush(conn, now, again)
        fired.messages += [m["message_id"] for m in writes.messages]
        return fired

    def _escalate(self, conn: Connection, rows: list[Due], locked: dict[int, Any],
                  now: datetime, fired: Fired, writes: _Writes) -> dict[int, int]:
        """Escalate ``rows`` one level up; returns each escalated case's last audit seq."""
        events = [Event(d.code, "escalate", SYSTEM_ACTOR, {"deadline": d.kind,
                                                           "level": d.level + 1}) for d in rows]
        cases_by_code = {locked[d.case_id]["code"]: locked[d.case_id] for d in rows}
        results = apply_internal_batch(conn, self.engine, events, cases_by_code)
        seqs: dict[int, int] = {}
        for d, result in zip(rows, results, strict=True):
            if isinstance(result, OcopError):
                log.warning("deadline_refused", deadline_id=d.id, case_code=d.code,
                            kind=d.kind, error=str(result))
                writes.done.append(d.id)
                fired.counts["refused"] += 1
                continue
            self._notify_staff(d, locked[d.case_id], result.seq, now, writes)
            writes.bumped.append(d.id)
            seqs[d.case_id] = result.seq
            fired.applied.append(result)
            fired.counts["reminded_officer" if d.kind == "central_review" else "escalated"] += 1
        return seqs

    def _notify_staff(self, d: Due, case: dict[str, Any], seq: int, now: datetime,
                      writes: _Writes) -> None:
        level, reminder = d.level + 1, d.kind == "central_review"
        payload = {**_about(case), "deadline": d.kind, "level": level, "due": iso(d.due_at),
                   "state": case["state"], "at": iso(now)}
        for channel, recipient in self._staff(level, reminder):
            writes.messages.append(_message(d, level, case, seq,
                                            "reminder" if reminder else "escalation",
                                            channel, recipient, "vi", payload, now))

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


def _remind(d: Due, case: dict[str, Any], seq: int, now: datetime,
            writes: _Writes) -> str:
    due = d.due_at + timedelta(days=REMINDER_DAYS[d.kind])
    if now < due:
        _to_producer(d, case, seq, now, "completion_reminder",
                     {"due": iso(due), "days_left": _days_left(now, due)}, writes)
    writes.done.append(d.id)
    return "reminded" if now < due else "skipped"


def _notice(d: Due, case: dict[str, Any], seq: int, cert: dict[str, Any] | None,
            now: datetime, writes: _Writes) -> str:
    """Send a certificate notice. One sent after its latest day (the statutory 30 days before
    expiry) — or that can no longer be sent — is ``notice_late``: the caller escalates it."""
    writes.done.append(d.id)
    if cert is None:
        return "no_certificate"  # revoked or superseded meanwhile: nothing to announce
    end = certificates.expires_at(cert["valid_to"])
    if now < end:
        _to_producer(d, case, seq, now, "certificate_notice", {
            "certificate": {"number": cert["number"], "stars": cert["stars"],
                            "valid_to": cert["valid_to"].isoformat()},
            "due": iso(end), "days_left": _days_left(now, end)}, writes)
    latest = end - timedelta(days=NOTICE_DAYS[d.kind])
    return "noticed" if now <= latest else "notice_late"


def _certificates(conn: Connection, case_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each case's newest valid certificate."""
    if not case_ids:
        return {}
    return {r.case_id: dict(r._mapping) for r in conn.execute(
        VALID_CERTIFICATES, {"ids": sorted(set(case_ids))})}


def _to_producer(d: Due, case: dict[str, Any], seq: int, now: datetime, kind: str,
                 extra: dict[str, Any], writes: _Writes) -> None:
    payload = {**_about(case), "state": case["state"], "at": iso(now), **extra,
               "status_url": case["status_url"]}
    for channel, recipient in outbox.channels(case):
        writes.messages.append(_message(d, d.level, case, seq, kind, channel, recipient,
                                        case["producer_lang"], payload, now))


def _message(d: Due, level: int, case: dict[str, Any], seq: int, kind: str, channel: str,
             recipient: str | None, lang: str, payload: dict[str, Any],
             now: datetime) -> dict[str, Any]:
    row = outbox.message(case["id"], seq, kind, channel, recipient, lang, payload, now)
    # Derived from the deadline and level: firing twice would break the unique key.
    row["message_id"] = str(uuid.uuid5(MESSAGE_IDS, f"{d.id}/{level}/{channel}/{recipient}"))
    return row


def _about(case: dict[str, Any]) -> dict[str, Any]:
    return {"case_code": case["code"], "product": case["product"],
            "producer": case["producer_name"]}


def _days_left(now: datetime, due: datetime) -> int:
    return max(1, math.ceil((due - now) / timedelta(days=1)))
