"""CSRF on the console's sign-in and sign-out (issue 10, web hardening).

Sign-in is a signed-out form, so it has no session to bind a value to: the sign-in page sets a
short-lived random ``ocop_csrf`` cookie (HttpOnly, SameSite=Strict, Secure when asked) and puts
a value bound to it by an HMAC in the form; the post must bring both, matching. Sign-out
carries the session's own anti-forgery value, like every other console form. Without them:
403 with a sentence telling the person what to reload, and nothing done — no session opened,
none ended, no failed attempt counted. The Origin check stays in front of both."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import func, select

from tests.api_support import TestClient, client
from tests.support import World
from tests.unit.console_support import post_sign_in, post_sign_out, sign_in_form
from workflow.store.schema import sessions as session_rows
from workflow.web.api.config import ApiConfig
from workflow.web.console.routes import (
    SESSION,
    SIGNIN_CSRF,
    SIGNIN_CSRF_MINUTES,
    csrf_for,
    signin_form_value,
)

RELOAD_VI = "hãy tải lại trang đăng nhập"
RELOAD_EN = "reload the sign-in page"


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def live_sessions(world: World) -> int:
    with world.app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(session_rows)
                                .where(session_rows.c.ended_at.is_(None))).scalar_one())


def signin_failures(api: TestClient) -> dict[str, float]:
    text = api.get("/metrics").text
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^ocop_signin_failures_total\{reason="(\w+)"\} (\S+)$', text, re.MULTILINE)}


def cookie_header(response: httpx.Response, name: str) -> dict[str, str]:
    """The attributes of the Set-Cookie header for ``name`` (lower-case keys)."""
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            parts = [p.strip() for p in header.split(";")]
            attributes = {k.lower(): v for k, _, v in (p.partition("=") for p in parts[1:])}
            return {"value": parts[0].partition("=")[2], **attributes}
    raise AssertionError(f"no {name} cookie set")


def refused_unchanged(api: TestClient, world: World, response: httpx.Response, sentence: str,
                      sessions_before: int) -> None:
    assert response.status_code == 403, response.text
    assert sentence in response.text
    assert SESSION not in response.cookies
    assert live_sessions(world) == sessions_before


def test_the_sign_in_page_sets_a_short_lived_strict_cookie_and_an_hmac_bound_form_value(
        api: TestClient, world: World) -> None:
    """The cookie is random per page, HttpOnly, SameSite=Strict, scoped to the sign-in
    address and lasts an hour; the form's value is its HMAC under the server's key, not the
    cookie itself."""
    first, second = api.get("/console/sign-in"), api.get("/console/sign-in")
    cookie = cookie_header(first, SIGNIN_CSRF)
    assert "httponly" in cookie and cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/console/sign-in"
    assert cookie["max-age"] == str(SIGNIN_CSRF_MINUTES * 60) and "secure" not in cookie
    nonce = cookie["value"].strip('"')
    assert nonce != cookie_header(second, SIGNIN_CSRF)["value"].strip('"')
    value = re.search(r'name="csrf" value="([0-9a-f]+)"', first.text)
    key = world.app.keys.derived(b"ocop-console-sign-in")
    assert value and value.group(1) == signin_form_value(nonce, key) and value.group(1) != nonce


def test_the_sign_in_cookie_is_secure_when_asked(world: World) -> None:
    with client(world.app, ApiConfig.from_env({"OCOP_SECURE_COOKIES": "1"})) as api:
        assert "secure" in cookie_header(api.get("/console/sign-in"), SIGNIN_CSRF)


def test_a_sign_in_without_the_form_value_is_refused_and_nothing_happens(
        api: TestClient, world: World) -> None:
    """The right name and token, posted without the form's value (a forged form on another
    site, or a script): 403 with a sentence to reload the sign-in page, in Vietnamese and in
    English; no session, and the attempt is not counted against the account."""
    before = live_sessions(world)
    sign_in_form(api)  # the cookie alone is not enough
    bare = api.post("/console/sign-in", data={"name": "city", "token": world.tokens["city"]})
    refused_unchanged(api, world, bare, RELOAD_VI, before)
    english = api.post("/console/sign-in?lang=en",
                       data={"name": "city", "token": world.tokens["city"], "csrf": ""})
    refused_unchanged(api, world, english, RELOAD_EN, before)
    assert signin_failures(api)["unknown"] == 0
    assert post_sign_in(api, "city", world.tokens["city"]).status_code == 303


def test_a_form_value_without_its_cookie_or_from_another_page_is_refused(
        world: World) -> None:
    """An attacker's own pair does not work for a victim's browser: the value of one page with
    another browser's cookie, a value with no cookie, and the cookie itself as the value."""
    with client(world.app) as attacker, client(world.app) as victim:
        before = live_sessions(world)
        stolen = sign_in_form(attacker)
        form = {"name": "city", "token": world.tokens["city"], "csrf": stolen}
        refused_unchanged(victim, world, victim.post("/console/sign-in", data=form),
                          RELOAD_VI, before)
        sign_in_form(victim)
        refused_unchanged(victim, world, victim.post("/console/sign-in", data=form),
                          RELOAD_VI, before)
        nonce = str(victim.cookies[SIGNIN_CSRF])
        naive = {**form, "csrf": nonce}
        refused_unchanged(victim, world, victim.post("/console/sign-in", data=naive),
                          RELOAD_VI, before)
        # a pair made up without the server's key, as a cookie-planting sibling site would
        fresh = f"{int(world.clock.now().timestamp())}.forged"
        forged_cookie = {**form, "csrf": signin_form_value(fresh, b"not the server's key")}
        victim.cookies.set(SIGNIN_CSRF, fresh, path="/console/sign-in")
        refused_unchanged(victim, world, victim.post("/console/sign-in", data=forged_cookie),
                          RELOAD_VI, before)
        forged_cookie = {**form, "csrf": signin_form_value("1.forged", b"x")}
        victim.cookies.set(SIGNIN_CSRF, "1.forged", path="/console/sign-in")
        refused_unchanged(victim, world, victim.post("/console/sign-in", data=forged_cookie),
                          RELOAD_VI, before)


def test_a_sign_in_page_left_open_too_long_must_be_reloaded(api: TestClient,
                                                            world: World) -> None:
    value = sign_in_form(api)
    world.clock.advance(minutes=SIGNIN_CSRF_MINUTES + 1)
    before = live_sessions(world)
    late = api.post("/console/sign-in?lang=en",
                    data={"name": "city", "token": world.tokens["city"], "csrf": value})
    refused_unchanged(api, world, late, RELOAD_EN, before)
    assert post_sign_in(api, "city", world.tokens["city"]).status_code == 303


def test_a_refused_sign_in_page_comes_with_a_fresh_pair(api: TestClient,
                                                        world: World) -> None:
    """After a wrong token the page shown again can be posted as it is."""
    wrong = post_sign_in(api, "city", "nope")
    assert wrong.status_code == 401
    value = re.search(r'name="csrf" value="([0-9a-f]+)"', wrong.text)
    assert value and value.group(1) == signin_form_value(
        cookie_header(wrong, SIGNIN_CSRF)["value"].strip('"'),
        world.app.keys.derived(b"ocop-console-sign-in"))
    again = api.post("/console/sign-in", data={"name": "city", "token": world.tokens["city"],
                                               "csrf": value.group(1)})
    assert again.status_code == 303


def test_the_origin_check_still_comes_first(api: TestClient, world: World) -> None:
    before = live_sessions(world)
    value = sign_in_form(api)
    evil = api.post("/console/sign-in", headers={"Origin": "https://evil.example"},
                    data={"name": "city", "token": world.tokens["city"], "csrf": value})
    refused_unchanged(api, world, evil, "https://evil.example", before)


def test_sign_out_needs_the_sessions_form_value(api: TestClient, world: World) -> None:
    """Every signed-in page's sign-out form carries the session's value; a sign-out without it
    or with another is refused (403, a sentence to reload the page) and the session goes on."""
    assert post_sign_in(api, "commune1", world.tokens["commune1"]).status_code == 303
    secret = str(api.cookies[SESSION])
    inbox = api.get("/console/inbox").text
    assert (f'action="/console/sign-out" class="inline"><input type="hidden" name="csrf" '
            f'value="{csrf_for(secret)}">') in inbox
    before = live_sessions(world)
    for form in ({}, {"csrf": ""}, {"csrf": "0" * 32}, {"csrf": csrf_for("another")}):
        refused = api.post("/console/sign-out?lang=en", data=form)
        assert refused.status_code == 403 and "reload the page" in refused.text
        assert live_sessions(world) == before
        assert api.get("/console/inbox").status_code == 200
    vi = api.post("/console/sign-out?lang=vi")
    assert vi.status_code == 403 and "hãy tải lại trang" in vi.text
    assert csrf_for(secret) in vi.text  # the refusal page's own sign-out form works
    out = post_sign_out(api)
    assert out.status_code == 303 and live_sessions(world) == before - 1
    assert api.get("/console/inbox").status_code == 303


def test_signing_out_without_a_session_just_goes_to_the_sign_in_page(api: TestClient) -> None:
    out = api.post("/console/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
