"""``ocop import certified`` on PostgreSQL through the installed console script: a workbook
shaped like Hà Nội's register in mid-2025 (3,317 products: 6 5★, 22 proposed for 5★, 1,571 4★,
1,718 3★) imported in one process, timed, counted back and every chain verified; the same
workbook again changes nothing; a workbook with a bad row writes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.cohorts import mid_2025, workbook
from tests.integration.test_remap_postgres import Ocop
from tests.support import DOCS, START, World, make_app, record_intact
from workflow import reports as formats
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.store import reports, units
from workflow.store.register import Filters
from workflow.sweep import Sweeper

pytestmark = pytest.mark.postgres

@pytest.fixture
def app(pg_url: str) -> Iterator[App]:
    app = make_app(pg_url, FixedClock(START))
    yield app
    app.close()


def counts(app: App, sql: str) -> list[Any]:
    with app.db.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_the_mid_2025_register_imports_in_one_process(app: App, pg_url: str,
                                                      tmp_path: Path) -> None:
    with app.db.connect() as conn:
        communes = [u.name for u in units.listing(conn, "commune") if u.valid_to is None]
    ocop = Ocop(pg_url, tmp_path)
    rows = mid_2025(communes)
    bad = workbook(tmp_path / "bad.xlsx", [*rows[:50], [*rows[50][:7], 7, *rows[50][8:]]])
    refused = ocop.run("import", "certified", str(bad))
    assert refused.returncode == 2 and "Row 53, column stars:" in refused.stderr
    assert counts(app, "SELECT COUNT(*) FROM cases") == [(0,)]

    path = workbook(tmp_path / "register.xlsx", rows)
    began = time.monotonic()
    done = ocop.run("import", "certified", str(path), "--as", "system", "--json")
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["new"] == 3317
    print(f"\n3,317 rows imported on PostgreSQL in {took:.1f} s")
    assert took < 60
    assert dict(counts(app, "SELECT stars, COUNT(*) FROM certificates GROUP BY 1")) == {
        5: 6, 4: 1593, 3: 1718}
    assert counts(app, "SELECT COUNT(*) FROM cases WHERE potential_5") == [(22,)]
    states = dict(counts(app, "SELECT state, COUNT(*) FROM cases GROUP BY 1"))
    valid = counts(app, "SELECT COUNT(*) FROM certificates WHERE status = 'valid'")[0][0]
    assert states["certified"] == valid and states["expired"] == 3317 - valid and valid > 0
    assert counts(app, "SELECT COUNT(DISTINCT case_id) FROM deadlines")[0][0] == valid
    record_intact(app)
    again = ocop.run("import", "certified", str(path))
    assert again.returncode == 0 and "0 new, 0 changed, 3317 unchanged" in again.stdout
    assert counts(app, "SELECT COUNT(*) FROM audit_entries") == [(3317,)]
    check_reports(app)


def check_reports(app: App) -> None:
    """The register's figures on PostgreSQL: 6 5★, 22 proposed for 5★, 1,571 4★, 1,718 3★
    with status any; every new product in its first year; the whole report set."""
    with app.db.connect() as conn:
        stars = reports.counts(conn, ["stars"], Filters(statuses=()))
        new = reports.new_per_year(conn, Filters(statuses=()))
        began = time.monotonic()
        found = reports.report_set(conn, START.date())
        took = time.monotonic() - began
    assert {r["stars"]: (r["count"], r["share"]) for r in stars["rows"]} == {
        "5": (6, 0.2), "4+": (22, 0.7), "4": (1571, 47.4), "3": (1718, 51.8)}
    assert stars["total"] == 3317
    assert sum(r["new"] for r in new) == 3317 and new[0]["year"] == 2019
    assert found["counts"]["stars"]["total"] == sum(
        r["count"] for r in found["counts"]["stars"]["rows"]) > 0
    assert sum(q["count"] for q in found["expiries"]) > 0
    print(f"report set over 3,317 certificates on PostgreSQL in {took:.2f} s")
    assert formats.render("counts", stars, "png", "vi").startswith(b"\x89PNG")


def test_stage_durations_and_compliance_on_postgresql(app: App) -> None:
    """Days between entries (PostgreSQL's interval arithmetic), nearest-rank median and p90,
    and an escalated review deadline counted as missed."""
    world = World(app)
    codes = []
    for draft, registered in ((1, 2), (2, 4), (3, None)):
        world.clock.set(START)
        code = world.register()
        world.clock.advance(days=draft)
        world.fire(code, "submit", "producer1", DOCS)
        if registered is not None:
            world.clock.advance(days=registered, hours=12)
            world.fire(code, "start_review", "commune1")
        codes.append(code)
    world.clock.set(START + timedelta(days=40))
    Sweeper(app.engine).run()
    with app.db.connect() as conn:
        stays = {r["state"]: r for r in reports.stage_durations(conn)}
        kept = {r["kind"]: r for r in reports.deadline_compliance(conn)}
    assert stays["draft"] == {"state": "draft", "count": 3, "median": 2.0, "p90": 3.0}
    assert stays["registered"] == {"state": "registered", "count": 2, "median": 2.5,
                                   "p90": 4.5}
    assert kept["review_start"] == {"state": "registered", "kind": "review_start", "kept": 2,
                                    "missed": 1, "running": 0, "percent": 66.7}
