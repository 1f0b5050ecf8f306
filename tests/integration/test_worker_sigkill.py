"""A worker killed with SIGKILL in the middle of a batch of 500 webhook deliveries: after a
restart none is missing and the receiver acts on none twice (real Redis and worker)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bench.common import seed_drafts
from tests.integration.workers import Receiver, RedisServer, running, wait_until, worker, worker_env
from tests.support import BINH_MINH, DOCS, START, make_app
from workflow.bootstrap import App, bootstrap
from workflow.domain.facts import Actor, Event
from workflow.simclock import FileClock
from workflow.store.schema import cases, outbox, producers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]
# The officer of Xã Bình Minh (10126), where the seeded producer and its cases are put.
OFFICER = Actor("commune.officer", "commune_officer", commune="Xã Bình Minh", unit=BINH_MINH)
PLACE = {"district": None, "district_code": None, "commune": "Xã Bình Minh",
         "commune_code": BINH_MINH}



def webhooks(app: App, status: str | None = None) -> set[str]:
    q = select(outbox.c.message_id).where(outbox.c.channel == "webhook")
    if status:
        q = q.where(outbox.c.status == status)
    with app.db.connect() as conn:
        return set(conn.execute(q).scalars())


def unsent(app: App) -> int:
    with app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(outbox)
                                .where(outbox.c.status != "sent")).scalar_one())


def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
        tmp_path: Path, pg_url: str, redis: RedisServer) -> None:
    """500 submissions are queued; the worker is SIGKILLed (pool included) after ~150 have
    arrived. Tasks it had taken are gone from Redis; the restarted worker drains the queue and
    the relay re-dispatches what stayed pending once the lease ran out. Every event arrives,
    and an older copy of a re-dispatched task stands down instead of sending again."""
    clock_file = tmp_path / "now"
    clock = FileClock(clock_file)
    clock.set(START)
    with Receiver() as receiver:
        app = make_app(pg_url, clock, broker_url=redis.url)  # type: ignore[arg-type]
        codes = seed_drafts(app.db, clock, 500)  # type: ignore[arg-type]
        with app.db.begin() as conn:  # the bench seeds names only: give them the unit key
            conn.execute(update(producers).values(webhook_url=receiver.url("bench"), **PLACE))
            conn.execute(update(cases).values(**PLACE))
            receiver.secrets["bench"] = conn.execute(select(producers.c.webhook_secret)).scalar()
        # The events go through an engine with no broker (no nudge after commit): the relay
        # hands the whole batch over below.
        quiet = bootstrap(replace(app.settings, broker_url=None), clock=clock, db=app.db)
        for code in codes:
            quiet.engine.apply(Event(code, "submit", OFFICER, DOCS))
        assert app.relay.dispatch_due() == 1000  # webhook + in-app
        expected = webhooks(app)
        assert len(expected) == 500
        w1 = worker("w1", worker_env(tmp_path, pg_url, redis.url, clock_file), tmp_path)
        with running(w1):
            w1.start()
            wait_until(lambda: len(receiver.unique) >= 150, 60, "150 deliveries", every=0.02)
            w1.kill()
            killed_at = len(receiver.unique)
            assert killed_at < 500, "the batch finished before the kill"
            w1.start()
            clock.advance(seconds=app.settings.outbox_lease_seconds + 1)
            app.relay.dispatch_due()
            wait_until(lambda: unsent(app) == 0, 90, "every message to be sent", every=0.2)
        assert receiver.unique == expected == webhooks(app, "sent")
        assert receiver.bad_signatures == 0
        # Only a delivery cut between its POST and its "sent" record goes out twice: at most
        # one per pool process (two). The receiver's dedup by event id absorbs those.
        assert receiver.redeliveries <= 2, receiver.redeliveries
        app.close()
