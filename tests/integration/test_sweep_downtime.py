"""The embedded default (SQLite, filesystem broker, no Redis) after three days of downtime:
the worker catches up on start and every deadline that fell due fires exactly once."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.integration.workers import ROOT, running, wait_until, worker, worker_env
from tests.support import DOCS, START, World, make_app
from workflow.bootstrap import App
from workflow.simclock import FileClock
from workflow.store.schema import audit_entries, cases, deadlines

pytestmark = [pytest.mark.slow]


def overdue(app: App) -> int:
    with app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(deadlines).where(
            deadlines.c.status == "open", deadlines.c.due_at <= app.clock.now())).scalar_one())


def fired(app: App) -> Counter[tuple[str, str]]:
    with app.db.connect() as conn:
        rows = conn.execute(select(cases.c.code, audit_entries.c.trigger)
                            .join(cases, cases.c.id == audit_entries.c.case_id)
                            .where(audit_entries.c.actor == "system"))
        return Counter((code, trigger) for code, trigger in rows)


def test_after_three_days_down_every_due_deadline_fires_once_when_the_worker_starts(
        tmp_path: Path) -> None:
    """Five reviews fall due (1 working day) and three producers miss a 2-day completion while
    nothing runs. Three days later a worker starts alone (no beat): its start-up sweep escalates
    five cases and withdraws three, once each; `ocop sweep` afterwards finds nothing to do."""
    clock_file = tmp_path / "now"
    clock = FileClock(clock_file)
    clock.set(START)
    url = f"sqlite:///{tmp_path / 'ocop.db'}"
    app = make_app(url, clock, clock_overrides={"review_start": 1})  # type: ignore[arg-type]
    world = World(app)
    waiting = [world.register() for _ in range(5)]
    for code in waiting:
        world.fire(code, "submit", "producer1", DOCS)
    late = [world.register() for _ in range(3)]
    for code in late:
        world.fire(code, "submit", "producer1", DOCS)
        world.fire(code, "start_review", "commune1")
        world.fire(code, "request_completion", "commune1", {"days": 2}, reason="thiếu giấy")
    clock.advance(days=3)
    assert overdue(app) == 5 + 3 * 2  # escalations, 1-day reminders and completions
    env = worker_env(tmp_path, url, None, clock_file)
    w1 = worker("w1", env, tmp_path)
    with running(w1):
        w1.start()
        wait_until(lambda: overdue(app) == 0, 60, "the start-up sweep")
    expected = Counter({(c, "escalate"): 1 for c in waiting})
    expected.update({(c, "withdraw"): 1 for c in late})
    assert fired(app) == expected
    again = subprocess.run([sys.executable, "-m", "workflow", "sweep", "--json"], env=env,
                           cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    assert '"escalated"' not in again.stdout and '"withdrawn"' not in again.stdout
    assert fired(app) == expected
    assert clock.now() - START == timedelta(days=3)
    app.close()
