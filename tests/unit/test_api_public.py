"""Public pages, health and metrics, the lifecycle, producers and the audit endpoints."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from tests.api_support import TestClient, bearer, client, in_district_review
from tests.support import BINH_MINH, DOCS, HA_DONG, World, sim_sheets
from tests.unit.lifecycle_support import EraWorld
from workflow.store.queries import case_view
from workflow.store.schema import audit_entries, cases


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def certified(world: World) -> tuple[str, str]:
    """A 148 case certified 3★ at the district stage (by the district's successor, commune1,
    in September 2025); its code and certificate number."""
    code = in_district_review(world)
    world.fire(code, "record_district_score", "commune1", sim_sheets((25, 15, 20)))
    with world.app.db.connect() as conn:
        return code, case_view(conn, code)["certificate"]["number"]


def status_token(world: World, code: str) -> str:
    with world.app.db.connect() as conn:
        return str(conn.execute(select(cases.c.status_token).where(cases.c.code == code))
                   .scalar_one())


def test_healthz_says_ok_when_the_database_answers(api: TestClient) -> None:
    """GET /healthz checks the database."""
    assert api.get("/healthz").json() == {"status": "ok", "database": "ok"}


def test_metrics_count_transitions_refusals_backlog_and_overdue_cases(
        api: TestClient, world: World) -> None:
    """Prometheus text: transitions applied, refusals, pending outbox rows, overdue cases."""
    code = world.register()
    api.post(f"/api/v1/cases/{code}/events", headers=bearer(world.tokens["producer1"]),
             json={"trigger": "submit", "data": DOCS})
    api.post(f"/api/v1/cases/{code}/events", headers=bearer(world.tokens["producer1"]),
             json={"trigger": "submit", "data": DOCS})
    world.clock.advance(days=30)
    text = api.get("/metrics").text
    assert ('ocop_transitions_total{from_state="draft",to_state="registered",trigger="submit"}'
            " 1.0") in text
    assert 'ocop_refusals_total{kind="wrong_state",trigger="submit"} 1.0' in text
    assert 'ocop_outbox_backlog{channel="inapp"} 2.0' in text
    assert "ocop_overdue_cases 1.0" in text


def test_the_lifecycle_is_served_as_json_and_as_mermaid(api: TestClient, world: World) -> None:
    """GET /lifecycle?rules=148 gives the table; format=mermaid the state diagram."""
    auth = bearer(world.tokens["producer1"])
    table = api.get("/api/v1/lifecycle?rules=148", headers=auth).json()
    assert table["version"] == "148" and "district_review" in table["states"]
    mermaid = api.get("/api/v1/lifecycle?rules=1489&format=mermaid", headers=auth)
    assert mermaid.text.startswith("stateDiagram-v2")
    assert api.get("/api/v1/lifecycle?rules=999", headers=auth).status_code == 422


def test_a_valid_certificate_verifies_as_json_html_and_qr_code(
        api: TestClient, world: World) -> None:
    """Anyone may check a certificate: JSON on request, a Vietnamese page otherwise, and a QR."""
    _, number = certified(world)
    check = api.get(f"/verify/{number}", headers={"Accept": "application/json"}).json()
    assert check["valid_today"] and check["stars"] == 3 and check["level"] == "district"
    page = api.get(f"/verify/{number}")
    assert page.headers["content-type"].startswith("text/html")
    assert "Còn hiệu lực hôm nay" in page.text
    qr = api.get(f"/verify/{number}/qr.svg")
    assert qr.headers["content-type"] == "image/svg+xml" and b"<svg" in qr.content


def test_a_certificate_past_its_36_months_is_not_valid_today(
        api: TestClient, world: World) -> None:
    """Validity is judged on the clock's today, even before the system expires the case."""
    _, number = certified(world)
    world.clock.advance(days=37 * 31)
    check = api.get(f"/verify/{number}?format=json").json()
    assert not check["valid_today"] and check["status"] == "expired"
    assert "Not valid today" in api.get(f"/verify/{number}?lang=en").text


def test_an_unknown_certificate_is_a_404(api: TestClient) -> None:
    """A number no certificate has is not found (for the page and the QR code)."""
    assert api.get("/verify/HN-X-0000").status_code == 404
    assert api.get("/verify/HN-X-0000/qr.svg").status_code == 404


def test_the_status_page_shows_the_producer_their_timeline_in_vietnamese(
        api: TestClient, world: World) -> None:
    """With the case's token the producer sees states and notices in their language."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    page = api.get(f"/status/{code}?t={status_token(world, code)}")
    assert page.status_code == 200
    assert "Tình trạng hồ sơ OCOP" in page.text and "Đã đăng ký" in page.text
    assert "Nộp hồ sơ" in page.text


def test_the_status_page_needs_the_cases_own_token(api: TestClient, world: World) -> None:
    """A missing or wrong token, or another case's token, is a 404."""
    code, other = world.register(), world.register("producer2")
    for query in ("", "?t=guess", f"?t={status_token(world, other)}"):
        assert api.get(f"/status/{code}{query}").status_code == 404


def test_officers_add_producers_only_in_their_own_area(api: TestClient, world: World) -> None:
    """POST /producers: commune1 adds in Bình Minh (by name; kept by code), not in Hà Đông;
    district1, whose district ended, adds none; a producer or the supervisor never."""
    body = {"name": "HTX Mây tre Phú Vinh", "kind": "cooperative", "commune": "Bình Minh"}
    r = api.post("/api/v1/producers", json=body, headers=bearer(world.tokens["commune1"]))
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["commune"], made["commune_code"]) == ("Xã Bình Minh", BINH_MINH)
    assert (made["district"], made["district_code"]) == (None, None)
    again = api.get(r.headers["location"], headers=bearer(world.tokens["commune1"]))
    assert again.json()["name"] == body["name"]
    elsewhere = {**body, "commune": HA_DONG}
    for who, payload in (("commune1", elsewhere), ("district1", body), ("producer1", body),
                         ("supervisor", body)):
        r = api.post("/api/v1/producers", json=payload, headers=bearer(world.tokens[who]))
        assert r.status_code == 403, (who, r.text)
    ended = api.post("/api/v1/producers", json=body, headers=bearer(world.tokens["district1"]))
    assert ended.json()["params"]["why"]["code"] == "scope_unit_ended"


def test_before_2025_07_01_district_officers_add_producers_in_their_district(
        era_shared: EraWorld) -> None:
    """POST /producers in January 2025: district1 adds in Cự Khê of Thanh Oai, not in Vạn Phúc
    of Hà Đông."""
    world = era_shared
    body = {"name": "HTX Mây tre Phú Vinh", "kind": "cooperative", "district": "Thanh Oai",
            "commune": "Cự Khê"}
    with client(world.app) as api:
        auth = bearer(world.tokens["district1"])
        r = api.post("/api/v1/producers", json=body, headers=auth)
        assert r.status_code == 201, r.text
        made = r.json()
        assert (made["district"], made["district_code"]) == ("Huyện Thanh Oai", "old:278")
        assert (made["commune"], made["commune_code"]) == ("Xã Cự Khê", "old:10120")
        elsewhere = {**body, "district": "Hà Đông", "commune": "Vạn Phúc"}
        refused = api.post("/api/v1/producers", json=elsewhere, headers=auth)
        assert refused.status_code == 403, refused.text
        assert refused.json()["params"]["why"]["code"] == "scope_other_district"


def test_a_producer_reads_only_their_own_producer_record(api: TestClient, world: World) -> None:
    """GET /producers/{id} is scoped like cases."""
    auth = bearer(world.tokens["producer1"])
    assert api.get(f"/api/v1/producers/{world.p1}", headers=auth).status_code == 200
    assert api.get(f"/api/v1/producers/{world.p2}", headers=auth).status_code == 403
    assert api.get("/api/v1/producers/9999", headers=auth).status_code == 404


def test_the_supervisor_filters_the_audit_trail_and_downloads_it_as_csv(
        api: TestClient, world: World) -> None:
    """Filters by case, actor, trigger and time; CSV carries the same rows with hashes."""
    code, _ = certified(world)
    world.clock.advance(days=1)
    world.register("producer2")
    auth = bearer(world.tokens["supervisor"])
    rows = api.get(f"/api/v1/audit?case={code}", headers=auth).json()["items"]
    assert [r["trigger"] for r in rows] == ["register", "submit", "start_review",
                                            "record_district_score"]
    assert len(api.get("/api/v1/audit?actor=producer2", headers=auth).json()["items"]) == 1
    assert len(api.get("/api/v1/audit?trigger=submit", headers=auth).json()["items"]) == 1
    later = api.get("/api/v1/audit", params={"since": "2025-09-02T00:00:00+07:00"},
                    headers=auth).json()["items"]
    assert [r["actor"] for r in later] == ["producer2"]
    download = api.get(f"/api/v1/audit?case={code}&format=csv", headers=auth)
    parsed = list(csv.DictReader(io.StringIO(download.text)))
    assert download.headers["content-type"].startswith("text/csv") and len(parsed) == 4
    assert parsed[0]["hash"] == rows[0]["hash"]


def test_only_auditors_read_the_audit_trail(api: TestClient, world: World) -> None:
    """A district officer is refused the audit trail and its verification."""
    auth = bearer(world.tokens["district1"])
    assert api.get("/api/v1/audit", headers=auth).status_code == 403
    assert api.get("/api/v1/audit/verify", headers=auth).status_code == 403


def test_audit_verify_names_the_first_entry_that_was_edited(
        api: TestClient, world: World) -> None:
    """The chain verifies; after an edit in the database it names the broken entry."""
    code, _ = certified(world)
    auth = bearer(world.tokens["supervisor"])
    assert api.get("/api/v1/audit/verify", headers=auth).json()["ok"]
    with world.app.db.begin() as conn:
        conn.execute(update(audit_entries).where(audit_entries.c.seq == 3)
                     .values(actor="someone else"))
    report = api.get("/api/v1/audit/verify", headers=auth).json()
    assert not report["ok"]
    assert (report["first_break"]["case"], report["first_break"]["seq"]) == (code, 3)


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize(("language", "heading"), [(None, "Không tìm thấy"),
                                                   ("en-US,en;q=0.9", "Not found")])
def test_an_unknown_certificate_in_a_browser_is_a_page_in_the_visitors_language(
        api: TestClient, language: str | None, heading: str) -> None:
    """A browser asking for a number no certificate has gets a 404 HTML page with the site's
    header, in Vietnamese unless its Accept-Language asks for English; not problem+json."""
    headers = {**BROWSER, **({"Accept-Language": language} if language else {})}
    page = api.get("/verify/HN-X-0000", headers=headers)
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert heading in page.text and 'class="top"' in page.text and "HN-X-0000" in page.text
    assert "urn:ocop:problem" not in page.text


def test_an_unknown_certificate_for_a_json_client_is_problem_json(api: TestClient) -> None:
    """A client asking for JSON (by Accept or ?format=json) still gets problem+json."""
    for query, headers in (("", {"Accept": "application/json"}), ("?format=json", {})):
        answer = api.get(f"/verify/HN-X-0000{query}", headers=headers)
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_wrong_status_link_in_a_browser_is_a_page_and_json_clients_get_a_problem(
        api: TestClient, world: World) -> None:
    """An unknown case, a wrong token or none, an over-long token: a 404 page in the
    visitor's language (?lang=en works) for a browser, problem+json for a JSON client."""
    code = world.register()
    for path in (f"/status/{code}?t=guess", f"/status/{code}", "/status/HN-0000-000000?t=x",
                 f"/status/{code}?t={'x' * 5000}"):
        page = api.get(path, headers=BROWSER)
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        assert "Không tìm thấy" in page.text and 'class="top"' in page.text, path
        problem = api.get(path, headers={"Accept": "application/json"})
        assert problem.status_code == 404
        assert problem.headers["content-type"].startswith("application/problem+json")
    english = api.get(f"/status/{code}?t=guess&lang=en", headers=BROWSER)
    assert english.status_code == 404 and "Not found" in english.text
