"""The transactional outbox relay: pending rows go to delivery tasks, outcomes go back to rows.

The outbox, not the broker, is the source of truth. A message is *claimed* for a while (its
``available_at`` becomes the end of a dispatch lease) and handed to the broker; it stays pending
until its delivery task records it sent. If the task is lost — broker down, worker killed — the
lease runs out and the periodic relay hands the message over again. Deliveries are therefore
at least once; the message id travels with every delivery as the receiver's idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import Connection, Engine, Row, select, update

from workflow.channels import Channel, DeliveryError, Outgoing, PermanentFailure, channels_for
from workflow.channels.render import render
from workflow.clock import Clock, parse_iso
from workflow.config import Settings
from workflow.db import write_transaction
from workflow.errors import NotFound, WrongState
from workflow.outbox import FAILED, PENDING, SENT
from workflow.schema import cases, outbox, producers

if TYPE_CHECKING:
    from workflow.bootstrap import App
    from workflow.engine import Applied

log = structlog.get_logger("ocop.relay")

# (message ids, their dispatch lease) -> the ids it could not hand over
Publish = Callable[[Sequence[str], str], Sequence[str]]
MESSAGE = (select(outbox, cases.c.code, producers.c.webhook_secret)
           .join(cases, cases.c.id == outbox.c.case_id)
           .join(producers, producers.c.id == cases.c.producer_id))
MAX_BACKOFF = 6 * 3600.0


class CeleryPublisher:
    """Hands message ids to the ``ocop.deliver`` task; never raises (the relay retries)."""

    def __init__(self, celery: Callable[[], Any]) -> None:
        self._celery = celery

    def __call__(self, ids: Sequence[str], lease: str) -> Sequence[str]:
        if not ids:
            return ()
        try:
            celery = self._celery()
            with celery.producer_or_acquire() as producer:
                for done, message_id in enumerate(ids):
                    try:
                        celery.send_task("ocop.deliver", args=[message_id, lease],
                                         producer=producer, retry=False, ignore_result=True)
                    except Exception as error:
                        log.warning("relay_publish_failed", error=str(error),
                                    waiting=len(ids) - done)
                        return ids[done:]
        except Exception as error:
            log.warning("relay_publish_failed", error=str(error), waiting=len(ids))
            return ids
        return ()


def celery_publisher(settings: Settings) -> CeleryPublisher:
    """A publisher on its own Celery app, built on first use (``worker.py`` owns the config)."""
    made: list[Any] = []

    def celery() -> Any:
        if not made:
            from worker import create_celery
            made.append(create_celery(settings, main=False))
        return made[0]

    return CeleryPublisher(celery)


class Relay:
    def __init__(self, db: Engine, clock: Clock, settings: Settings,
                 publish: Publish | None = None,
                 channels: Mapping[str, Channel] | None = None) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.publish = publish
        self._channels = channels

    @property
    def channels(self) -> Mapping[str, Channel]:
        if self._channels is None:
            self._channels = channels_for(self.settings)
        return self._channels

    # -- handing messages to the broker ------------------------------------------------------

    def nudge(self, applied: Applied) -> None:
        """After-commit hook: hand the transition's messages over at once."""
        self.dispatch(applied.message_ids)

    def dispatch(self, message_ids: Sequence[str]) -> int:
        """Claim these pending messages for a lease and publish them; returns how many went."""
        if not message_ids or self.publish is None:
            return 0
        lease = self._lease_end()
        with write_transaction(self.db) as conn:
            ids = self._claim_batch(conn, list(message_ids), lease)
        return self._publish(ids, lease)

    def dispatch_due(self, batch: int = 500) -> int:
        """Hand over every pending message whose lease ran out (or that was never handed over)."""
        if self.publish is None:
            return 0
        total = 0
        while True:
            lease = self._lease_end()
            with write_transaction(self.db) as conn:
                found = [r.message_id for r in conn.execute(
                    select(outbox.c.message_id)
                    .where(outbox.c.status == PENDING, outbox.c.available_at <= self.clock.now())
                    .order_by(outbox.c.available_at).limit(batch)
                    .with_for_update(skip_locked=True))]
                ids = self._claim_batch(conn, found, lease)
            sent = self._publish(ids, lease) if ids else 0
            total += sent
            if not found or sent < len(ids) or len(found) < batch:
                return total

    def _claim_batch(self, conn: Connection, ids: list[str], lease: datetime) -> list[str]:
        """Lease these messages to the broker; returns the ids still pending, to publish."""
        if not ids:
            return []
        return list(conn.execute(
            update(outbox).where(outbox.c.message_id.in_(ids), outbox.c.status == PENDING)
            .values(available_at=lease).returning(outbox.c.message_id)).scalars())

    def _publish(self, ids: list[str], lease: datetime) -> int:
        assert self.publish is not None
        failed = list(self.publish(ids, lease.isoformat()))
        if failed:  # the broker is away: make them due again for the next relay run
            with write_transaction(self.db) as conn:
                conn.execute(update(outbox).where(outbox.c.message_id.in_(failed),
                                                  outbox.c.status == PENDING)
                             .values(available_at=self.clock.now()))
        return len(ids) - len(failed)

    def _lease_end(self) -> datetime:
        return self.clock.now() + timedelta(seconds=self.settings.outbox_lease_seconds)

    # -- delivering one message (inside the delivery task) ----------------------------------

    def deliver(self, message_id: str, lease: str | None = None) -> str:
        """Send one message and record the outcome; a message already sent is not sent again.

        ``lease`` is the dispatch this task belongs to: once the relay has dispatched the
        message again (the lease ran out), this older copy of the task stands down."""
        with self.db.connect() as conn:
            row = conn.execute(MESSAGE.where(outbox.c.message_id == message_id)).first()
        if row is None:
            return "unknown"
        if row.status != PENDING:
            return f"already {row.status}"
        if not self._claim(row, lease):
            return "superseded by another dispatch"
        try:
            self.channels[row.channel].send(outgoing(row))
        except PermanentFailure as error:
            return self._failed(row, str(error), final=True)
        except Exception as error:  # DeliveryError, or a bug: counted, retried, then failed
            detail = error if isinstance(error, DeliveryError) else repr(error)
            return self._failed(row, str(detail), final=False)
        return self._sent(row)

    def _claim(self, row: Row[Any], lease: str | None) -> bool:
        """Take the message for a fresh lease if this task belongs to its current dispatch
        (compare-and-set on ``available_at``): of two copies of a task — a broker redelivery
        and a relay re-dispatch — only one sends."""
        expected = parse_iso(lease) if lease else row.available_at
        with write_transaction(self.db) as conn:
            taken = conn.execute(update(outbox).where(
                outbox.c.id == row.id, outbox.c.status == PENDING,
                outbox.c.available_at == expected).values(available_at=self._lease_end()))
        return bool(taken.rowcount == 1)

    def _sent(self, row: Row[Any]) -> str:
        with write_transaction(self.db) as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id, outbox.c.status == PENDING)
                         .values(status=SENT, sent_at=self.clock.now(),
                                 attempts=outbox.c.attempts + 1, last_error=None))
        log.info("delivered", message_id=row.message_id, case_code=row.code,
                 channel=row.channel, kind=row.kind)
        return SENT

    def _failed(self, row: Row[Any], error: str, final: bool) -> str:
        attempts = row.attempts + 1
        give_up = final or attempts >= self.settings.outbox_max_attempts
        values: dict[str, Any] = {"attempts": attempts, "last_error": error[:2000]}
        if give_up:
            values["status"] = FAILED
        else:
            values["available_at"] = self.clock.now() + timedelta(seconds=self.backoff(attempts))
        with write_transaction(self.db) as conn:
            conn.execute(update(outbox).where(outbox.c.id == row.id, outbox.c.status == PENDING)
                         .values(**values))
        log.warning("delivery_failed", message_id=row.message_id, case_code=row.code,
                    channel=row.channel, attempts=attempts, error=error, gave_up=give_up)
        return FAILED if give_up else "retry"

    def backoff(self, attempts: int) -> float:
        """Seconds before attempt ``attempts + 1``: doubling from the base, at most six hours."""
        return min(self.settings.outbox_backoff_seconds * 2.0 ** (attempts - 1), MAX_BACKOFF)

    # -- operators ---------------------------------------------------------------------------

    def retry(self, outbox_id: int) -> str:
        """Put a failed message back in the queue with its attempts reset; returns its id."""
        with write_transaction(self.db) as conn:
            row = conn.execute(select(outbox.c.message_id, outbox.c.status)
                               .where(outbox.c.id == outbox_id)).first()
            if row is None:
                raise NotFound(f"No outbox message has the id {outbox_id}.")
            if row.status != FAILED:
                raise WrongState(f"Outbox message {outbox_id} is {row.status}; only a failed "
                                 "message can be retried.")
            conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
                status=PENDING, attempts=0, available_at=self.clock.now()))
        self.dispatch([row.message_id])
        return str(row.message_id)


def outgoing(row: Row[Any]) -> Outgoing:
    subject, body = render(row.kind, row.lang, row.payload)
    return Outgoing(row.message_id, row.kind, row.channel, row.recipient, row.lang, row.code,
                    subject, body, row.payload, row.webhook_secret)


def wire_relay(app: App) -> Relay:
    """The relay of a bootstrapped app: nudged after every commit when a broker is set."""
    publish = celery_publisher(app.settings) if app.settings.broker_url else None
    relay = Relay(app.db, app.clock, app.settings, publish)
    if publish is not None:
        app.engine.after_commit.append(relay.nudge)
    return relay
