"""Dossier documents over HTTP: the API's multipart upload, list and download with problem
documents for bad files (and nothing stored), the body limit opened for uploads only, and the
console's documents panel, upload form and download link."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api_support import TestClient, bearer, client
from tests.support import World, make_app, record_intact
from tests.unit.console_support import post_sign_in
from tests.unit.lifecycle_support import snapshot
from tests.unit.test_documents import GIF, HTML_PDF, PDF, PDF_HEAD_HTML, PNG, stored_files
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.web.api.config import ApiConfig

PROBLEM = "application/problem+json"


@pytest.fixture
def app(clock: FixedClock) -> Iterator[App]:
    made = make_app("sqlite://", clock, required_documents=None, document_max_mb=1)
    yield made
    made.close()


@pytest.fixture
def world(app: App) -> World:
    return World(app)


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app, ApiConfig(max_body_bytes=64 * 1024)) as c:
        yield c


def post(api: TestClient, world: World, code: str, kind: str, data: bytes,
         name: str = "dossier.pdf", who: str = "producer1") -> httpx.Response:
    sent: httpx.Response = api.post(
        f"/api/v1/cases/{code}/documents", headers=bearer(world.tokens[who]),
        data={"kind": kind}, files={"file": (name, data, "application/pdf")})
    return sent


def test_upload_list_download_over_the_api(api: TestClient, world: World) -> None:
    """201 with the row and its location; the list; the bytes with their type and a safe
    attachment name; a second upload is version 2 and ``?version=1`` still gives the first;
    the case's ETag moves with each upload."""
    code = world.register()
    etag = api.get(f"/api/v1/cases/{code}", headers=bearer(world.tokens["producer1"])
                   ).headers["etag"]
    r = post(api, world, code, "registration_form", PDF, name="../Đơn|đăng;ký.pdf")
    assert r.status_code == 201, r.text
    row = r.json()
    assert (row["version"], row["sha256"], row["filename"]) == (
        1, hashlib.sha256(PDF).hexdigest(), "Đơn_đăng_ký.pdf")
    assert r.headers["location"].endswith("/documents/registration_form?version=1")
    assert api.get(f"/api/v1/cases/{code}", headers=bearer(world.tokens["producer1"])
                   ).headers["etag"] != etag
    assert post(api, world, code, "registration_form", PNG, "scan.png").json()["version"] == 2
    listed = api.get(f"/api/v1/cases/{code}/documents", headers=bearer(world.tokens["city"]))
    assert [(d["kind"], d["version"]) for d in listed.json()] == [("registration_form", 2),
                                                                  ("registration_form", 1)]
    got = api.get(f"/api/v1/cases/{code}/documents/registration_form",
                  headers=bearer(world.tokens["commune1"]))
    assert (got.status_code, got.content, got.headers["content-type"]) == (200, PNG,
                                                                          "image/png")
    old = api.get(f"/api/v1/cases/{code}/documents/registration_form?version=1",
                  headers=bearer(world.tokens["producer1"]))
    assert old.content == PDF
    disposition = old.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="Don_dang_ky.pdf"; filename*=UTF-8')
    assert "\n" not in disposition and "/" not in disposition.split("filename*=")[1]
    record_intact(world.app)


@pytest.mark.parametrize(("data", "name", "status"), [
    (b"plain text, not a document\n", "notes.txt", 422),
    (GIF, "photo.gif", 422),
    (b"", "empty.pdf", 422),
    (HTML_PDF, "page.pdf", 422),
    (PDF_HEAD_HTML, "page2.pdf", 422),
    (b"%PDF-1.4\n" + b"0" * (1024 * 1024) + b"\n%%EOF\n", "big.pdf", 413),  # the service's
    (b"%PDF-1.4\n" + b"0" * (3 * 1024 * 1024) + b"\n%%EOF\n", "huge.pdf", 413),  # the limit's
])
def test_a_bad_upload_is_a_problem_document_and_stores_nothing(
        api: TestClient, world: World, data: bytes, name: str, status: int) -> None:
    """Each bad file: its 4xx as problem+json with a sentence; no row, no file, the case's
    version and audit chain unchanged."""
    code = world.register()
    before, files = snapshot(world.app, code), stored_files(world.app)
    r = post(api, world, code, "registration_form", data, name)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM) and r.json()["detail"]
    assert snapshot(world.app, code) == before and stored_files(world.app) == files
    assert api.get(f"/api/v1/cases/{code}/documents",
                   headers=bearer(world.tokens["producer1"])).json() == []
    record_intact(world.app)


def test_an_unknown_kind_and_a_missing_part_are_refused(api: TestClient, world: World) -> None:
    code = world.register()
    r = post(api, world, code, "passport", PDF)
    assert r.status_code == 422 and "registration_form" in r.json()["detail"]
    r = api.post(f"/api/v1/cases/{code}/documents", headers=bearer(world.tokens["producer1"]),
                 data={"kind": "other"})
    assert r.status_code == 422 and r.headers["content-type"].startswith(PROBLEM)
    assert stored_files(world.app) == []


def test_the_larger_body_limit_is_for_uploads_only(api: TestClient, world: World) -> None:
    """A 200 KB body is refused (413) on an event, and taken as a document upload."""
    code = world.register()
    padded = b"%PDF-1.4\n" + b"0" * (200 * 1024) + b"\n%%EOF\n"
    event = api.post(f"/api/v1/cases/{code}/events", headers={
        **bearer(world.tokens["producer1"]), "content-type": "application/json"},
        content=b'{"trigger": "submit", "reason": "' + b"x" * (200 * 1024) + b'"}')
    assert event.status_code == 413
    assert post(api, world, code, "other", padded).status_code == 201


def test_scope_over_the_api(api: TestClient, world: World) -> None:
    """Another producer: 404 as for a missing case; an officer of another commune: 403."""
    code = world.register()
    assert post(api, world, code, "registration_form", PDF).status_code == 201
    for path in ("", "/registration_form"):
        url = f"/api/v1/cases/{code}/documents{path}"
        assert api.get(url, headers=bearer(world.tokens["producer2"])).status_code == 404
        assert api.get(url, headers=bearer(world.tokens["commune2"])).status_code == 403
        assert api.get(url).status_code == 401
    assert post(api, world, code, "other", PDF, who="producer2").status_code == 404
    assert post(api, world, code, "other", PDF, who="commune2").status_code == 403
    assert api.get(f"/api/v1/cases/{code}/documents/business_plan",
                   headers=bearer(world.tokens["producer1"])).status_code == 404


def test_a_changed_file_is_409(api: TestClient, world: World) -> None:
    code = world.register()
    row = post(api, world, code, "registration_form", PDF).json()
    path = Path(world.app.settings.documents_dir) / row["sha256"][:2] / row["sha256"]
    path.write_bytes(PDF + b"%")
    r = api.get(f"/api/v1/cases/{code}/documents/registration_form",
                headers=bearer(world.tokens["producer1"]))
    assert r.status_code == 409 and "SHA-256" in r.json()["detail"]


def form_value(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"no {name} in the page"
    return found.group(1)


def test_the_console_panel_upload_and_download(api: TestClient, world: World) -> None:
    """The producer's case page lists every kind of 1489 in Vietnamese, the required ones
    marked, with the upload form; an upload redirects back with the banner and the kind's
    row links its download; a bad file shows the case page with the sentence."""
    code = world.register()
    assert post_sign_in(api, "producer1", world.tokens["producer1"]).status_code == 303
    page = api.get(f"/console/cases/{code}").text
    assert 'data-testid="documents"' in page and 'data-testid="upload-form"' in page
    assert page.count('data-testid="required"') == 4
    assert "Câu chuyện sản phẩm" in page and 'data-kind="food_safety" data-uploaded="no"' in page
    csrf = form_value(page, "csrf")
    sent = api.post(f"/console/cases/{code}/documents", data={"kind": "product_story",
                    "csrf": csrf}, files={"file": ("Câu chuyện.pdf", PDF, "application/pdf")})
    assert sent.status_code == 303
    assert sent.headers["location"] == (f"/console/cases/{code}"
                                        "?uploaded=product_story&version=1")
    back = api.get(sent.headers["location"]).text
    assert 'data-testid="done"' in back and "Đã tải lên: Câu chuyện sản phẩm" in back
    assert 'data-kind="product_story" data-uploaded="yes" data-version="1"' in back
    link = re.search(r'href="(/console/cases/[^"]+/documents/product_story\?version=1)"', back)
    assert link
    got = api.get(link.group(1).replace("&amp;", "&"))
    assert (got.status_code, got.content) == (200, PDF)
    bad = api.post(f"/console/cases/{code}/documents", data={"kind": "other", "csrf": csrf},
                   files={"file": ("x.gif", GIF, "image/gif")})
    assert bad.status_code == 422 and 'data-testid="error"' in bad.text
    assert "image/gif" in bad.text and len(stored_files(world.app)) == 1
    forged = api.post(f"/console/cases/{code}/documents", data={"kind": "other", "csrf": "x"},
                      files={"file": ("a.pdf", PDF, "application/pdf")})
    assert forged.status_code == 422 and len(stored_files(world.app)) == 1


def test_the_console_hides_the_form_from_who_may_not_upload(api: TestClient,
                                                            world: World) -> None:
    """The supervisor reads the panel but gets no form; another producer's download is the
    missing-case page."""
    code = world.register()
    post(api, world, code, "registration_form", PDF)
    post_sign_in(api, "supervisor", world.tokens["supervisor"])
    page = api.get(f"/console/cases/{code}").text
    assert 'data-testid="documents"' in page and 'data-testid="upload-form"' not in page
    assert 'data-kind="registration_form" data-uploaded="yes"' in page
    api.cookies.clear()
    post_sign_in(api, "producer2", world.tokens["producer2"])
    assert api.get(f"/console/cases/{code}/documents/registration_form").status_code == 404
