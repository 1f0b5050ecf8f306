"""The reports over HTTP and in the console: each report as JSON, CSV, Excel, PNG and SVG for
staff, refused to producers, a bad ``by``, filter or format a 422 naming what is allowed; the
yearly targets read by staff and set by the city; the console page with its tables, its charts
(SVG that answers) and the target form."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from openpyxl import load_workbook

from tests.api_support import TestClient, bearer, client
from tests.cohorts import row, write_csv
from tests.support import START, World, make_app
from tests.unit.console_support import post_sign_in
from workflow import importer
from workflow.clock import FixedClock
from workflow.domain.facts import Actor
from workflow.store import adminlog

# Six products: three 4★ food, two 3★ beverage, one 4★ proposed for 5★ (decisions of 2024).
ROWS = [row(1), row(2), row(3, stars=3, group="Đồ uống"), row(4, stars=3, group="Đồ uống"),
        row(5, potential_5="x"), row(6, decision_date="15/01/2024")]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = World(make_app("sqlite://", FixedClock(START)))
    path = write_csv(tmp_path_factory.mktemp("six") / "six.csv", ROWS)
    importer.run(world.app.db, path, Actor("system", "system"), START)
    yield world
    world.app.close()


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def test_staff_read_counts_as_json_and_as_files(api: TestClient, world: World) -> None:
    """By stars and group with shares; CSV, Excel, PNG and SVG downloads."""
    r = api.get("/api/v1/reports/counts?by=stars,group", headers=bearer(world.tokens["city"]))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 6 and body["by"] == ["stars", "group"]
    assert {(x["stars"], x["group"], x["count"], x["share"]) for x in body["rows"]} == {
        ("3", "beverage", 2, 33.3), ("4", "food", 3, 50.0), ("4+", "food", 1, 16.7)}
    auth = bearer(world.tokens["supervisor"])
    food = api.get("/api/v1/reports/counts?by=stars&group=food&stars=4", headers=auth).json()
    assert food["total"] == 3
    mine = api.get("/api/v1/reports/counts", headers=bearer(world.tokens["commune1"])).json()
    other = api.get("/api/v1/reports/counts", headers=bearer(world.tokens["commune2"])).json()
    assert (mine["total"], other["total"]) == (6, 0)  # within each officer's reach
    csv = api.get("/api/v1/reports/counts?format=csv", headers=auth)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and "attachment" in csv.headers[
        "content-disposition"]
    xlsx = api.get("/api/v1/reports/counts?format=xlsx", headers={**auth,
                                                                   "Accept-Language": "vi"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None and sheet["A1"].value == "Sản phẩm theo hạng sao"
    png = api.get("/api/v1/reports/counts?format=png", headers=auth)
    assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"
    svg = api.get("/api/v1/reports/expiries?format=svg", headers=auth)
    assert svg.headers["content-type"].startswith("image/svg+xml")


def test_the_other_reports_answer_in_json(api: TestClient, world: World) -> None:
    """New per year, stages, compliance and expiries, each its model."""
    auth = bearer(world.tokens["city"])
    new = api.get("/api/v1/reports/new-per-year", headers=auth).json()
    assert new == [{"year": 2024, "new": 6, "target": None, "gap": None, "percent": None}]
    assert api.get("/api/v1/reports/stages?since=2025-01-01&until=2025-12-31",
                   headers=auth).json() == []
    assert api.get("/api/v1/reports/compliance", headers=auth).json() == []
    ahead = api.get("/api/v1/reports/expiries?quarters=4", headers=auth).json()
    # 36 months from 15/01/2024 and 15/06/2024 end in 2027: beyond four quarters.
    assert ahead == [{"quarter": q, "count": 0}
                     for q in ("2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2")]
    later = api.get("/api/v1/reports/expiries?quarters=8", headers=auth).json()
    assert later[-2:] == [{"quarter": "2027-Q1", "count": 1}, {"quarter": "2027-Q2", "count": 5}]


def test_bad_input_is_a_422_naming_what_is_allowed(api: TestClient, world: World) -> None:
    """A bad ``by``, filter, format or number of quarters."""
    auth = {**bearer(world.tokens["city"]), "Accept-Language": "en"}
    for url, words in (("/api/v1/reports/counts?by=colour", "stars"),
                       ("/api/v1/reports/counts?by=stars,stars", "stars"),
                       ("/api/v1/reports/counts?stars=6", "4+"),
                       ("/api/v1/reports/counts?format=gif", "svg"),
                       ("/api/v1/reports/expiries?quarters=0", "1"),
                       ("/api/v1/reports/stages?since=yesterday", "since")):
        r = api.get(url, headers=auth)
        assert r.status_code == 422, (url, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert words in r.json()["detail"], (url, r.json()["detail"])


def test_producers_may_not_read_reports_nor_anyone_signed_out(api: TestClient,
                                                             world: World) -> None:
    """403 for a producer, 401 without a token."""
    assert api.get("/api/v1/reports/counts", headers=bearer(
        world.tokens["producer1"])).status_code == 403
    assert api.get("/api/v1/targets", headers=bearer(
        world.tokens["producer1"])).status_code == 403
    assert api.get("/api/v1/reports/stages").status_code == 401


def test_targets_are_read_by_staff_and_set_by_the_city(api: TestClient, world: World) -> None:
    """PUT sets and changes a year's target (admin-logged); others get 403; bad ones 422."""
    city = bearer(world.tokens["city"])
    made = api.put("/api/v1/targets/2030", json={"products": 400}, headers=city)
    assert made.status_code == 200 and made.json()["products"] == 400
    again = api.put("/api/v1/targets/2030", json={"products": 450}, headers=city)
    assert again.json()["set_by"] == "city"
    shown = api.get("/api/v1/targets/2030", headers=bearer(world.tokens["commune1"]))
    assert shown.status_code == 200 and shown.json()["products"] == 450
    assert api.get("/api/v1/targets/2031", headers=city).status_code == 404
    assert api.put("/api/v1/targets/2030", json={"products": 1}, headers=bearer(
        world.tokens["commune1"])).status_code == 403
    for year, body in ((1999, {"products": 1}), (2030, {"products": 0}),
                       (2030, {"products": "many"}), (2030, {"products": 1, "x": 1})):
        assert api.put(f"/api/v1/targets/{year}", json=body, headers=city).status_code == 422
    with world.app.db.connect() as conn:
        assert [e["data"]["products"] for e in adminlog.entries(conn, "target:2030")] == [
            450, 400]
    new = api.get("/api/v1/reports/new-per-year", headers=city).json()
    assert new[-1] == {"year": 2030, "new": 0, "target": 450, "gap": 450, "percent": 0.0}


# --- the console -----------------------------------------------------------------------------

def sign_in(api: TestClient, world: World, who: str) -> None:
    assert post_sign_in(api, who, world.tokens[who]).status_code == 303


def test_the_console_page_shows_tables_and_charts_that_answer(api: TestClient,
                                                              world: World) -> None:
    """Counts by stars by default, each report's table, a chart whose SVG answers, downloads."""
    sign_in(api, world, "supervisor")
    page = api.get("/console/reports?lang=vi")
    assert page.status_code == 200, page.text
    for testid in ("reports-counts", "reports-chart-stars", "reports-new-per-year",
                   "reports-stages", "reports-expiries"):
        assert f'data-testid="{testid}"' in page.text, testid
    assert "4★, đề xuất 5★" in page.text and "reports-target-form" not in page.text
    src = re.search(r'<img src="([^"]+)"[^>]*data-testid="reports-chart-stars"', page.text)
    assert src is not None
    chart = api.get(src.group(1).replace("&amp;", "&"))
    assert chart.status_code == 200 and chart.headers["content-type"].startswith(
        "image/svg+xml")
    assert "Sản phẩm theo hạng sao" in chart.text
    xlsx = api.get("/console/reports/file/counts.xlsx?by=group")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    by_group = api.get("/console/reports?by=group&lang=en")
    assert 'data-testid="reports-chart-group"' in by_group.text and "Food" in by_group.text


def test_the_console_shows_a_bad_filter_on_the_page(api: TestClient, world: World) -> None:
    """A bad ``by`` or filter is the page with the refusal (422), never a server error."""
    sign_in(api, world, "city")
    for query in ("by=colour", "stars=9", "quarters=x"):
        page = api.get(f"/console/reports?{query}&lang=en")
        assert page.status_code == 422 and 'data-testid="error"' in page.text, query
    assert api.get("/console/reports/file/counts.gif").status_code == 422
    assert api.get("/console/reports/chart/nothing.svg").status_code == 422


def test_the_city_sets_a_target_from_the_console(api: TestClient, world: World) -> None:
    """The form with its CSRF value saves the target; without it, or bad, it is refused."""
    sign_in(api, world, "city")
    page = api.get("/console/reports?lang=en")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found and 'data-testid="reports-target-form"' in page.text
    done = api.post("/console/reports/targets",
                    data={"csrf": found.group(1), "year": "2032", "products": "420"})
    assert done.status_code == 303
    shown = api.get(done.headers["location"])
    assert 'data-testid="reports-target-done"' in shown.text and "2032: 420" in shown.text
    forged = api.post("/console/reports/targets", data={"csrf": "x", "year": "2033",
                                                        "products": "1"})
    assert forged.status_code == 422 and "2033" not in forged.text.split("reports-targets")[1]
    bad = api.post("/console/reports/targets", data={"csrf": found.group(1), "year": "20x3",
                                                     "products": "1"})
    assert bad.status_code == 422 and 'data-testid="reports-target-error"' in bad.text
    sign_in(api, world, "commune1")
    assert api.post("/console/reports/targets", data={"csrf": found.group(1), "year": "2034",
                                                      "products": "1"}).status_code == 403
