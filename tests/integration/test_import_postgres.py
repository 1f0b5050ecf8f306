"""``ocop import certified`` on PostgreSQL through the installed console script: a workbook
shaped like Hà Nội's register in mid-2025 (3,317 products: 6 5★, 22 proposed for 5★, 1,571 4★,
1,718 3★) imported in one process, timed, counted back and every chain verified; the same
workbook again changes nothing; a workbook with a bad row writes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.cohorts import mid_2025, workbook
from tests.integration.test_remap_postgres import Ocop
from tests.support import START, make_app, record_intact
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.store import units

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
