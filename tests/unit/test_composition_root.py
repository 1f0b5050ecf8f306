"""``bootstrap`` is the one place that wires the app: the engine is built with its after-commit
hooks (the relay's nudge when there is a broker, the process's tally, the caller's observers)
and nobody changes them afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from tests.support import DOCS, START, World
from workflow.bootstrap import App, bootstrap
from workflow.clock import FixedClock
from workflow.config import Settings
from workflow.engine import Applied, Hook
from workflow.relay import Publish
from workflow.store import units
from workflow.store.db import make_engine, write_transaction
from workflow.store.migrate import upgrade


def wired(publish: Publish | None = None, observers: Sequence[Hook] = ()) -> App:
    db = make_engine("sqlite://")
    upgrade(db)
    with write_transaction(db) as conn:
        units.load(conn, ["01"])  # the world's producers are placed in Hà Nội's units
    return bootstrap(Settings(database_url="sqlite://", required_documents=()),
                     clock=FixedClock(START), db=db, publish=publish, observers=observers)


def test_observers_see_every_committed_transition_and_the_hooks_are_fixed() -> None:
    """An observer passed to bootstrap runs after each commit, after the tally; the engine's
    hooks are a tuple, so no one can append to, clear or replace them in place."""
    seen: list[Applied] = []
    app = wired(observers=[seen.append])
    world = World(app)
    code = world.register()
    applied = world.fire(code, "submit", "producer1", DOCS)
    assert seen == [applied]
    assert app.engine.after_commit == (app.tally, seen.append)
    assert isinstance(app.engine.after_commit, tuple)
    assert app.tally.counts() == {("submit", "draft", "registered"): 1}
    app.close()


def test_with_a_publisher_the_relay_nudges_first_and_the_rows_are_leased_to_it() -> None:
    """Given a publisher (a broker), the relay's nudge is the first hook and the engine writes
    a transition's messages leased to it; the nudge hands them over together at once."""
    published: list[tuple[list[list[str]], str]] = []

    def publish(groups: Sequence[Sequence[str]], lease: str) -> Sequence[str]:
        published.append(([list(g) for g in groups], lease))
        return ()

    app = wired(publish=publish)
    world = World(app)
    assert app.engine.after_commit[0] == app.relay.nudge
    assert app.engine.outbox_lease == timedelta(seconds=app.settings.outbox_lease_seconds)
    applied = world.fire(world.register(), "submit", "producer1", DOCS)
    assert applied.message_ids and published == [
        ([list(applied.message_ids)], applied.lease.isoformat() if applied.lease else "")]
    app.close()


def test_without_a_broker_nothing_nudges_and_the_messages_are_due_at_once() -> None:
    """No broker URL and no publisher: the only hook is the tally, the relay publishes nothing
    and a transition's messages are due now (a worker's relay takes them)."""
    app = wired()
    world = World(app)
    assert app.engine.after_commit == (app.tally,)
    assert app.relay.publish is None and app.engine.outbox_lease is None
    applied = world.fire(world.register(), "submit", "producer1", DOCS)
    assert applied.message_ids and applied.lease is None
    app.close()


def test_a_replayed_event_is_not_counted_twice() -> None:
    """The tally counts transitions, not requests: an idempotent replay adds nothing."""
    app = wired()
    world = World(app)
    code = world.register()
    for _ in range(2):
        world.fire(code, "submit", "producer1", DOCS, idempotency_key="k-1")
    assert app.tally.counts() == {("submit", "draft", "registered"): 1}
    app.close()
