"""Re-evaluation campaigns on PostgreSQL, through the real ``ocop campaign run`` in processes:
a runner killed (SIGKILL) half-way and started again re-opens every case exactly once, each
producer notified once; two runners started together share the items (``FOR UPDATE SKIP
LOCKED``) and double no case; with ``OCOP_BROKER_URL`` on Redis the run hands its chunks to a
Celery worker and watches them done. The chains, seals and replays verify afterwards."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.cohorts import row, write_csv
from tests.integration.workers import RedisServer, worker, worker_env
from tests.support import START, TEST_SIGNING_KEY, World, make_app, pg_database, record_intact
from workflow import campaigns, importer
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.domain.facts import Actor
from workflow.registry import actor_named
from workflow.simclock import FileClock
from workflow.store import adminlog
from workflow.store import campaigns as store
from workflow.store.schema import audit_entries, campaign_items, outbox

pytestmark = pytest.mark.postgres

# The CLI as installed.
OCOP = str(Path(sys.executable).with_name("ocop"))
ROWS = 600  # 4★ without a trademark, 4★ with one, 3★: 200 each, one campaign each


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    folder = tmp_path_factory.mktemp("campaigns")
    with pg_database() as url:
        made = make_app(url, FixedClock(START))
        world = World(made)
        rows = [row(i, rule_version="1048", decision_date="2023-01-10", stars=4 if i % 3 else 3,
                    trademark_no=f"NH-{i}" if i % 2 else "",
                    trademark_holder=f"HTX Nông sản số {i}" if i % 2 else "")
                for i in range(ROWS)]
        importer.run(made.db, write_csv(folder / "cohort.csv", rows), world.actors["system"],
                     START)
        yield made
        made.close()


def ocop(app: App, home: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=app.settings.database_url, OCOP_HOME=str(home),
               OCOP_LANG="en", OCOP_SIMULATION="1", OCOP_NOW=START.isoformat(),
               OCOP_SIGNING_KEY=TEST_SIGNING_KEY)
    return subprocess.Popen([OCOP, *args], env=env, cwd=home, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finished(proc: subprocess.Popen[str]) -> str:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return out


def exactly_once(app: App, campaign_id: int, selected: int = ROWS // 3) -> None:
    """Every item done; each of its cases has one re-opening entry (this campaign's) and one
    status notice for it; the campaign finished once; every record verifies."""
    with app.db.connect() as conn:
        counts = store.counts(conn, campaign_id)
        per_case = conn.execute(
            select(audit_entries.c.case_id, func.count())
            .join(campaign_items, campaign_items.c.case_id == audit_entries.c.case_id)
            .where(campaign_items.c.campaign_id == campaign_id,
                   audit_entries.c.trigger == "open_reevaluation")
            .group_by(audit_entries.c.case_id)).all()
        notices = conn.execute(
            select(outbox.c.case_id, func.count())
            .join(campaign_items, campaign_items.c.case_id == outbox.c.case_id)
            .where(campaign_items.c.campaign_id == campaign_id, outbox.c.kind == "status")
            .group_by(outbox.c.case_id)).all()
        log = [e["action"] for e in adminlog.entries(conn, f"campaign:{campaign_id}")]
    assert counts == {"done": selected, "skipped": 0, "failed": 0, "left": 0}
    assert len(per_case) == selected and {n for _, n in per_case} == {1}
    assert len(notices) == selected and {n for _, n in notices} == {1}
    assert sorted(log) == ["campaign_finish", "campaign_plan", "campaign_start"]
    record_intact(app)


def test_a_runner_killed_half_way_and_started_again_reopens_each_case_once(
        app: App, tmp_path: Path) -> None:
    """SIGKILL once some chunks are committed: the items are done or pending, nothing between;
    a second run finishes the rest without re-opening or notifying anyone twice."""
    made = campaigns.plan(app, _city(app), "stars=4 trademark=no")
    assert made["count"] == ROWS // 3
    runner = ocop(app, tmp_path, "campaign", "run", str(made["id"]), "--chunk", "5")
    deadline = time.monotonic() + 60
    while _done(app, made["id"]) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    runner.send_signal(signal.SIGKILL)
    runner.communicate(timeout=10)  # reaped, its pipes closed
    with app.db.connect() as conn:
        killed_at = store.counts(conn, made["id"])
    assert killed_at["done"] >= 40 and killed_at["left"] > 0, killed_at
    assert "done" in finished(ocop(app, tmp_path, "campaign", "run", str(made["id"])))
    exactly_once(app, made["id"])


def test_two_runners_at_once_double_no_case(app: App, tmp_path: Path) -> None:
    """Two ``ocop campaign run`` of one campaign started together: both end, every item is
    done once."""
    made = campaigns.plan(app, _city(app), "stars=4 trademark=yes")
    runners = [ocop(app, tmp_path, "campaign", "run", str(made["id"]), "--chunk", "10")
               for _ in range(2)]
    for runner in runners:
        finished(runner)
    exactly_once(app, made["id"])


def test_with_redis_the_run_hands_its_chunks_to_a_worker(
        app: App, tmp_path: Path, redis: RedisServer) -> None:
    """``run`` enqueues one chunk task per chunk and waits: a Celery worker (two processes)
    re-opens every case once, and the run reports the campaign done."""
    made = campaigns.plan(app, _city(app), "stars=3")
    clock_file = tmp_path / "now"
    FileClock(clock_file).set(START)
    env = worker_env(tmp_path, app.settings.database_url, redis.url, clock_file,
                     OCOP_SIGNING_KEY=TEST_SIGNING_KEY, OCOP_LANG="en")
    w1 = worker("w1", env, tmp_path)
    try:
        w1.start()
        runner = subprocess.Popen([OCOP, "campaign", "run",
                                   str(made["id"]), "--chunk", "40"], env=env, cwd=tmp_path,
                                  text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert "done" in finished(runner)
    finally:
        w1.kill()  # its deliveries left over are not this test's (a warm stop waits ~15 s)
    assert w1.output().count(f"{campaigns.CHUNK_TASK}[") >= 5  # received, then succeeded
    exactly_once(app, made["id"])


def _city(app: App) -> Actor:
    with app.db.connect() as conn:
        return actor_named(conn, "city")


def _done(app: App, campaign_id: int) -> int:
    with app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(campaign_items).where(
            campaign_items.c.campaign_id == campaign_id,
            campaign_items.c.status == "done")).scalar_one())
