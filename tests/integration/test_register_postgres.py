"""The programme register on PostgreSQL: the SQLite tests' cohort imported once, the same
filters giving the same counts (the current certificate picked by a window function, the year
extracted from the decision date, the old commune's successor joined), the page in the same
order, the exports streamed with as many rows as the total, and the API refusing what
PostgreSQL could not even store as a 422."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api_support import bearer, client
from tests.support import START, World, make_app
from tests.unit.test_register import TODAY, build
from workflow import register
from workflow.bootstrap import App
from workflow.clock import FixedClock

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(pg_url: str, tmp_path: Path) -> Iterator[App]:
    made = build(make_app(pg_url, FixedClock(START)), tmp_path)
    yield made
    made.close()


def total(app: App, **raw: Any) -> int:
    with app.db.connect() as conn:
        return int(register.page(conn, register.parse(conn, raw, TODAY), None, 1)["total"])


def test_the_register_filters_pages_and_exports_alike_on_postgresql(app: App) -> None:
    """Counts, order and exports as on SQLite."""
    cohort = {"status": "any", "year": "2019-2020"}
    assert [total(app, **cohort, stars=s) for s in ("4", "4+", "3", "5")] == [421, 14, 195, 0]
    assert total(app, **cohort, group="Thực phẩm") == 467
    assert total(app, **cohort, group="Lưu niệm, nội thất, trang trí") == 115
    assert total(app, **cohort, trademark="yes", level="city") == 105
    assert (total(app), total(app, expiring="29"), total(app, expiring="28")) == (6, 1, 0)
    assert (total(app, unit="10126"), total(app, unit="Cự Khê, Thanh Oai"),
            total(app, unit="Huyện Thanh Oai")) == (5, 2, 2)
    with app.db.connect() as conn:
        f = register.parse(conn, {}, TODAY)
        page = register.page(conn, f, None, limit=6, lang="en")
        book, text = io.BytesIO(), io.BytesIO()
        assert register.export(conn, register.parse(conn, {"status": "any"}, TODAY), None,
                               "xlsx", book, "vi") == 636
        assert register.export(conn, f, None, "csv", text, "en") == 6
    assert [i["number"][-5:] for i in page["items"]] == ["02000", "02001", "02002", "02010",
                                                         "02011", "02020"]
    assert page["items"][3]["units"]["commune_now"] == "Xã Bình Minh"
    book.seek(0)
    assert len(list(load_workbook(book, read_only=True).worksheets[0].iter_rows())) == 637
    assert text.getvalue().startswith(b"\xef\xbb\xbf")
    assert len(list(csv.reader(io.StringIO(text.getvalue().decode("utf-8-sig"))))) == 7


def test_the_api_answers_422_not_500_on_postgresql(app: App) -> None:
    """A NUL character in a unit name and a bad year are refusals; a good query pages."""
    world = World(app)
    with client(app) as http:
        headers = bearer(world.tokens["city"])
        assert http.get("/api/v1/register", params={"unit": "Cự\x00Khê"},
                        headers=headers).status_code == 422
        assert http.get("/api/v1/register", params={"year": "2019-20x0"},
                        headers=headers).status_code == 422
        found = http.get("/api/v1/register", params={"stars": "4+", "status": "any"},
                         headers=headers)
        assert found.status_code == 200 and found.json()["total"] == 14
        assert http.get("/api/v1/register/export.csv", params={"status": "any"},
                        headers=headers).content.count(b"\n") == 637
