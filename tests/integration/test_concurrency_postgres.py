"""Concurrent callers on real PostgreSQL: the same trigger fired at one case by 16 callers at
once applies exactly once; transitions on different cases do not wait on each other."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from sqlalchemy import func, select, text

from tests.support import DOCS, World, sim_sheets
from workflow.bootstrap import App
from workflow.engine import Applied
from workflow.errors import Conflict, OcopError, WrongState
from workflow.store.audit import verify
from workflow.store.schema import audit_entries, cases, certificates, outbox

pytestmark = pytest.mark.postgres

CALLERS = 16
# Who acts at a 148 case's district stage at the test clock (September 2025): the successor.
DISTRICT_STAGE = "commune1"


def race(n: int, act: Callable[[int], Applied]) -> list[Applied | OcopError]:
    """Run ``act`` in ``n`` threads released together by a barrier."""
    barrier = threading.Barrier(n)

    def one(i: int) -> Applied | OcopError:
        barrier.wait()
        try:
            return act(i)
        except OcopError as error:
            return error

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def counts(app: App, code: str) -> dict[str, Any]:
    with app.db.connect() as conn:
        case_id = conn.execute(select(cases.c.id).where(cases.c.code == code)).scalar_one()
        entries = conn.execute(select(func.count()).select_from(audit_entries)
                               .where(audit_entries.c.case_id == case_id)).scalar_one()
        seqs = Counter(conn.execute(select(outbox.c.audit_seq)
                                    .where(outbox.c.case_id == case_id)).scalars())
        n_certs = conn.execute(select(func.count()).select_from(certificates)
                               .where(certificates.c.case_id == case_id)).scalar_one()
        ok = verify(conn, code).ok
    return {"entries": entries, "outbox_by_seq": dict(seqs), "certificates": n_certs,
            "chain_ok": ok}


def test_16_callers_fire_the_same_trigger_and_exactly_one_applies(pg_app: App) -> None:
    """16 clients of the officer at the district stage (since 2025-07-01 the district's
    successor, the commune officer) start the review of one case at the same moment: one
    succeeds, 15 are refused (wrong state after the first, or a conflict), one audit entry
    and one set of outbox rows are added."""
    world = World(pg_app)
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    before = counts(pg_app, code)
    results = race(CALLERS, lambda i: world.fire(code, "start_review", DISTRICT_STAGE))
    applied = [r for r in results if isinstance(r, Applied)]
    refused = [r for r in results if isinstance(r, OcopError)]
    assert len(applied) == 1 and len(refused) == CALLERS - 1
    assert all(isinstance(r, WrongState | Conflict) for r in refused), refused
    after = counts(pg_app, code)
    assert after["entries"] == before["entries"] + 1 and after["chain_ok"]
    new_seqs = set(after["outbox_by_seq"]) - set(before["outbox_by_seq"])
    assert new_seqs == {applied[0].seq}
    assert after["outbox_by_seq"][applied[0].seq] == 2  # in-app and e-mail for producer 1


def test_16_callers_scoring_at_once_issue_exactly_one_certificate(pg_app: App) -> None:
    """Racing district scores under 148 certify once: one certificate, one audit entry."""
    world = World(pg_app)
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", DISTRICT_STAGE)
    before = counts(pg_app, code)
    results = race(CALLERS, lambda i: world.fire(
        code, "record_district_score", DISTRICT_STAGE, sim_sheets((25, 15, 20 + i / 10))))
    assert sum(isinstance(r, Applied) for r in results) == 1
    after = counts(pg_app, code)
    assert after["entries"] == before["entries"] + 1
    assert after["certificates"] == 1 and after["chain_ok"]


def test_16_retries_with_one_idempotency_key_apply_once_and_replay_the_rest(
        pg_app: App) -> None:
    """The same request with the same key from 16 callers: one applies, 15 get its result."""
    world = World(pg_app)
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    results = race(CALLERS, lambda i: world.fire(code, "start_review", DISTRICT_STAGE,
                                                 idempotency_key="retry-1"))
    assert all(isinstance(r, Applied) for r in results), results
    applied = [r for r in results if isinstance(r, Applied)]
    assert sum(not r.replayed for r in applied) == 1
    assert {(r.to_state, r.version, r.seq) for r in applied} == {("district_review", 3, 3)}
    assert counts(pg_app, code)["entries"] == 3


def test_a_locked_case_does_not_hold_up_another_case(pg_app: App) -> None:
    """With case A's row locked by an open transaction, case B advances at once, while an
    event on case A waits for the lock and then applies: a lock per case, none global."""
    world = World(pg_app)
    a, b = world.register(rules="148"), world.register(rules="148")
    world.fire(a, "submit", "producer1", DOCS)
    world.fire(b, "submit", "producer1", DOCS)
    holder = pg_app.db.connect()
    tx = holder.begin()
    holder.execute(text("SELECT id FROM cases WHERE code = :c FOR UPDATE"), {"c": a})
    waiting = threading.Event()
    done: list[Applied] = []

    def advance_a() -> None:
        waiting.set()
        done.append(world.fire(a, "start_review", DISTRICT_STAGE))

    thread = threading.Thread(target=advance_a)
    try:
        thread.start()
        waiting.wait()
        with ThreadPoolExecutor(max_workers=1) as pool:  # bounded: a global lock would hang
            moved_b = pool.submit(world.fire, b, "start_review", DISTRICT_STAGE).result(timeout=5)
        assert moved_b.to_state == "district_review"
        thread.join(timeout=0.5)
        assert thread.is_alive() and not done, "case A moved while its row was locked"
    finally:
        tx.rollback()
        holder.close()
        thread.join(timeout=10)
    assert [x.to_state for x in done] == ["district_review"]


def test_transitions_on_16_different_cases_all_apply_concurrently(pg_app: App) -> None:
    """Sixteen callers each start the review of their own case: every one succeeds and every
    chain verifies (no shared head, no global serialisation failure)."""
    world = World(pg_app)
    codes = [world.register(rules="148") for _ in range(CALLERS)]
    for code in codes:
        world.fire(code, "submit", "producer1", DOCS)
    results = race(CALLERS, lambda i: world.fire(codes[i], "start_review", DISTRICT_STAGE))
    assert all(isinstance(r, Applied) for r in results), results
    with pg_app.db.connect() as conn:
        assert verify(conn).ok


def test_one_idempotency_key_on_many_cases_at_once_is_one_applied_and_409s(
        pg_app: App) -> None:
    """Issue 10: the same ``Idempotency-Key`` on two cases at the same moment ended in a
    UniqueViolation (500). Now one transition applies and every other call is a conflict
    (409) naming the key; nothing else is written."""
    world = World(pg_app)
    codes = [world.register(product=f"Tương {i}") for i in range(8)]
    for code in codes:
        world.fire(code, "submit", "producer1", DOCS)
    results = race(len(codes), lambda i: world.fire(codes[i], "start_review", "commune1",
                                                    idempotency_key="same-key"))
    applied = [r for r in results if isinstance(r, Applied)]
    refused = [r for r in results if isinstance(r, OcopError)]
    assert len(applied) == 1 and len(refused) == len(codes) - 1
    assert all(isinstance(r, Conflict) and r.code == "idempotency_key_reused"
               for r in refused), refused
    with pg_app.db.connect() as conn:
        states = dict(conn.execute(select(cases.c.code, cases.c.state)
                                   .where(cases.c.code.in_(codes))).all())
    assert sorted(states.values()).count("commune_prescore") == 1
    assert all(counts(pg_app, code)["chain_ok"] for code in codes)
