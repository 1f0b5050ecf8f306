"""Redis stops while cases move: every transition still commits, and once Redis is back every
message reaches the producer's webhook and mailbox exactly once (real Redis, worker, SMTP)."""

from __future__ import annotations

import time
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
from workflow.bootstrap import App
from workflow.simclock import FileClock
from workflow.store.schema import cases, outbox, producers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]



def pending(app: App) -> int:
    with app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.status != "sent")).scalar_one())


def ids_of(app: App, channel: str) -> set[str]:
    with app.db.connect() as conn:
        return set(conn.execute(select(outbox.c.message_id)
                                .where(outbox.c.channel == channel)).scalars())


def test_200_transitions_commit_while_redis_is_down_and_arrive_once_after_it_returns(
        tmp_path: Path, pg_url: str, redis: RedisServer) -> None:
    """With Redis stopped, 200 submissions commit (the after-commit nudge fails fast and gives
    the lease back); when Redis returns, the relay hands them over — and, once their lease has
    run out, the ones Redis lost — and the receiver and the SMTP server each see every message
    exactly once."""
    clock_file = tmp_path / "now"
    clock = FileClock(clock_file)
    clock.set(START)
    with smtp_server() as (smtp_url, mails), Receiver() as receiver:
        app = make_app(pg_url, clock, broker_url=redis.url, smtp_url=smtp_url)  # type: ignore[arg-type]
        world = World(app)
        with app.db.begin() as conn:
            conn.execute(update(producers).where(producers.c.id == world.p1)
                         .values(webhook_url=receiver.url("p1")))
            receiver.secrets["p1"] = conn.execute(select(producers.c.webhook_secret).where(
                producers.c.id == world.p1)).scalar_one()
        codes = [world.register() for _ in range(200)]
        env = worker_env(tmp_path, pg_url, redis.url, clock_file, OCOP_SMTP_URL=smtp_url)
        workers = worker("w1", env, tmp_path)
        scheduler = beat("b1", env, tmp_path)
        with running(workers, scheduler):
            workers.start()
            scheduler.start(ready="beat: Starting")
            redis.stop()
            started = time.perf_counter()
            for code in codes:
                world.fire(code, "submit", "producer1", DOCS)
            elapsed = time.perf_counter() - started
            with app.db.connect() as conn:
                assert conn.execute(select(func.count()).select_from(cases)
                                    .where(cases.c.state == "registered")).scalar_one() == 200
            assert pending(app) > 0
            redis.start()
            # Messages already in Redis when it stopped died with it (no append-only file);
            # their dispatch lease runs out a minute later and the relay sends them again.
            clock.advance(seconds=app.settings.outbox_lease_seconds + 1)
            wait_until(supervised(lambda: pending(app) == 0, workers, scheduler), 90,
                       "every message to be sent", every=0.5)
        assert receiver.unique == ids_of(app, "webhook")
        assert set(mails) == ids_of(app, "email")
        assert len(receiver.unique) == 400  # 200 registrations + 200 submissions
        assert receiver.bad_signatures == 0
        # At least once: a delivery cut off between its send and its record is sent again,
        # at most one per pool process; the receiver's dedup by event id absorbs it.
        redelivered = receiver.redeliveries + sum(mails.values()) - len(mails)
        assert redelivered <= 2 * (workers.restarts + 1), f"{redelivered} redeliveries"
        assert elapsed < 30, f"200 transitions took {elapsed:.1f} s with Redis down"
        app.close()
