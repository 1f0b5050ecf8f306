"""``ocop import certified`` on PostgreSQL through the installed console script: a workbook
shaped like Hà Nội's register in mid-2025 (3,317 products: 6 5★, 22 proposed for 5★, 1,571 4★,
1,718 3★) imported in one process, timed, counted back and every chain verified; the same
workbook again changes nothing; a workbook with a bad row writes nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import text

from tests.integration.test_remap_postgres import Ocop
from tests.support import START, make_app, record_intact
from workflow import importer
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.store import units

pytestmark = pytest.mark.postgres

GROUPS = ("Thực phẩm", "Đồ uống", "Thảo dược", "Thủ công mỹ nghệ", "Sinh vật cảnh",
          "Dịch vụ du lịch cộng đồng, du lịch nông thôn và điểm du lịch")


def mid_2025(communes: list[str]) -> list[list[Any]]:
    """3,317 rows; decisions from 2019 to June 2025 (rules 1048 before 2021, then 148)."""
    stars = [5] * 6 + [4] * 22 + [4] * 1571 + [3] * 1718
    rows = []
    for n, star in enumerate(stars):
        day = date(2019, 3, 1) + timedelta(days=(n * 37) % 2300)
        rules = "1048" if day.year < 2021 else "148"
        group = GROUPS[n % 6] if rules == "148" else ("Thực phẩm", "Đồ uống", "Thảo dược")[n % 3]
        values = {"producer": f"Chủ thể số {n % 2900}", "producer_kind": "Hộ sản xuất",
                  "commune": communes[n % len(communes)], "product": f"Sản phẩm số {n}",
                  "group": group, "stars": star, "potential_5": "x" if 6 <= n < 28 else None,
                  "level": "central" if star == 5 else "city", "certificate_no": f"HN-{n:06d}",
                  "decision_no": f"{n}/QĐ-UBND", "decision_date": day,
                  "decision_body": "UBND thành phố Hà Nội", "rule_version": rules}
        rows.append([values.get(k) for k in importer.KEYS])
    return rows


def workbook(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([vi for _, vi, _ in importer.COLUMNS])
    sheet.append(list(importer.KEYS))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


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
    assert counts(app, "SELECT COUNT(*) FROM cases "
                       "WHERE CAST(dossier AS JSONB) ->> 'potential_5' = 'true'") == [(22,)]
    states = dict(counts(app, "SELECT state, COUNT(*) FROM cases GROUP BY 1"))
    valid = counts(app, "SELECT COUNT(*) FROM certificates WHERE status = 'valid'")[0][0]
    assert states["certified"] == valid and states["expired"] == 3317 - valid and valid > 0
    assert counts(app, "SELECT COUNT(DISTINCT case_id) FROM deadlines")[0][0] == valid
    record_intact(app)
    again = ocop.run("import", "certified", str(path))
    assert again.returncode == 0 and "0 new, 0 changed, 3317 unchanged" in again.stdout
    assert counts(app, "SELECT COUNT(*) FROM audit_entries") == [(3317,)]
