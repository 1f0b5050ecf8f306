"""Councils as the office makes them: ``workflow.councils`` (reach per role, members, years),
``/api/v1/councils`` (JSON, problem documents) and the console's councils pages, each council in
the admin log; the case page's scoring form offers the case's councils and sends the one chosen."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.api_support import TestClient, bearer, client
from tests.support import BINH_MINH, DOCS, HA_DONG, START, World, make_app, record_intact
from tests.unit.console_support import codes_shown, post_sign_in
from tests.unit.lifecycle_support import CRITERIA, assert_one_sentence
from workflow import councils
from workflow.clock import FixedClock
from workflow.errors import Forbidden, InvalidInput, NotFound, OcopError
from workflow.store import adminlog, queries
from workflow.store.db import write_transaction
from workflow.store.schema import score_sheets
from workflow.web.console import forms

QUORUM = {"commune": 2, "district": 1, "city": 3}
MEMBERS = ["Bà Nguyễn Thị Lan", "Ông Trần Văn Hùng", "Bà Lê Thị Mai", "Ông Phạm Văn Nam"]


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    app = make_app("sqlite://", FixedClock(START), council_required=True, quorum=QUORUM)
    try:
        yield World(app)
    finally:
        app.close()


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def add(world: World, who: str, level: str, unit: str, members: list[str],
        year: int = 2025) -> dict[str, object]:
    with write_transaction(world.app.db) as conn:
        return councils.add(conn, world.clock.now(), world.actors[who], level, unit, year,
                            members, settings=world.app.settings)


def refused(world: World, who: str, level: str, unit: str, members: list[str],
            year: int = 2025) -> OcopError:
    with world.app.db.connect() as conn:
        before = len(councils.list(conn))
    with pytest.raises(OcopError) as caught:
        add(world, who, level, unit, members, year)
    with world.app.db.connect() as conn:
        assert len(councils.list(conn)) == before
    return caught.value


def test_a_commune_officer_makes_their_communes_council_and_the_admin_log_has_it(
        world: World) -> None:
    made = add(world, "commune1", "commune", "Bình Minh", ["  Bà Lan ", "Ông\u00a0Hùng"])
    assert made["level"] == "commune" and made["unit"] == {"key": BINH_MINH,
                                                           "name": "Xã Bình Minh"}
    assert made["members"] == ["Bà Lan", "Ông\u00a0Hùng"] and made["created_by"] == "commune1"
    with world.app.db.connect() as conn:
        (entry,) = adminlog.entries(conn, f"council:{made['id']}")
    assert entry["action"] == "council_add" and entry["actor"] == "commune1"
    assert "Bà Lan" in str(entry["data"])
    record_intact(world.app)


def test_each_role_makes_councils_only_within_its_reach(world: World) -> None:
    assert isinstance(refused(world, "commune1", "commune", HA_DONG, MEMBERS), Forbidden)
    assert isinstance(refused(world, "commune1", "city", "01", MEMBERS), Forbidden)
    ended = refused(world, "district1", "district", "old:278", MEMBERS)
    assert ended.code == "council_unit_ended"
    assert refused(world, "producer1", "commune", BINH_MINH, MEMBERS).code == "role_may_not_do"
    assert refused(world, "supervisor", "city", "01", MEMBERS).code == "role_may_not_do"
    assert add(world, "city", "commune", HA_DONG, MEMBERS)["unit"]["key"] == HA_DONG  # type: ignore[index]
    assert add(world, "city", "city", "Hà Nội", MEMBERS)["unit"]["key"] == "01"  # type: ignore[index]
    assert add(world, "admin", "district", "old:278", ["Ông A"])["year"] == 2025


@pytest.mark.parametrize(("members", "year", "code"), [
    ([], 2025, "council_no_members"),
    (["", "  "], 2025, "council_no_members"),
    (["Bà Lan", "BÀ LAN"], 2025, "council_member_twice"),
    (["Ba\u0300 Lan", "Bà Lan"], 2025, "council_member_twice"),
    ([f"Thành viên {i}" for i in range(51)], 2025, "council_too_many_members"),
    (["Bà Lan", "Ông Hùng"], 2025, "council_too_few_members"),  # the city's quorum is 3
    (["Bà\u202eLan", "Ông Hùng", "Bà Mai"], 2025, "text_has_control"),
    (["x" * 121, "Ông Hùng", "Bà Mai"], 2025, "council_member_too_long"),
    (MEMBERS, 2017, "council_year_invalid"),
    (MEMBERS, 2027, "council_year_invalid"),
])
def test_bad_members_and_years_are_refused_and_nothing_is_made(
        world: World, members: list[str], year: int, code: str) -> None:
    error = refused(world, "city", "city", "01", members, year)
    assert isinstance(error, InvalidInput) and error.code == code
    assert error.text("vi") != error.text("en")
    assert_one_sentence(error.text("en"))
    assert_one_sentence(error.text("vi"))


def test_a_council_sits_for_a_unit_of_its_year_and_units_are_resolved(world: World) -> None:
    assert refused(world, "admin", "district", "old:278", ["Ông A"], 2026).code \
        == "council_unit_not_in_year"
    assert refused(world, "admin", "commune", "Nơi Không Có", MEMBERS).code == "unit_unknown"
    assert refused(world, "admin", "province", "01", MEMBERS).code == "council_level_unknown"


def test_list_filters_and_show_gives_the_rounds(world: World) -> None:
    made = add(world, "city", "commune", HA_DONG, ["Ông Lọc", "Bà Sàng"], 2026)
    with world.app.db.connect() as conn:
        assert [c["id"] for c in councils.list(conn, year=2026)] == [made["id"]]
        assert all(c["unit"]["key"] == HA_DONG for c in councils.list(conn, unit=HA_DONG))
        assert all(c["level"] == "city" for c in councils.list(conn, level="city"))
        assert councils.show(conn, int(str(made["id"])))["rounds"] == []
        with pytest.raises(NotFound):
            councils.show(conn, 987_654)


def test_the_api_makes_lists_and_shows_councils(api: TestClient, world: World) -> None:
    token = bearer(world.tokens["commune1"])
    r = api.post("/api/v1/councils", headers=token, json={
        "level": "commune", "unit": BINH_MINH, "year": 2025, "members": ["Bà Lan", "Ông Hùng"]})
    assert r.status_code == 201, r.text
    council_id = r.json()["id"]
    assert r.headers["location"] == f"/api/v1/councils/{council_id}"
    shown = api.get(f"/api/v1/councils/{council_id}", headers=token)
    assert shown.status_code == 200 and shown.json()["members"] == ["Bà Lan", "Ông Hùng"]
    listed = api.get("/api/v1/councils", params={"unit": BINH_MINH, "level": "commune"},
                     headers=token)
    assert council_id in [c["id"] for c in listed.json()]


def test_the_api_refuses_with_problem_documents(api: TestClient, world: World) -> None:
    token = bearer(world.tokens["commune1"])
    body = {"level": "commune", "unit": HA_DONG, "year": 2025, "members": ["A", "B"]}
    out = api.post("/api/v1/councils", headers=token, json=body)
    assert out.status_code == 403 and out.headers["content-type"] == "application/problem+json"
    bad = api.post("/api/v1/councils", headers=token, json={**body, "level": "ward"})
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    extra = api.post("/api/v1/councils", headers=token, json={**body, "chair": "A"})
    assert extra.status_code == 422
    assert api.get("/api/v1/councils/424242", headers=token).status_code == 404
    producer = api.get("/api/v1/councils", headers=bearer(world.tokens["producer1"]))
    assert producer.status_code == 403
    assert api.get("/api/v1/councils").status_code == 401


def sign_in(api: TestClient, world: World, who: str) -> None:
    r = post_sign_in(api, who, world.tokens[who])
    assert r.status_code == 303, r.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_console_makes_a_council_and_shows_it(api: TestClient, world: World) -> None:
    sign_in(api, world, "commune1")
    page = api.get("/console/councils")
    assert page.status_code == 200 and 'data-testid="council-form"' in page.text
    made = api.post("/console/councils", data={
        "csrf": csrf_of(page.text), "level": "commune", "unit": BINH_MINH, "year": "2025",
        "members": "Bà Hoa\r\nÔng Quang\r\n\r\n"})
    assert made.status_code == 303, made.text
    shown = api.get(made.headers["location"])
    assert shown.status_code == 200 and "Bà Hoa" in shown.text and "Ông Quang" in shown.text
    assert 'data-testid="done"' in shown.text
    listing = api.get("/console/councils").text
    assert "Bà Hoa" in listing
    for html in (listing, shown.text):  # in Vietnamese words, no system code
        assert codes_shown(html, tuple(world.actors)) == []


def test_the_console_refuses_a_bad_council_on_the_page(api: TestClient, world: World) -> None:
    sign_in(api, world, "commune1")
    csrf = csrf_of(api.get("/console/councils").text)
    for data, status in (({"year": "20x5"}, 422), ({"unit": HA_DONG}, 403),
                         ({"members": ""}, 422), ({"csrf": "forged"}, 422)):
        form = {"csrf": csrf, "level": "commune", "unit": BINH_MINH, "year": "2025",
                "members": "Bà Hoa\nÔng Quang", **data}
        r = api.post("/console/councils", data=form)
        assert r.status_code == status and 'data-testid="error"' in r.text, data
    assert api.get("/console/councils/abc").status_code == 404
    sign_in(api, world, "supervisor")
    page = api.get("/console/councils")
    assert page.status_code == 200 and 'data-testid="council-form"' not in page.text
    sign_in(api, world, "producer1")
    assert api.get("/console/councils").status_code == 403


def test_the_case_pages_scoring_form_offers_the_council_and_sends_it(
        api: TestClient, world: World) -> None:
    city = add(world, "city", "city", "01", MEMBERS)
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "record_commune_prescore", "commune1", {"criteria": CRITERIA})
    world.fire(code, "record_no_ip", "ip", {}, "no trademark registration yet")
    sign_in(api, world, "city")
    page = api.get(f"/console/cases/{code}").text
    form = page[page.index('data-trigger="record_city_score"'):]
    form = form[:form.index("</form>")]
    assert f'<option value="{city["id"]}"' in form and 'name="member_4"' in form
    assert 'name="member_5"' not in form and 'name="scored_on" value="2025-09-01"' in form
    assert 'name="member_1" value="" required' in form  # the pre-score's rows are not
    assert 'name="decision_number"' in form and "Ông Phạm Văn Nam" in form  # the datalist
    fields = {"trigger": "record_city_score", "csrf": csrf_of(page), "council": str(city["id"]),
              "scored_on": "2025-08-30", "mandatory_ok": "on",
              "decision_number": "123/QĐ-UBND", "decision_date": "2025-09-01",
              "decision_body": "UBND thành phố Hà Nội"}
    for i, member in enumerate(MEMBERS, 1):
        fields.update({f"member_{i}": member, f"a_{i}": "30", f"b_{i}": "20", f"c_{i}": "25"})
    half = {**fields, "decision_body": ""}
    refused_page = api.post(f"/console/cases/{code}/events", data=half)
    assert refused_page.status_code == 422 and 'data-testid="error"' in refused_page.text
    assert 'value="123/QĐ-UBND"' in refused_page.text  # the form keeps what was typed
    with world.app.db.connect() as conn:
        assert queries.case_row(conn, code)["state"] == "city_rating"
    done = api.post(f"/console/cases/{code}/events", data=fields)
    assert done.status_code == 303, done.text
    with world.app.db.connect() as conn:
        case = queries.case_row(conn, code)
        rows = conn.execute(select(score_sheets.c.council_id, score_sheets.c.entered_by)
                            .where(score_sheets.c.case_id == case["id"])).all()
    assert len(rows) == 4 and {tuple(r) for r in rows} == {(city["id"], "city")}
    assert case["state"] == "certified"
    rounds = api.get(f"/console/councils/{city['id']}").text
    assert f'data-case="{code}"' in rounds and rounds.count(f'data-case="{code}"') == 4


def test_the_form_turns_a_decision_and_a_council_into_event_data() -> None:
    data, _ = forms.event_from("record_no_ip", {
        "decision_number": "9/QĐ", "decision_date": "2025-09-01", "decision_body": "UBND"})
    assert data == {"decision": {"number": "9/QĐ", "date": "2025-09-01", "body": "UBND"}}
    assert forms.event_from("record_no_ip", {"decision_number": ""})[0] == {}
    data, _ = forms.event_from("record_decision", {
        "decision_number": "9/QĐ", "decision_date": "2025-09-01", "decision_body": "UBND",
        "certificate": " HN-1 "})
    assert data == {"number": "9/QĐ", "date": "2025-09-01", "body": "UBND",
                    "certificate": "HN-1"}
    with pytest.raises(InvalidInput):
        forms.event_from("record_decision", {"decision_number": "9/QĐ"})
    with pytest.raises(InvalidInput):
        forms.event_from("record_city_score", {"council": "x1"})
    assert forms.event_from("submit", {"doc_business_plan": "on"})[0] == {}
    prescore, _ = forms.event_from("record_commune_prescore", {"council": "4"})
    assert "council" not in prescore and "sheets" not in prescore
    prescore, _ = forms.event_from("record_commune_prescore", {
        "council": "4", "member_1": "Bà Lan", "a_1": "1", "b_1": "1", "c_1": "1"})
    assert prescore["council"] == 4 and len(prescore["sheets"]) == 1


def test_the_prescore_form_offers_this_years_commune_councils_only(
        api: TestClient, world: World) -> None:
    """The pre-score's council round is optional (sheet rows not required); the list holds the
    case's commune's councils of this year, not last year's nor another commune's."""
    ours = add(world, "admin", "commune", BINH_MINH, ["Bà Xuân", "Ông Hạ", "Bà Thu"])
    old = add(world, "admin", "commune", "old:10135", ["Bà Cũ", "Ông Cũ"], 2024)
    other = add(world, "admin", "commune", HA_DONG, ["Bà Khác", "Ông Khác"])
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    sign_in(api, world, "commune1")
    page = api.get(f"/console/cases/{code}").text
    form = page[page.index('data-trigger="record_commune_prescore"'):]
    form = form[:form.index("</form>")]
    assert 'class="prescore-round"' in form and 'name="member_1" value="" required' not in form
    assert f'<option value="{ours["id"]}"' in form and "Bà Thu" in form
    assert f'<option value="{old["id"]}"' not in form
    assert f'<option value="{other["id"]}"' not in form
