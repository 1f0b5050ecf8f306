"""The programme register over HTTP on SQLite, the cohort of :mod:`tests.unit.test_register`
built once: ``GET /api/v1/register`` pages and counts as the CLI does, answers a 422 problem
document for each bad value, 403 to a producer, a commune officer's reach to them; the exports
download with as many rows as the total; the console page shows the filters, the table, the
total, pages of 50 and the export links, a bad value as its refusal (422), in vi and en."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.api_support import TestClient, bearer, client
from tests.support import START, World, make_app
from tests.unit.console_support import codes_shown, post_sign_in
from tests.unit.test_register import build
from workflow.clock import FixedClock

API = "/api/v1/register"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    app = build(make_app("sqlite://", FixedClock(START)), tmp_path_factory.mktemp("http"))
    yield World(app)  # producers and users; none of them holds a certificate
    app.close()


@pytest.fixture(scope="module")
def http(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def get(http: TestClient, world: World, who: str, path: str = API,
        **params: Any) -> Any:
    return http.get(path, params=params, headers=bearer(world.tokens[who]))


def test_the_api_pages_the_register_with_its_total(http: TestClient, world: World) -> None:
    """Filters as the CLI takes them (repeats and comma lists), the total, the page asked."""
    found = get(http, world, "city", stars="4", status="any", year="2019-2020", limit=5)
    assert found.status_code == 200, found.text
    body = found.json()
    assert (body["total"], body["limit"], body["offset"], len(body["items"])) == (421, 5, 0, 5)
    assert {i["stars_label"] for i in body["items"]} == {"4★"}  # English unless asked
    both = http.get(f"{API}?stars=4&stars=4%2B&status=any", headers=bearer(world.tokens["ip"]))
    assert both.json()["total"] == 435 + 5  # the cohort's, and five valid ones since 2023
    assert get(http, world, "supervisor", unit="10126").json()["total"] == 5


@pytest.mark.parametrize(("params", "code"), [
    ({"stars": "6"}, "register_stars_unknown"), ({"group": "xyz"}, "register_group_unknown"),
    ({"year": "20x9"}, "register_year_invalid"), ({"unit": "Nơi Không Có"}, "unit_unknown"),
    ({"expiring": "-3"}, "register_expiring_invalid"), ({"status": "foo"},
                                                         "register_status_unknown"),
    ({"limit": "0"}, "register_limit_invalid"), ({"limit": "100000"}, "register_limit_invalid"),
    ({"limit": "many"}, None),
])
def test_a_bad_value_is_a_422_problem_document(http: TestClient, world: World,
                                                params: dict[str, str],
                                                code: str | None) -> None:
    """Never a 5xx: each bad value answers 422 with its code, in the language asked for."""
    found = http.get(API, params=params, headers={**bearer(world.tokens["city"]),
                                                  "Accept-Language": "vi"})
    assert found.status_code == 422, found.text
    assert found.headers["content-type"].startswith("application/problem+json")
    if code is not None:
        assert found.json()["code"] == code
        assert next(iter(params.values())) in found.json()["detail"]


def test_producers_are_refused_and_officers_see_their_reach(http: TestClient,
                                                            world: World) -> None:
    """A producer gets 403 (the register is the office's); the commune officer of Bình Minh
    sees what is recorded there or under the old commune it took in; no token, 401."""
    assert get(http, world, "producer1").status_code == 403
    assert get(http, world, "producer1", f"{API}/export.csv").status_code == 403
    assert get(http, world, "commune1").json()["total"] == 5
    assert http.get(API).status_code == 401


def test_the_api_exports_download_with_as_many_rows_as_the_total(http: TestClient,
                                                                 world: World) -> None:
    """``export.xlsx`` and ``export.csv`` (with a BOM) are attachments holding the header
    and one row per product the filters select."""
    book = get(http, world, "city", f"{API}/export.xlsx", status="any", rules="1048")
    assert book.status_code == 200, book.text
    assert book.headers["content-disposition"] == 'attachment; filename="ocop-register.xlsx"'
    sheet = load_workbook(io.BytesIO(book.content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Case" and len(rows) == 631
    text = get(http, world, "city", f"{API}/export.csv", stars="4+", status="any")
    assert text.headers["content-type"] == "text/csv; charset=utf-8"
    assert text.content.startswith(b"\xef\xbb\xbf")
    assert len(list(csv.reader(io.StringIO(text.content.decode("utf-8-sig"))))) == 15


# --- the console -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        signed = post_sign_in(c, "city", world.tokens["city"])
        assert signed.status_code == 303, signed.text
        yield c


def rows_of(page: str) -> list[str]:
    return re.findall(r'data-testid="register-row" data-number="([^"]+)"', page)


def test_the_console_page_shows_the_filters_the_table_and_the_total(browser: TestClient
                                                                    ) -> None:
    """The filtered table, its total and the selected filter kept in the form."""
    page = browser.get("/console/register", params={"stars": "4+", "status": "any"})
    assert page.status_code == 200, page.text
    assert 'data-testid="register-total" data-total="14"' in page.text
    assert len(rows_of(page.text)) == 14 and "4★, đề xuất 5★" in page.text
    assert '<option value="4+" selected>' in page.text
    assert codes_shown(page.text, ("city",)) == []  # words, not codes
    english = browser.get("/console/register", params={"lang": "en"})
    assert "Products 1–6 of 6" in english.text and "Commune today" in english.text


def test_the_console_pages_fifty_rows_at_a_time(browser: TestClient) -> None:
    """636 products: 50 on a page, a link to the next, and from page 2 one to the previous."""
    first = browser.get("/console/register", params={"status": "any"})
    assert len(rows_of(first.text)) == 50 and 'data-testid="register-next"' in first.text
    assert 'data-testid="register-previous"' not in first.text
    second = browser.get("/console/register", params={"status": "any", "page": "2"})
    assert len(set(rows_of(first.text)) & set(rows_of(second.text))) == 0
    assert "51–100" in second.text and 'data-testid="register-previous"' in second.text


def test_a_bad_filter_shows_its_refusal_on_the_page(browser: TestClient) -> None:
    """422 with the sentence, the form kept; never a server error."""
    page = browser.get("/console/register", params={"year": "20x9", "lang": "en"})
    assert page.status_code == 422
    assert 'data-testid="error"' in page.text and "20x9" in page.text
    assert 'data-testid="register-table"' not in page.text
    huge = browser.get("/console/register", params={"page": "999999"})
    assert huge.status_code == 422


def test_the_export_links_download_the_filtered_register(browser: TestClient) -> None:
    """The page's Excel and CSV links carry its filters and download them."""
    page = browser.get("/console/register", params={"rules": "148", "lang": "vi"})
    link = re.search(r'href="([^"]+)" data-testid="register-export-xlsx"', page.text)
    assert link is not None
    book = browser.get(link.group(1).replace("&amp;", "&"))
    assert book.status_code == 200
    rows = list(load_workbook(io.BytesIO(book.content), read_only=True)
                .worksheets[0].iter_rows(values_only=True))
    assert rows[0][0] == "Mã hồ sơ" and len(rows) == 7
    text = browser.get("/console/register/export.csv", params={"stars": "3", "status": "any"})
    assert text.content.startswith(b"\xef\xbb\xbf") and text.content.count(b"\n") == 1 + 195 + 1


def test_a_producer_may_not_open_the_register(world: World) -> None:
    """The page answers a producer with the refusal (403)."""
    with client(world.app) as c:
        assert post_sign_in(c, "producer1", world.tokens["producer1"]).status_code == 303
        assert c.get("/console/register").status_code == 403
        assert c.get("/console/register/export.xlsx").status_code == 403
