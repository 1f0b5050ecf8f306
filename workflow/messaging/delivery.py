"""Delivering outbox messages inside a delivery task: claim, send, record.

A task carries the message ids of one dispatch (usually one transition's messages: in-app,
e-mail, webhook) and that dispatch's lease. Two transactions per task in the common case:

1. the **claim**, one ``UPDATE … WHERE status = 'pending' AND available_at = :lease
   RETURNING …`` that is at once the load (row, case code, webhook secret) and a
   compare-and-set: of two copies of a task — a broker redelivery and a relay re-dispatch —
   only the one whose lease is current takes the messages, and it extends the lease so the
   periodic relay leaves them alone while it sends;
2. the **record** of the outcomes: sent, retry later (backoff), or failed.

The record follows every *external* send (e-mail, webhook) before the next one starts, so a
worker killed mid-task leaves at most one message sent but not recorded — sent again once its
lease runs out, and dropped by the receiver by its message id. In-app messages have no effect
outside the database (recording them is their delivery), so they ride along with the next record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import Engine, Row, String, literal_column, select, update

from workflow.clock import Clock, parse_iso
from workflow.config import Settings
from workflow.domain.outbox import FAILED, PENDING, SENT
from workflow.messaging.channels import Channel, DeliveryError, Outgoing, PermanentFailure
from workflow.store.db import write_transaction
from workflow.store.schema import cases, outbox, producers

log = structlog.get_logger("ocop.relay")

MAX_BACKOFF = 6 * 3600.0
# The claim returns the row and, by correlated subqueries, the case code and the producer's
# webhook secret: one statement on PostgreSQL and SQLite alike. Written out because SQLite's
# RETURNING cannot name the tables of an UPDATE … FROM, and SQLAlchemy writes the columns of
# a SQLite RETURNING without their table (ambiguous inside a subquery).
_CASE_CODE = literal_column(
    f"(SELECT c.code FROM {cases.name} c WHERE c.id = {outbox.name}.case_id)", String,
).label("code")
_SECRET = literal_column(
    f"(SELECT p.webhook_secret FROM {cases.name} c JOIN {producers.name} p "
    f"ON p.id = c.producer_id WHERE c.id = {outbox.name}.case_id)", String,
).label("webhook_secret")
CLAIM = update(outbox).returning(*outbox.c, _CASE_CODE, _SECRET)


@dataclass(frozen=True)
class Outcome:
    row: Row[Any]
    error: str | None = None  # None: sent
    final: bool = False  # the error cannot be cured by retrying


class Delivery:
    def __init__(self, db: Engine, clock: Clock, settings: Settings,
                 channels: Callable[[], Mapping[str, Channel]]) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self._channels = channels

    def deliver(self, message_ids: Sequence[str], lease: str | None) -> dict[str, str]:
        """Send the messages of one dispatch and record each outcome; returns message id ->
        "sent" / "retry" / "failed" for the messages this task took (a message already sent,
        or dispatched again since, is not taken). Without ``lease`` (an operator, a test)
        every pending one is taken."""
        channels = self._channels()
        rows = self._claim(message_ids, lease)
        results: dict[str, str] = {}
        unrecorded: list[Outcome] = []
        for row in sorted(rows, key=lambda r: _external(channels.get(r.channel))):
            unrecorded.append(_send(channels.get(row.channel), row))
            if _external(channels.get(row.channel)):
                results.update(self._record(unrecorded))
                unrecorded = []
        results.update(self._record(unrecorded))
        return results

    def why_not(self, message_id: str) -> str:
        """The claim did not take this message (the rare path): say why."""
        with self.db.connect() as conn:
            status = conn.execute(select(outbox.c.status)
                                  .where(outbox.c.message_id == message_id)).scalar()
        if status is None:
            return "unknown"
        if status != PENDING:
            return f"already {status}"
        return "superseded by another dispatch"

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt ``attempts + 1``: doubling from the base, at most six hours."""
        return min(self.settings.outbox_backoff_seconds * 2.0 ** (attempts - 1), MAX_BACKOFF)

    def lease_end(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.settings.outbox_lease_seconds)

    def _claim(self, message_ids: Sequence[str], lease: str | None) -> list[Row[Any]]:
        where = [outbox.c.message_id.in_(list(message_ids)), outbox.c.status == PENDING]
        if lease:
            where.append(outbox.c.available_at == parse_iso(lease))
        with write_transaction(self.db) as conn:
            return list(conn.execute(CLAIM.where(*where).values(available_at=self.lease_end())))

    def _record(self, outcomes: list[Outcome]) -> dict[str, str]:
        """One transaction for these outcomes: the sent ones in one statement."""
        if not outcomes:
            return {}
        now = self.clock.now()
        sent = [o.row.id for o in outcomes if o.error is None]
        results: dict[str, str] = {}
        with write_transaction(self.db) as conn:
            if sent:
                conn.execute(update(outbox).where(outbox.c.id.in_(sent),
                                                  outbox.c.status == PENDING)
                             .values(status=SENT, sent_at=now, attempts=outbox.c.attempts + 1,
                                     last_error=None))
            for o in outcomes:
                if o.error is not None:
                    values = self._failure(o, now)
                    conn.execute(update(outbox).where(outbox.c.id == o.row.id,
                                                      outbox.c.status == PENDING).values(**values))
                    results[o.row.message_id] = values.get("status", "retry")
        for o in outcomes:
            if o.error is None:
                results[o.row.message_id] = SENT
                log.info("delivered", message_id=o.row.message_id, case_code=o.row.code,
                         channel=o.row.channel, kind=o.row.kind)
            else:
                log.warning("delivery_failed", message_id=o.row.message_id,
                            case_code=o.row.code, channel=o.row.channel,
                            attempts=o.row.attempts + 1, error=o.error,
                            gave_up=results[o.row.message_id] == FAILED)
        return results

    def _failure(self, o: Outcome, now: datetime) -> dict[str, Any]:
        attempts = o.row.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_error": (o.error or "")[:2000]}
        if o.final or attempts >= self.settings.outbox_max_attempts:
            values["status"] = FAILED
        else:
            values["available_at"] = now + timedelta(seconds=self.backoff(attempts))
        return values


def _external(channel: Channel | None) -> bool:
    """Does sending reach outside the database? (In-app: no — recording it delivers it.)"""
    return bool(getattr(channel, "external", True))


def _send(channel: Channel | None, row: Row[Any]) -> Outcome:
    try:
        if channel is None:
            raise KeyError(f"no channel {row.channel!r}")
        channel.send(outgoing(row))
    except PermanentFailure as error:
        return Outcome(row, str(error), final=True)
    except Exception as error:  # DeliveryError, or a bug: counted, retried, then failed
        detail = error if isinstance(error, DeliveryError) else repr(error)
        return Outcome(row, str(detail))
    return Outcome(row)


def outgoing(row: Row[Any]) -> Outgoing:
    from workflow.messaging.channels.render import render  # Jinja: only when delivering
    subject, body = render(row.kind, row.lang, row.payload)
    return Outgoing(row.message_id, row.kind, row.channel, row.recipient, row.lang, row.code,
                    subject, body, row.payload, row.webhook_secret)
