"""The transactional outbox relay: pending rows go to delivery tasks, outcomes go back to rows.

The outbox, not the broker, is the source of truth. A message is *claimed* for a while (its
``available_at`` becomes the end of a dispatch lease) and handed to the broker; it stays pending
until its delivery task records it sent. If the task is lost — broker down, worker killed — the
lease runs out and the periodic relay hands the message over again. Deliveries are therefore
at least once; the message id travels with every delivery as the receiver's idempotency key.

The after-commit nudge never makes a request wait on the broker: it hands its publish to a
``Handoff`` (one background thread per relay) and waits for it at most ``NUDGE_WAIT`` (50 ms).
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import Connection, Engine, select, update

from workflow.clock import Clock
from workflow.config import Settings
from workflow.domain.outbox import FAILED, PENDING
from workflow.engine import Applied
from workflow.errors import NotFound, WrongState
from workflow.messaging.channels import Channel, channels_for
from workflow.messaging.delivery import Delivery
from workflow.store.db import write_transaction
from workflow.store.schema import outbox

if TYPE_CHECKING:  # Celery is imported only by a process that publishes
    from celery import Celery

log = structlog.get_logger("ocop.relay")

# (groups of message ids — one delivery task each —, their dispatch lease) -> the ids it
# could not hand over
Publish = Callable[[Sequence[Sequence[str]], str], Sequence[str]]


class CeleryPublisher:
    """Hands message ids to the ``ocop.deliver`` task; never raises (the relay retries)."""

    def __init__(self, celery: Callable[[], Celery]) -> None:
        self._celery = celery

    def __call__(self, groups: Sequence[Sequence[str]], lease: str) -> Sequence[str]:
        ids = [i for group in groups for i in group]
        if not ids:
            return ()
        from workflow.messaging.broker import DELIVER, DELIVER_ALL
        try:
            celery = self._celery()
            with celery.producer_or_acquire() as producer:
                for done, group in enumerate(groups):
                    # One task per group: a transition's messages travel together (one task,
                    # two transactions); a lone message keeps the original task and signature.
                    name, first = (DELIVER, group[0]) if len(group) == 1 else \
                        (DELIVER_ALL, list(group))
                    try:
                        celery.send_task(name, args=[first, lease], producer=producer,
                                         retry=False, ignore_result=True)
                    except Exception as error:
                        waiting = [i for g in groups[done:] for i in g]
                        log.warning("relay_publish_failed", error=str(error),
                                    waiting=len(waiting))
                        return waiting
        except Exception as error:
            log.warning("relay_publish_failed", error=str(error), waiting=len(ids))
            return ids
        return ()


def celery_publisher(settings: Settings) -> CeleryPublisher:
    """A publisher on its own publish-only Celery app, built on first use."""
    made: list[Celery] = []

    def celery() -> Celery:
        if not made:
            from workflow.messaging.broker import publisher_celery
            made.append(publisher_celery(settings))
        return made[0]

    return CeleryPublisher(celery)


NUDGE_WAIT = 0.05  # seconds a transition may wait for its after-commit publish
CLOSE_WAIT = 1.0  # seconds ``Relay.close_handoff`` waits for the publishes still queued


@dataclass
class _Job:
    groups: list[list[str]]
    lease: datetime
    done: threading.Event = field(default_factory=threading.Event)


class Handoff:
    """Publishes on a background thread so that the caller waits ``wait`` seconds at most.

    Why a thread and not short broker timeouts: kombu and redis-py have a timeout per socket
    operation, not per publish — a publish is a connect, a few commands and maybe a retry, a
    DNS lookup or a pool checkout, and a broker that accepts and never answers holds each of
    them until its own timeout (``socket_timeout``, 5 s here). Timeouts short enough to bound
    the sum at 50 ms would fail a healthy Redis under load. A wall-clock bound on a wait for
    another thread holds whatever the broker does, and the publish itself keeps its generous
    timeouts.

    Nothing is lost by not waiting: the rows a job publishes are pending in the outbox, leased
    until ``lease``. ``run`` (the relay's publish) gives the lease back when the broker refuses
    or times out, so the next beat relay run sends them; a job that never runs (the queue is
    full, the process exits or forks first) leaves them leased, and the beat relay sends them
    once the lease runs out. Once a publish has failed, the jobs queued behind it are given
    back without trying, so a hung broker costs one timeout per backlog, not one per
    transition. The thread starts on demand, ends after ``idle`` seconds without work, and is
    started afresh in a forked child (the parent's thread does not exist there)."""

    def __init__(self, run: Callable[[list[list[str]], datetime], int],
                 give_back: Callable[[list[str], datetime], None],
                 wait: float = NUDGE_WAIT, limit: int = 10_000, idle: float = 5.0) -> None:
        self._run, self._give_back = run, give_back
        self.wait, self.limit, self.idle = wait, limit, idle
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._jobs: queue.Queue[_Job] = queue.Queue(self.limit)
        self._thread: threading.Thread | None = None
        self._busy_since: float | None = None  # monotonic start of the publish under way

    def submit(self, groups: list[list[str]], lease: datetime) -> bool:
        """Queue a publish and wait for it ``wait`` seconds at most (not at all behind a
        publish already late); returns whether it finished in that time."""
        if self._pid != os.getpid():
            self._reset()
        job = _Job(groups, lease)
        with self._lock:
            busy = self._busy_since
            try:
                self._jobs.put_nowait(job)
            except queue.Full:
                log.warning("relay_handoff_full", waiting=sum(map(len, groups)))
                return False
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="ocop-relay-handoff",
                                                daemon=True)
                self._thread.start()
        if busy is not None and time.monotonic() - busy >= self.wait:
            return False  # the broker is already slow: do not add a wait to this request
        return job.done.wait(self.wait)

    def drain(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for every queued publish to finish."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if self._jobs.unfinished_tasks == 0:
                    return True
            time.sleep(0.005)
        return False

    def _work(self) -> None:
        while True:
            try:
                job = self._jobs.get(timeout=self.idle)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._thread = None
                        return
                continue
            try:
                self._busy_since = time.monotonic()
                sent = self._run(job.groups, job.lease)
                if sent < sum(map(len, job.groups)):
                    self._give_back_queued()
            except Exception as error:  # a database away: the leases run out, the relay resends
                log.warning("relay_handoff_failed", error=str(error))
            finally:
                self._busy_since = None
                job.done.set()
                self._jobs.task_done()

    def _give_back_queued(self) -> None:
        """The broker just failed: hand the jobs waiting behind it back to the relay."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            try:
                self._give_back([i for g in job.groups for i in g], job.lease)
            except Exception as error:
                log.warning("relay_handoff_failed", error=str(error))
            finally:
                job.done.set()
                self._jobs.task_done()


class Relay:
    def __init__(self, db: Engine, clock: Clock, settings: Settings,
                 publish: Publish | None = None,
                 channels: Mapping[str, Channel] | None = None,
                 nudge_wait: float = NUDGE_WAIT) -> None:
        self.db, self.clock, self.settings = db, clock, settings
        self.publish = publish
        self._channels = channels
        self.delivery = Delivery(db, clock, settings, lambda: self.channels)
        self.handoff = Handoff(self._publish, self._give_back, wait=nudge_wait)

    @property
    def channels(self) -> Mapping[str, Channel]:
        if self._channels is None:
            self._channels = channels_for(self.settings)
        return self._channels

    # -- handing messages to the broker ------------------------------------------------------

    def nudge(self, applied: Applied) -> None:
        """After-commit hook: hand the transition's messages over at once, waiting for the
        broker ``NUDGE_WAIT`` at most (see ``Handoff``: past that, the publish finishes in the
        background or the relay sends them).

        When the engine wrote them already leased (``Applied.lease``: the rows' ``available_at``
        is the lease's end, see ``lease_for_engine``), they are published as they are, with no
        write transaction here; otherwise they are leased first. Both are safe if this process
        dies before publishing: the rows are pending and come back when the lease runs out."""
        lease = applied.lease
        if not applied.message_ids or self.publish is None:
            return
        if lease is None:  # lease them first: a database write, no broker
            lease = self.delivery.lease_end()
            with write_transaction(self.db) as conn:
                ids = self._claim_batch(conn, list(applied.message_ids), lease)
            if not ids:
                return
        else:
            ids = list(applied.message_ids)
        self.handoff.submit([ids], lease)

    def close_handoff(self, timeout: float = CLOSE_WAIT) -> bool:
        """Let the publishes still queued finish (``timeout`` seconds at most) before the
        process ends — a CLI command, say; those left over go when their lease runs out."""
        return self.handoff.drain(timeout)

    def lease_for_engine(self) -> timedelta | None:
        """How long the engine should lease a transition's rows to the after-commit nudge: the
        dispatch lease when this relay publishes, else nothing (rows due at once)."""
        if self.publish is None:
            return None
        return timedelta(seconds=self.settings.outbox_lease_seconds)

    def dispatch(self, message_ids: Sequence[str]) -> int:
        """Claim these pending messages for a lease and publish them, one delivery task each
        (they may be many, of many cases: a sweep's); returns how many went."""
        if not message_ids or self.publish is None:
            return 0
        lease = self.delivery.lease_end()
        with write_transaction(self.db) as conn:
            ids = self._claim_batch(conn, list(message_ids), lease)
        if not ids:
            return 0
        return self._publish([[i] for i in ids], lease)

    def dispatch_due(self, batch: int = 500) -> int:
        """Hand over every pending message whose lease ran out (or that was never handed over)."""
        if self.publish is None:
            return 0
        total = 0
        while True:
            lease = self.delivery.lease_end()
            with write_transaction(self.db) as conn:
                found = [r.message_id for r in conn.execute(
                    select(outbox.c.message_id)
                    .where(outbox.c.status == PENDING, outbox.c.available_at <= self.clock.now())
                    .order_by(outbox.c.available_at).limit(batch)
                    .with_for_update(skip_locked=True))]
                ids = self._claim_batch(conn, found, lease)
            # One task per message: whatever comes back here was lost or failed alone.
            sent = self._publish([[i] for i in ids], lease) if ids else 0
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

    def _publish(self, groups: list[list[str]], lease: datetime) -> int:
        assert self.publish is not None
        failed = list(self.publish(groups, lease.isoformat()))
        if failed:  # the broker is away: make them due again for the next relay run
            self._give_back(failed, lease)
        return sum(map(len, groups)) - len(failed)

    def _give_back(self, message_ids: list[str], lease: datetime) -> None:
        """End this dispatch's lease now, on the rows it still holds (not those a delivery
        task or a later dispatch has leased since)."""
        with write_transaction(self.db) as conn:
            conn.execute(update(outbox).where(outbox.c.message_id.in_(message_ids),
                                              outbox.c.status == PENDING,
                                              outbox.c.available_at == lease)
                         .values(available_at=self.clock.now()))

    # -- delivering (inside the delivery tasks: see workflow/messaging/delivery.py) ---

    def deliver(self, message_id: str, lease: str | None = None) -> str:
        """Send one message and record the outcome; a message already sent is not sent again.

        ``lease`` is the dispatch this task belongs to: once the relay has dispatched the
        message again (the lease ran out), this older copy of the task stands down."""
        taken = self.delivery.deliver([message_id], lease)
        return taken.get(message_id) or self.delivery.why_not(message_id)

    def deliver_all(self, message_ids: Sequence[str], lease: str | None = None) -> dict[str, str]:
        """Send the messages of one dispatch (a transition's) in one task: message id ->
        outcome for those it took."""
        return self.delivery.deliver(message_ids, lease)

    def close(self, polite: bool = True) -> None:
        """Close the channels' open connections: at worker shutdown (``polite``: SMTP QUIT),
        or in a forked child that must not use its parent's sockets (``polite=False``)."""
        for channel in (self._channels or {}).values():
            close = getattr(channel, "close", None)
            if close is not None:
                close(polite)
        if not polite:
            self._channels = None

    # -- operators ---------------------------------------------------------------------------

    def retry(self, outbox_id: int) -> str:
        """Put a failed message back in the queue with its attempts reset; returns its id."""
        with write_transaction(self.db) as conn:
            row = conn.execute(select(outbox.c.message_id, outbox.c.status)
                               .where(outbox.c.id == outbox_id)).first()
            if row is None:
                raise NotFound("outbox_not_found", id=outbox_id)
            if row.status != FAILED:
                raise WrongState("outbox_not_failed", id=outbox_id, status=row.status)
            conn.execute(update(outbox).where(outbox.c.id == outbox_id).values(
                status=PENDING, attempts=0, available_at=self.clock.now()))
        self.dispatch([row.message_id])
        return str(row.message_id)

