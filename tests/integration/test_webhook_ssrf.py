"""Webhook SSRF end to end (PostgreSQL, the real delivery, a real HTTP receiver on 127.0.0.1):
with ``OCOP_WEBHOOK_ALLOW_PRIVATE`` off a producer whose webhook row points at the receiver —
as an IP literal or as ``localhost`` resolved by the system resolver — gets nothing, and each
message fails once, for good, saying why; with the flag on the same receiver gets them all."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select, update

from tests.integration.workers import Receiver
from tests.support import DOCS, World, make_app
from workflow.bootstrap import App, bootstrap
from workflow.store.schema import outbox, producers

pytestmark = [pytest.mark.postgres]


def webhook_rows(app: App) -> list[tuple[str, str, int, str | None]]:
    with app.db.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(outbox.c.message_id, outbox.c.status, outbox.c.attempts, outbox.c.last_error)
            .where(outbox.c.channel == "webhook").order_by(outbox.c.id))]


def point_at(app: App, world: World, receiver: Receiver, url: str) -> None:
    """As a row written before the check, or by a database writer: no registration check."""
    with app.db.begin() as conn:
        conn.execute(update(producers).where(producers.c.id == world.p1)
                     .values(webhook_url=url))
        receiver.secrets["p1"] = conn.execute(select(producers.c.webhook_secret).where(
            producers.c.id == world.p1)).scalar_one()


def test_a_loopback_receiver_gets_nothing_unless_private_targets_are_allowed(
        pg_url: str, tmp_path: Path) -> None:
    with Receiver() as receiver:
        app = make_app(pg_url, mail_folder=str(tmp_path))
        world = World(app)
        port = receiver.server.server_port
        for host in ("127.0.0.1", "localhost"):
            point_at(app, world, receiver, f"http://{host}:{port}/p1")
            code = world.register()
            world.fire(code, "submit", "producer1", DOCS)
        rows = webhook_rows(app)
        assert len(rows) == 4
        results = app.relay.delivery.deliver([r[0] for r in rows], None)
        assert set(results.values()) == {"failed"}
        assert receiver.deliveries == {}  # nothing reached it, not even a connection's worth
        for _, status, attempts, error in webhook_rows(app):
            assert (status, attempts) == ("failed", 1)  # permanent: not retried
            assert error is not None and "a loopback address" in error
            assert "OCOP_WEBHOOK_ALLOW_PRIVATE" in error

        # The flag on (the same database and clock): fresh messages reach the same receiver.
        allowing = bootstrap(replace(app.settings, webhook_allow_private=True),
                             clock=app.clock, db=app.db)
        point_at(app, world, receiver, receiver.url("p1"))
        world.register()
        fresh = [r[0] for r in webhook_rows(app) if r[1] == "pending"]
        assert len(fresh) == 1
        assert allowing.relay.delivery.deliver(fresh, None) == {fresh[0]: "sent"}
        assert receiver.unique == set(fresh) and receiver.bad_signatures == 0
        app.close()
