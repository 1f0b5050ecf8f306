"""The after-commit publish is bounded: a slow broker (here a fake publisher that blocks)
costs a transition at most ``NUDGE_WAIT``, and what it did not publish stays pending for the
relay."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from tests.support import DOCS, World
from workflow.relay import NUDGE_WAIT, Handoff, Relay
from workflow.store.schema import outbox

LEASE = datetime(2025, 9, 1, 2, 0, tzinfo=UTC)


class SlowPublisher:
    """Blocks every publish until released, then refuses (the broker timed out) or accepts."""

    def __init__(self, refuse: bool = True) -> None:
        self.release = threading.Event()
        self.refuse = refuse
        self.calls: list[list[str]] = []
        self.lock = threading.Lock()

    def __call__(self, groups: Sequence[Sequence[str]], lease: str) -> Sequence[str]:
        ids = [i for g in groups for i in g]
        with self.lock:
            self.calls.append(ids)
        self.release.wait(10)
        return ids if self.refuse else ()


def test_a_publish_that_hangs_costs_the_caller_the_bounded_wait_only() -> None:
    """The first caller waits NUDGE_WAIT and no more; callers behind a publish already late do
    not wait at all; once the broker fails, the jobs queued behind it are given back without
    being tried."""
    given_back: list[list[str]] = []
    ran: list[list[list[str]]] = []
    release = threading.Event()

    def run(groups: list[list[str]], lease: datetime) -> int:
        ran.append(groups)
        release.wait(10)
        return 0  # the broker timed out: nothing sent

    handoff = Handoff(run, lambda ids, lease: given_back.append(ids))
    started = time.perf_counter()
    assert handoff.submit([["a"]], LEASE) is False
    first = time.perf_counter() - started
    assert NUDGE_WAIT * 0.9 <= first < NUDGE_WAIT + 0.1, first  # not the 10 s hang
    started = time.perf_counter()
    for name in "bcd":
        assert handoff.submit([[name]], LEASE) is False
    assert time.perf_counter() - started < 0.02  # no wait behind a late publish
    release.set()
    assert handoff.drain(5)
    assert ran == [[["a"]]]
    assert given_back == [["b"], ["c"], ["d"]]


def test_a_quick_publish_is_done_before_the_caller_goes_on() -> None:
    ran: list[list[list[str]]] = []

    def run(groups: list[list[str]], lease: datetime) -> int:
        ran.append(groups)
        return 1

    handoff = Handoff(run, lambda ids, lease: None)
    assert handoff.submit([["a"]], LEASE) is True
    assert ran == [[["a"]]]
    assert handoff.submit([["b"]], LEASE) is True  # the same thread, or a fresh one
    assert ran == [[["a"]], [["b"]]]


def test_a_full_queue_refuses_at_once_and_the_lease_is_left_to_run_out() -> None:
    release = threading.Event()
    handoff = Handoff(lambda groups, lease: int(release.wait(10)), lambda ids, lease: None,
                      wait=0.01, limit=1)
    handoff.submit([["a"]], LEASE)  # running
    time.sleep(0.02)
    handoff.submit([["b"]], LEASE)  # queued
    started = time.perf_counter()
    assert handoff.submit([["c"]], LEASE) is False
    assert time.perf_counter() - started < 0.01
    release.set()
    assert handoff.drain(5)


def pending_due(world: World, ids: Sequence[str]) -> dict[str, Any]:
    with world.app.db.connect() as conn:
        return {r.message_id: (r.status, r.available_at) for r in conn.execute(
            select(outbox.c.message_id, outbox.c.status, outbox.c.available_at)
            .where(outbox.c.message_id.in_(ids)))}


def test_a_nudge_to_a_hung_broker_returns_in_time_and_its_messages_stay_pending(
        world: World) -> None:
    """Through the relay: the transition's nudge comes back within the bound; the rows stay
    pending under the nudge's lease while the publish hangs, and when it fails the lease is
    given back so the next relay run sends them."""
    app = world.app
    slow = SlowPublisher()
    relay = Relay(app.db, app.clock, app.settings, slow)
    code = world.register()
    applied = world.fire(code, "submit", "producer1", DOCS)
    ids = list(applied.message_ids)
    assert ids
    lease = app.clock.now() + (relay.lease_for_engine() or timedelta())
    with app.db.begin() as conn:  # as the engine writes them for a nudging relay
        conn.execute(update(outbox).where(outbox.c.message_id.in_(ids))
                     .values(available_at=lease))
    started = time.perf_counter()
    relay.nudge(replace(applied, lease=lease))
    assert time.perf_counter() - started < NUDGE_WAIT + 0.1
    assert slow.calls == [ids]
    rows = pending_due(world, ids)
    assert {status for status, _ in rows.values()} == {"pending"}
    assert {at for _, at in rows.values()} == {lease}  # the relay leaves them alone meanwhile
    slow.release.set()
    assert relay.close_handoff(5)
    rows = pending_due(world, ids)
    assert {status for status, _ in rows.values()} == {"pending"}
    assert all(at <= app.clock.now() for _, at in rows.values())  # due for the relay now


def test_a_late_failure_does_not_take_back_a_lease_given_since(world: World) -> None:
    """A publish that fails after the rows were dispatched again (their lease ran out) leaves
    the newer dispatch's lease alone."""
    app = world.app
    slow = SlowPublisher()
    relay = Relay(app.db, app.clock, app.settings, slow)
    applied = world.fire(world.register(), "submit", "producer1", DOCS)
    ids = list(applied.message_ids)
    relay.nudge(applied)  # not leased by the engine: the nudge leases them, then hangs
    newer = app.clock.now() + timedelta(hours=1)
    with app.db.begin() as conn:  # what a later dispatch or a delivery task writes
        conn.execute(update(outbox).where(outbox.c.message_id.in_(ids))
                     .values(available_at=newer))
    slow.release.set()
    assert relay.close_handoff(5)
    assert {at for _, at in pending_due(world, ids).values()} == {newer}
