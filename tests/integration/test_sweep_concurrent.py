"""Two workers and two schedulers sweep the same PostgreSQL database through a simulated week:
every deadline fires exactly once (FOR UPDATE SKIP LOCKED, action and row in one transaction)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from tests.integration.workers import (
    RedisServer,
    beat,
    running,
    supervised,
    wait_until,
    worker,
    worker_env,
)
from tests.support import DOCS, START, World, make_app
from workflow.bootstrap import App
from workflow.simclock import FileClock
from workflow.store.schema import audit_entries, cases, deadlines, outbox, producers

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]



def overdue(app: App) -> int:
    with app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(deadlines).where(
            deadlines.c.status == "open", deadlines.c.due_at <= app.clock.now())).scalar_one())


def audit_counts(app: App, trigger: str) -> Counter[str]:
    with app.db.connect() as conn:
        rows = conn.execute(select(cases.c.code, audit_entries.c.data)
                            .join(cases, cases.c.id == audit_entries.c.case_id)
                            .where(audit_entries.c.trigger == trigger))
        return Counter(f"{code}/{json.loads(data).get('level', '')}" for code, data in rows)


def test_two_workers_and_two_schedulers_fire_each_deadline_once_in_a_simulated_week(
        tmp_path: Path, pg_url: str, redis: RedisServer) -> None:
    """20 cases wait for review (2 working days), 10 wait for the producer (3 days). Over a
    week moved in 6-hour steps, with four sweeps racing every half second, each review case is
    escalated once, each waiting producer reminded once and withdrawn once."""
    clock_file = tmp_path / "now"
    clock = FileClock(clock_file)
    clock.set(START)
    app = make_app(pg_url, clock, clock_overrides={"review_start": 2})  # type: ignore[arg-type]
    world = World(app)
    with app.db.begin() as conn:
        conn.execute(update(producers).values(email=None))
    waiting = []
    for _ in range(20):
        waiting.append(code := world.register())
        world.fire(code, "submit", "producer1", DOCS)
    late = []
    for _ in range(10):
        late.append(code := world.register())
        world.fire(code, "submit", "producer1", DOCS)
        world.fire(code, "start_review", "commune1")
        world.fire(code, "request_completion", "commune1", {"days": 3}, reason="thiếu giấy")
    env = worker_env(tmp_path, pg_url, redis.url, clock_file)
    procs = [worker("w1", env, tmp_path), worker("w2", env, tmp_path),
             beat("b1", env, tmp_path), beat("b2", env, tmp_path)]
    with running(*procs):
        for p in procs:
            p.start(ready="ready." if p.name.startswith("w") else "beat: Starting")
        while clock.now() < START + timedelta(days=7):
            clock.advance(hours=6)
            wait_until(supervised(lambda: overdue(app) == 0, *procs), 60,
                       f"the sweeps to catch up at {clock.now()}", every=0.1)
    escalated = audit_counts(app, "escalate")
    assert escalated == Counter({f"{code}/1": 1 for code in waiting})
    assert audit_counts(app, "withdraw") == Counter({f"{code}/": 1 for code in late})
    with app.db.connect() as conn:
        reminders = Counter(conn.execute(select(outbox.c.case_id).where(
            outbox.c.kind == "completion_reminder")).scalars())
        notes = conn.execute(select(func.count()).select_from(outbox)
                             .where(outbox.c.kind == "escalation")).scalar_one()
    assert sorted(reminders.values()) == [1] * 10  # the 1-day reminder, in-app
    assert notes == 20
    app.close()
