"""A broker that accepts the connection and never answers adds no latency to transitions, and
what it swallowed reaches the producer once the relay publishes to a real Redis (real
PostgreSQL, Redis, worker, beat, SMTP and webhook receiver)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.integration.workers import (
    Receiver,
    RedisServer,
    beat,
    running,
    smtp_server,
    supervised,
    wait_until,
    worker,
    worker_env,
)
from tests.support import DOCS, START, World, make_app
from workflow.bootstrap import App, bootstrap
from workflow.domain.facts import Event
from workflow.relay import NUDGE_WAIT
from workflow.simclock import FileClock
from workflow.store.db import make_engine
from workflow.store.schema import outbox, producers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


class HungBroker:
    """A TCP server that accepts every connection, reads nothing and answers nothing."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.server.getsockname()[1])
        self.server.settimeout(0.1)
        self.held: list[socket.socket] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            self.held.append(conn)

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(5)
        self.server.close()
        for conn in self.held:
            conn.close()


@contextmanager
def hung_broker() -> Iterator[HungBroker]:
    broker = HungBroker()
    broker.thread.start()
    try:
        yield broker
    finally:
        broker.close()


def unsent(app: App) -> int:
    with app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.status != "sent")).scalar_one())


def ids_of(app: App, channel: str | None) -> set[str]:
    query = select(outbox.c.message_id)
    if channel is not None:
        query = query.where(outbox.c.channel == channel)
    with app.db.connect() as conn:
        return set(conn.execute(query).scalars())


def test_a_hung_broker_adds_no_latency_and_the_relay_delivers_every_message_once(
        tmp_path: Path, pg_url: str, redis: RedisServer) -> None:
    clock_file = tmp_path / "now"
    clock = FileClock(clock_file)
    clock.set(START)
    with hung_broker() as hung, smtp_server() as (smtp_url, mails), Receiver() as receiver:
        app = make_app(pg_url, clock, broker_url=hung.url, smtp_url=smtp_url)  # type: ignore[arg-type]
        world = World(app)
        with app.db.begin() as conn:
            conn.execute(update(producers).where(producers.c.id == world.p1)
                         .values(webhook_url=receiver.url("p1")))
            receiver.secrets["p1"] = conn.execute(select(producers.c.webhook_secret).where(
                producers.c.id == world.p1)).scalar_one()
        codes = [world.register() for _ in range(21)]
        # A process's first transition pays for its imports and caches, broker or none: warm
        # the engine up on an app without a broker (the same database) before measuring.
        cold = bootstrap(replace(app.settings, broker_url=None), clock=clock,
                         db=make_engine(pg_url))
        cold.engine.apply(Event(codes.pop(), "submit", world.actors["producer1"], DOCS))
        cold.close()
        took: list[float] = []
        for code in codes:
            event = Event(code, "submit", world.actors["producer1"], DOCS)
            started = time.perf_counter()
            applied = app.engine.apply(event)
            took.append(time.perf_counter() - started)
            assert applied.message_ids and applied.lease is not None
        assert max(took) < 0.1, [round(t * 1000) for t in took]
        # The publishes really went to the hung broker (and are stuck there), and only the
        # first transition waited for one, the bounded wait.
        wait_until(lambda: len(hung.held) > 0, 5, "a connection to the hung broker")
        assert sum(t >= NUDGE_WAIT * 0.9 for t in took) <= 1, took
        assert unsent(app) == len(ids_of(app, None)) > 0  # none sent, none lost

        # The relay, now publishing to a real Redis, sends them once their lease runs out.
        env = worker_env(tmp_path, pg_url, redis.url, clock_file, OCOP_SMTP_URL=smtp_url)
        workers = worker("w1", env, tmp_path)
        scheduler = beat("b1", env, tmp_path)
        with running(workers, scheduler):
            workers.start()
            scheduler.start(ready="beat: Starting")
            clock.advance(seconds=app.settings.outbox_lease_seconds + 1)
            wait_until(supervised(lambda: unsent(app) == 0, workers, scheduler), 90,
                       "every message to be sent", every=0.5)
            time.sleep(2)  # the hung publishes may still fail and give their leases back
            assert unsent(app) == 0
        assert receiver.unique == ids_of(app, "webhook")
        assert len(receiver.unique) == 42  # 21 registrations + 21 submissions
        assert receiver.redeliveries == 0 and receiver.bad_signatures == 0
        assert set(mails) == ids_of(app, "email") and set(mails.values()) == {1}
        app.close()
