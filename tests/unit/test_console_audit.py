"""The supervisor's audit view: newest first, 50 entries a page with links that keep the
filters, words not codes; CSV a spreadsheet opens correctly (UTF-8 with a BOM, one readable
column per field, the hash columns kept), from the console and from the API."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import pytest

from tests.api_support import TestClient, bearer, client
from tests.support import DOCS, World
from tests.unit.console_support import post_sign_in
from tests.unit.lifecycle_support import DISTRICT_STAGE, scores
from workflow.web.audit_export import FIELDS


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def sign_in(api: TestClient, world: World, who: str) -> None:
    signed = post_sign_in(api, who, world.tokens[who])
    assert signed.status_code == 303


def seqs(page: str) -> list[tuple[str, str]]:
    """(case, seq) of each row of the audit table, top to bottom."""
    return re.findall(r'<td><a href="/console/cases/([^"]+)">[^<]+</a></td>\s*<td>(\d+)</td>',
                      page)


def many_cases(world: World, n: int) -> list[str]:
    """``n`` submitted cases, a minute apart: 2·n audit entries."""
    codes = []
    for _ in range(n):
        code = world.register()
        world.clock.advance(minutes=1)
        world.fire(code, "submit", "producer1", DOCS)
        world.clock.advance(minutes=1)
        codes.append(code)
    return codes


def parse(download: str) -> list[dict[str, str]]:
    assert download.startswith("\ufeff"), "no byte-order mark: Excel would show mojibake"
    return list(csv.DictReader(io.StringIO(download.removeprefix("\ufeff"))))


def test_the_audit_view_shows_the_newest_entry_first_fifty_a_page(
        api: TestClient, world: World) -> None:
    """30 cases make 60 entries: page 1 has the 50 newest, newest on top; "older" leads to the
    other 10 and "newer" back."""
    codes = many_cases(world, 30)
    sign_in(api, world, "supervisor")
    first = api.get("/console/audit").text
    rows = seqs(first)
    assert len(rows) == 50 and rows[0] == (codes[-1], "2") and rows[1] == (codes[-1], "1")
    older = re.search(r'href="([^"]+)" rel="next"', first)
    assert older and 'rel="prev"' not in first
    second = api.get("/console/audit" + older.group(1).replace("&amp;", "&")).text
    assert len(seqs(second)) == 10 and seqs(second)[-1] == (codes[0], "1")
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_page_links_keep_the_filters(api: TestClient, world: World) -> None:
    """Filtered by trigger, the next page still filters by it (and shows only that trigger)."""
    many_cases(world, 55)
    sign_in(api, world, "supervisor")
    first = api.get("/console/audit?trigger=submit").text
    link = re.search(r'href="([^"]+)" rel="next"', first)
    assert link and "trigger=submit" in link.group(1) and "page=2" in link.group(1)
    second = api.get("/console/audit" + link.group(1).replace("&amp;", "&")).text
    assert len(seqs(second)) == 5 and {s for _, s in seqs(second)} == {"2"}


def test_a_page_number_that_is_not_one_shows_the_first_page(
        api: TestClient, world: World) -> None:
    """``?page=abc`` or ``?page=-3`` is not an error: the first page is shown."""
    many_cases(world, 1)
    sign_in(api, world, "supervisor")
    for bad in ("abc", "-3", "0", "99999999999"):
        r = api.get(f"/console/audit?page={bad}")
        assert r.status_code == 200 and len(seqs(r.text)) == 2


def test_the_audit_view_shows_words_not_codes(api: TestClient, world: World) -> None:
    """Trigger, states and the actor's role in Vietnamese; the filter's options are labels
    whose values are the codes."""
    many_cases(world, 1)
    sign_in(api, world, "supervisor")
    page = api.get("/console/audit").text
    assert "<td>Nộp hồ sơ</td>" in page and "Bản nháp → Đã đăng ký" in page
    assert "producer1 (Chủ thể sản xuất)" in page
    assert '<option value="submit" >Nộp hồ sơ</option>' in page
    assert ">submit<" not in page and "(producer)" not in page


def test_the_console_csv_has_a_bom_one_column_per_field_and_the_readers_words(
        api: TestClient, world: World) -> None:
    """Vietnamese headers, labels for codes, score and stars in their own columns, no JSON in
    any cell, the hash chain columns kept; newest first like the view."""
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", DISTRICT_STAGE)
    world.fire(code, "record_district_score", DISTRICT_STAGE, scores("148", 62.5))
    sign_in(api, world, "supervisor")
    rows = parse(api.get(f"/console/audit.csv?case={code}").text)
    assert [r["Sự kiện"] for r in rows] == ["Ghi điểm cấp huyện", "Bắt đầu đánh giá",
                                           "Nộp hồ sơ", "Đăng ký"]
    scored = rows[0]
    assert scored["Điểm"] == "62,5" and scored["Số sao"] == "3"
    assert scored["Trạng thái sau"] == "Đã công nhận" and scored["Vai trò"] == "Cán bộ xã"
    assert "huyện công nhận 3 sao" in scored["Giải thích"]
    assert scored["Giấy chứng nhận"].startswith("HN-H-")
    assert rows[2]["Tài liệu trong hồ sơ"].startswith("Phiếu đăng ký sản phẩm; ")
    assert all(r["Mã băm"] and "{" not in "".join(r.values()) for r in rows)
    assert rows[0]["Mã băm liền trước"] == rows[1]["Mã băm"]


def test_the_api_csv_keeps_english_headers_and_codes_and_json_is_unchanged(
        api: TestClient, world: World) -> None:
    """For programs: a BOM, then machine-stable English headers and codes, flattened columns;
    the JSON export still carries ``data`` as before."""
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", DISTRICT_STAGE)
    world.fire(code, "record_district_score", DISTRICT_STAGE, scores("148", 75))
    auth = bearer(world.tokens["supervisor"])
    download = api.get(f"/api/v1/audit?case={code}&format=csv", headers=auth).text
    rows = parse(download)
    assert download.removeprefix("\ufeff").split("\r\n")[0] == ",".join(FIELDS)
    assert [r["trigger"] for r in rows] == ["register", "submit", "start_review",
                                           "record_district_score"]
    assert rows[3]["score"] == "75.0" and rows[3]["explanation"] == "potential_4"
    assert rows[3]["to"] == "ip_check" and rows[1]["documents"].startswith("registration_form;")
    items = api.get(f"/api/v1/audit?case={code}", headers=auth).json()["items"]
    assert set(items[0]) == {"case", "seq", "at", "actor", "role", "trigger", "from", "to",
                             "reason", "data", "rule_version", "prev_hash", "hash"}
    assert [i["hash"] for i in items] == [r["hash"] for r in rows]


def test_the_console_csv_in_english_for_an_english_reader(
        api: TestClient, world: World) -> None:
    """With the language set to English the download's headers and words are English."""
    many_cases(world, 1)
    sign_in(api, world, "supervisor")
    api.get("/console/audit?lang=en")
    rows = parse(api.get("/console/audit.csv").text)
    assert rows[0]["Trigger"] == "Submit the dossier" and rows[0]["Role"] == "Producer"
    assert rows[0]["State after"] == "Registered"
