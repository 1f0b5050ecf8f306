"""Web hardening: security headers on every answer, a CSP the console's pages keep (no inline
script or style), 413 for any body over the limit, links never built from the Host header,
and the same 404 to a producer for another's case as for a missing one."""

from __future__ import annotations

from collections.abc import Iterator
from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy import select

from tests.api_support import TestClient, bearer, client, served
from tests.support import DOCS, World
from tests.unit.console_support import post_sign_in
from workflow.store.queries import case_view
from workflow.store.schema import cases
from workflow.web.security import CSP, DOCS_CSP

EVIL = "evil.example"


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def sign_in(api: TestClient, world: World, who: str) -> None:
    api.cookies.clear()
    signed = post_sign_in(api, who, world.tokens[who])
    assert signed.status_code == 303, signed.text


def status_link(world: World, code: str) -> str:
    with world.app.db.connect() as conn:
        token = conn.execute(select(cases.c.status_token).where(cases.c.code == code)
                             ).scalar_one()
    return f"/status/{code}?t={token}"


def certified(world: World) -> tuple[str, str]:
    """A 1489 case of producer1 certified by the city; its code and certificate number."""
    from tests.unit.test_api_authz_matrix import PATHS

    code = world.register()
    for trigger, who, data, reason in PATHS["certified"]:
        world.fire(code, trigger, who, data, reason)
    with world.app.db.connect() as conn:
        view = case_view(conn, code)
    assert view["state"] == "certified", view["state"]
    return code, view["certificate"]["number"]


class Inline(HTMLParser):
    """What a strict CSP would block: inline scripts, event-handler and style attributes,
    style blocks, ``javascript:`` links; and every link and resource address."""

    def __init__(self) -> None:
        super().__init__()
        self.blocked: list[str] = []
        self.addresses: list[str] = []
        self.scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        given = dict(attrs)
        if tag == "script":
            self.scripts += 1
            self._in_script = "src" not in given
            if self._in_script:
                self.blocked.append("<script> without src")
        if tag == "style":
            self.blocked.append("<style>")
        for name, value in attrs:
            if name.startswith("on"):
                self.blocked.append(f"{tag} {name}=")
            if name == "style":
                self.blocked.append(f"{tag} style=")
            if name in ("href", "src", "action", "formaction", "data-copy") and value:
                self.addresses.append(value)
                if value.strip().lower().startswith("javascript:"):
                    self.blocked.append(f"{tag} {name}=javascript:")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


def inline_parts(html: str) -> Inline:
    found = Inline()
    found.feed(html)
    return found


def assert_hardened(response: httpx.Response, referrer: str = "same-origin") -> None:
    assert response.headers["content-security-policy"] == CSP
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == referrer


def test_the_csp_forbids_inline_script_framing_and_foreign_bases() -> None:
    parts = dict(p.strip().split(" ", 1) for p in CSP.split(";"))
    assert parts["script-src"] == "'self'" and parts["style-src"] == "'self'"
    assert parts["frame-ancestors"] == "'none'" and parts["base-uri"] == "'none'"
    assert "unsafe-inline" not in CSP and "unsafe-eval" not in CSP


def test_api_answers_errors_and_static_files_carry_the_headers(
        api: TestClient, world: World) -> None:
    code = world.register()
    for response in (api.get(f"/api/v1/cases/{code}", headers=bearer(world.tokens["city"])),
                     api.get("/api/v1/cases/NOPE", headers=bearer(world.tokens["city"])),
                     api.get("/api/v1/cases"),  # 401
                     api.get("/no/such/route"),
                     api.get("/healthz"),
                     api.get("/static/console.js"),
                     api.get("/openapi.json")):
        assert_hardened(response)
    assert api.get(f"/api/v1/cases/{code}", headers=bearer(world.tokens["city"])
                   ).status_code == 200


def test_docs_have_their_own_policy_and_are_still_not_framed(api: TestClient) -> None:
    docs = api.get("/docs")
    assert docs.status_code == 200
    assert docs.headers["content-security-policy"] == DOCS_CSP
    assert docs.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in DOCS_CSP


def test_the_status_page_sends_no_referrer_since_its_address_is_its_secret(
        api: TestClient, world: World) -> None:
    code = world.register()
    page = api.get(status_link(world, code))
    assert page.status_code == 200
    assert_hardened(page, referrer="no-referrer")
    wrong = api.get(f"/status/{code}?t=wrong")
    assert wrong.status_code == 404
    assert_hardened(wrong, referrer="no-referrer")


def test_main_console_and_public_pages_have_no_inline_script_or_style(
        api: TestClient, world: World) -> None:
    """Sign-in, inbox, case (with its drawing), audit, status and verify pages: every script
    is a file, no style block or attribute, no handler attribute; the headers are there."""
    code, number = certified(world)
    draft = world.register()
    pages = {"sign-in": api.get("/console/sign-in"),
             "status": api.get(status_link(world, code)),
             "verify": api.get(f"/verify/{number}")}
    sign_in(api, world, "supervisor")
    pages |= {"inbox": api.get("/console/inbox"),
              "case": api.get(f"/console/cases/{code}"),
              "draft case": api.get(f"/console/cases/{draft}"),
              "audit": api.get("/console/audit")}
    sign_in(api, world, "producer1")
    pages["producer's case"] = api.get(f"/console/cases/{draft}")
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert_hardened(page, "no-referrer" if name == "status" else "same-origin")
        found = inline_parts(page.text)
        assert found.blocked == [], (name, found.blocked)
        assert found.scripts >= 1, name  # console.js is there, as a file
    assert "<svg" in pages["case"].text and "/console/diagram.css" in pages["case"].text


def test_the_case_drawings_rules_are_a_stylesheet_of_the_site(api: TestClient) -> None:
    css = api.get("/console/diagram.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "g.node.current path" in css.text and "<style" not in css.text


def test_the_parser_would_catch_what_the_csp_blocks() -> None:
    found = inline_parts('<script>alert(1)</script><p style="x" onclick="y">'
                         '<a href="javascript:z">a</a><style>p{}</style>')
    assert len(found.blocked) == 5


def test_a_chunked_body_over_the_limit_is_413_not_400(world: World) -> None:
    """A real server, a body with no length sent in chunks past the limit (64 KiB): 413 with a
    problem document; the same with a declared length; the case is unchanged."""
    code = world.register()
    with world.app.db.connect() as conn:
        before = case_view(conn, code)

    def chunks() -> Iterator[bytes]:
        yield b'{"trigger": "submit", "data": {"documents": ["'
        for _ in range(40):
            yield b"x" * 4096
        yield b'"]}}'

    with served(world.app) as base:
        url = f"{base}/api/v1/cases/{code}/events"
        auth = {**bearer(world.tokens["producer1"]), "Content-Type": "application/json"}
        streamed = httpx.post(url, content=chunks(), headers=auth, timeout=10)
        declared = httpx.post(url, content=b"".join(chunks()), headers=auth, timeout=10)
        form = httpx.post(f"{base}/console/cases/{code}/events", content=chunks(),
                          headers={"Content-Type": "application/x-www-form-urlencoded"},
                          timeout=10)
        small = httpx.post(url, content=iter([b'{"trigger": "submit", ',
                                              b'"data": {"documents": []}}']),
                           headers=auth, timeout=10)
    assert "content-length" not in streamed.request.headers
    for response in (streamed, declared, form):
        assert response.status_code == 413, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "body_too_large"
        assert_hardened(response)
    assert small.status_code != 413  # a small chunked body is read as usual
    with world.app.db.connect() as conn:
        assert case_view(conn, code)["version"] == before["version"] + (
            1 if small.status_code == 200 else 0)


def test_a_forged_host_appears_in_no_link_of_the_case_and_status_pages(
        api: TestClient, world: World) -> None:
    code, number = certified(world)
    forged = {"Host": EVIL, "X-Forwarded-Host": EVIL}
    pages = [api.get(status_link(world, code), headers=forged),
             api.get(f"/verify/{number}", headers=forged),
             api.get(f"/verify/{number}/qr.svg", headers=forged)]
    sign_in(api, world, "supervisor")
    pages += [api.get(f"/console/cases/{code}?lang=en", headers=forged),
              api.get("/console/inbox?lang=en&page=1", headers=forged),
              api.get(f"/api/v1/cases/{code}", headers={**forged,
                                                       **bearer(world.tokens["city"])}),
              api.get("/api/v1/cases/", headers=forged)]  # no slash redirect to the Host
    for page in pages:
        assert EVIL not in page.text, page.url
        assert EVIL not in page.headers.get("location", "")
    case_page = pages[3]
    links = inline_parts(case_page.text).addresses
    public = world.app.settings.public_url.rstrip("/")
    assert f"{public}/status/{code}?t=" in case_page.text  # the status link: the public URL
    assert any(a.startswith(f"{public}/status/") for a in links)
    assert all(a.startswith(("/", "?", "#", public)) for a in links), links


def test_a_producer_gets_the_same_404_for_anothers_case_as_for_a_missing_one(
        api: TestClient, world: World) -> None:
    """API (show, history, allowed, events) and console (page, form post): the answer to
    producer2 about producer1's case is the answer about a code that does not exist."""
    theirs = world.register("producer1")
    world.fire(theirs, "submit", "producer1", DOCS)
    missing = "NOPE-0000"
    me = bearer(world.tokens["producer2"])

    def same(get: object, path: str, **kw: object) -> None:
        assert callable(get)
        a, b = get(path.format(theirs), **kw), get(path.format(missing), **kw)
        assert a.status_code == b.status_code == 404, (path, a.text)
        if a.headers["content-type"].startswith("application/problem+json"):
            x, y = a.json(), b.json()
            for doc, code in ((x, theirs), (y, missing)):
                doc["detail"] = doc["detail"].replace(code, "CODE")
                doc["instance"] = doc.get("instance", "").replace(code, "CODE")
                doc["params"] = {k: str(v).replace(code, "CODE")
                                 for k, v in doc["params"].items()}
            assert x == y
        else:
            assert a.text.replace(theirs, "CODE") == b.text.replace(missing, "CODE")

    for path in ("/api/v1/cases/{}", "/api/v1/cases/{}/history", "/api/v1/cases/{}/allowed"):
        same(api.get, path, headers=me)
    same(api.post, "/api/v1/cases/{}/events", headers=me,
         json={"trigger": "withdraw", "data": {}, "reason": "probe"})
    sign_in(api, world, "producer2")
    same(api.get, "/console/cases/{}")
    same(api.post, "/console/cases/{}/events", data={"trigger": "withdraw", "csrf": "x"})
    # staff out of scope still learn why: 403
    assert api.get(f"/api/v1/cases/{theirs}", headers=bearer(world.tokens["commune2"])
                   ).status_code == 403
    with world.app.db.connect() as conn:
        assert case_view(conn, theirs)["state"] == "registered"
