"""Console sessions: signing in opens a session on the server, apart from the API token; its
cookie is HttpOnly and SameSite=Strict (Secure over https), sign-out ends it for good, it ends
after the idle and the absolute timeouts on the app's clock, and at once when its user is
disabled, deleted or has every session ended; forms posted from another site are refused."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from tests.api_support import TestClient, bearer, client
from tests.support import World, make_app
from tests.unit.console_support import post_sign_in, post_sign_out
from workflow.store import sessions
from workflow.store.db import write_transaction
from workflow.store.schema import sessions as session_rows
from workflow.store.schema import users
from workflow.web.api.config import ApiConfig
from workflow.web.console.routes import SESSION


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def sign_in(api: TestClient, world: World, who: str) -> str:
    """Sign ``who`` in; the session's secret from the cookie."""
    r = post_sign_in(api, who, world.tokens[who])
    assert r.status_code == 303 and r.headers["location"] == "/console/inbox", r.text
    return str(r.cookies[SESSION])


def signed_in(api: TestClient) -> bool:
    """Whether the console opens the inbox (rather than sending to the sign-in page)."""
    r = api.get("/console/inbox")
    assert r.status_code in (200, 303), r.text
    if r.status_code == 303:
        assert r.headers["location"] == "/console/sign-in"
    return bool(r.status_code == 200)


def cookie_attributes(header: str) -> dict[str, str]:
    parts = [p.strip() for p in header.split(";")]
    return {k.lower(): v for k, _, v in (p.partition("=") for p in parts[1:])}


def user_id(world: World, name: str) -> int:
    with world.app.db.connect() as conn:
        return int(conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one())


def test_signing_in_sets_an_httponly_strict_cookie_that_is_not_the_api_token(
        api: TestClient, world: World) -> None:
    """The cookie holds a fresh secret (not the token; the table keeps only its hash), is
    HttpOnly, SameSite=Strict, Path=/, not Secure over plain http, and lasts the absolute
    timeout; the secret is no bearer token and the API ignores the cookie."""
    r = post_sign_in(api, "commune1", world.tokens["commune1"])
    assert r.status_code == 303
    header = r.headers["set-cookie"]
    assert header.startswith(f"{SESSION}=")
    attributes = cookie_attributes(header)
    assert "httponly" in attributes and attributes["samesite"].lower() == "strict"
    assert attributes["path"] == "/" and "secure" not in attributes
    assert attributes["max-age"] == str(12 * 3600)
    secret = str(r.cookies[SESSION])
    assert secret != world.tokens["commune1"] and len(secret) >= 43
    with world.app.db.connect() as conn:
        rows = conn.execute(select(session_rows)).all()
    assert [row.id for row in rows] == [hashlib.sha256(secret.encode()).hexdigest()]
    assert all(secret not in str(value) for value in rows[0])
    assert signed_in(api)
    assert api.get("/api/v1/cases", headers=bearer(secret)).status_code == 401
    assert api.get("/api/v1/cases").status_code == 401  # the session cookie alone: no
    assert api.get("/api/v1/cases",
                   headers=bearer(world.tokens["commune1"])).status_code == 200


def test_the_api_token_as_the_cookie_signs_no_one_in(api: TestClient, world: World) -> None:
    """The old console kept the token in the cookie: such a cookie is no session now."""
    api.cookies.set(SESSION, world.tokens["commune1"])
    assert not signed_in(api)


def test_sign_out_ends_the_session_so_the_replayed_cookie_is_refused(
        api: TestClient, world: World) -> None:
    """After sign-out the old cookie, sent again, opens no page: the browser is sent to the
    sign-in page and a script gets 401 with a sentence that it must sign in again."""
    secret = sign_in(api, world, "commune1")
    out = post_sign_out(api)
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    assert f'{SESSION}=""' in out.headers["set-cookie"] or "max-age=0" in \
        out.headers["set-cookie"].lower()
    api.cookies.set(SESSION, secret)  # the replay
    assert not signed_in(api)
    fetched = api.get("/console/inbox", headers={"Sec-Fetch-Mode": "cors",
                                                 "Accept": "application/json"})
    assert fetched.status_code == 401
    problem = fetched.json()
    assert problem["code"] == "session_ended" and "đăng nhập lại" in problem["detail"]
    with world.app.db.connect() as conn:
        ended = conn.execute(select(session_rows.c.ended_at)).scalar_one()
    assert ended == world.clock.now()


def test_a_session_ends_after_thirty_idle_minutes_but_not_while_in_use(
        api: TestClient, world: World) -> None:
    """Requests 29 minutes apart keep the session; 30 minutes without one end it."""
    sign_in(api, world, "commune1")
    for _ in range(3):
        world.clock.advance(minutes=29)
        assert signed_in(api)
    world.clock.advance(minutes=30)
    assert not signed_in(api)


def test_last_seen_is_written_at_most_once_a_minute(api: TestClient, world: World) -> None:
    sign_in(api, world, "commune1")
    start = world.clock.now()

    def seen() -> object:
        with world.app.db.connect() as conn:
            return conn.execute(select(session_rows.c.last_seen_at)).scalar_one()

    world.clock.advance(seconds=59)
    assert signed_in(api) and seen() == start
    world.clock.advance(seconds=1)
    assert signed_in(api) and seen() == world.clock.now()


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(
        api: TestClient, world: World) -> None:
    sign_in(api, world, "commune1")
    for _ in range(12 * 3 - 1):
        world.clock.advance(minutes=20)
        assert signed_in(api)
    world.clock.advance(minutes=20)
    assert not signed_in(api)


def test_the_timeouts_are_settings(world: World) -> None:
    """OCOP_SESSION_IDLE_MINUTES and OCOP_SESSION_HOURS, read by ApiConfig."""
    config = ApiConfig.from_env({"OCOP_SESSION_IDLE_MINUTES": "5", "OCOP_SESSION_HOURS": "1"})
    assert (config.session_idle_minutes, config.session_hours) == (5, 1)
    with client(world.app, config) as api:
        r = post_sign_in(api, "city", world.tokens["city"])
        assert cookie_attributes(r.headers["set-cookie"])["max-age"] == "3600"
        world.clock.advance(minutes=4)
        assert signed_in(api)
        world.clock.advance(minutes=5)
        assert not signed_in(api)


def test_a_disabled_users_session_stops_and_they_cannot_sign_in(
        api: TestClient, world: World) -> None:
    sign_in(api, world, "commune1")
    with write_transaction(world.app.db) as conn:
        conn.execute(update(users).where(users.c.name == "commune1")
                     .values(disabled_at=world.clock.now()))
    assert not signed_in(api)
    again = post_sign_in(api, "commune1", world.tokens["commune1"])
    assert again.status_code == 401 and "commune1" in again.text and "đã bị khóa" in again.text
    assert SESSION not in again.cookies


def test_a_deleted_users_session_stops(api: TestClient, world: World) -> None:
    sign_in(api, world, "ip")
    with write_transaction(world.app.db) as conn:
        conn.execute(delete(users).where(users.c.name == "ip"))
    assert not signed_in(api)


def test_ending_a_users_sessions_signs_out_every_browser_of_theirs_only(world: World) -> None:
    """``end_for_user`` (account disabled, deleted or token re-issued) ends all of one user's
    sessions; another user's session goes on."""
    with client(world.app) as one, client(world.app) as two, client(world.app) as other:
        sign_in(one, world, "commune1")
        sign_in(two, world, "commune1")
        sign_in(other, world, "commune2")
        commune1 = user_id(world, "commune1")
        with write_transaction(world.app.db) as conn:
            ended = sessions.end_for_user(conn, commune1, world.clock.now())
        assert ended == 2
        assert not signed_in(one) and not signed_in(two) and signed_in(other)


def test_a_session_ends_when_the_api_token_expires(api: TestClient, world: World) -> None:
    """A token with two hours left gives a session of two hours; an expired token signs no one
    in, with a sentence naming the day it expired."""
    with write_transaction(world.app.db) as conn:
        conn.execute(update(users).where(users.c.name == "city").values(
            token_expires_at=world.clock.now() + timedelta(hours=2)))
    r = post_sign_in(api, "city", world.tokens["city"])
    assert cookie_attributes(r.headers["set-cookie"])["max-age"] == "7200"
    for _ in range(5):
        world.clock.advance(minutes=20)
        assert signed_in(api)
    world.clock.advance(minutes=19)
    assert signed_in(api)
    world.clock.advance(minutes=1)
    assert not signed_in(api)
    late = post_sign_in(api, "city", world.tokens["city"], lang="en")
    assert late.status_code == 401 and "expired on 2025-09-01" in late.text


def test_the_cookie_is_secure_when_the_public_url_is_https() -> None:
    app = make_app("sqlite://", public_url="https://ocop.hanoi.gov.vn")
    try:
        world = World(app)
        with client(app) as api:
            api.base_url = "https://testserver"  # a browser sends Secure cookies over https only
            r = post_sign_in(api, "city", world.tokens["city"])
            assert "secure" in cookie_attributes(r.headers["set-cookie"])
            out = post_sign_out(api)
            assert "secure" in cookie_attributes(out.headers["set-cookie"])
    finally:
        app.close()


def test_ocop_secure_cookies_makes_it_secure_over_http(world: World) -> None:
    config = ApiConfig.from_env({"OCOP_SECURE_COOKIES": "1"})
    with client(world.app, config) as api:
        api.base_url = "https://testserver"  # a browser sends Secure cookies over https only
        r = post_sign_in(api, "city", world.tokens["city"])
        assert "secure" in cookie_attributes(r.headers["set-cookie"])


def test_a_sign_in_or_out_posted_from_another_site_is_refused(
        api: TestClient, world: World) -> None:
    """An Origin that is not the console's own: 403 with a sentence naming it; no session is
    opened, and a cross-site sign-out does not end the session. The own origin is fine."""
    evil = {"Origin": "https://evil.example"}
    r = post_sign_in(api, "city", world.tokens["city"], headers=evil)
    assert r.status_code == 403 and "https://evil.example" in r.text
    assert SESSION not in r.cookies
    with world.app.db.connect() as conn:
        assert conn.execute(select(session_rows)).first() is None
    mine = post_sign_in(api, "city", world.tokens["city"], headers={"Origin": "http://testserver"})
    assert mine.status_code == 303
    out = post_sign_out(api, headers=evil)
    assert out.status_code == 403 and signed_in(api)
    no_origin = post_sign_out(api, headers={"Sec-Fetch-Site": "cross-site"})
    assert no_origin.status_code == 403 and signed_in(api)
    assert post_sign_out(api).status_code == 303 and not signed_in(api)


def test_the_case_form_key_comes_from_the_session(api: TestClient, world: World) -> None:
    """The forms' CSRF value is derived from the session's secret: a new session, a new one."""
    code = world.register()
    sign_in(api, world, "commune1")
    first = api.get(f"/console/cases/{code}").text
    post_sign_out(api)
    sign_in(api, world, "commune1")
    second = api.get(f"/console/cases/{code}").text

    def csrf(page: str) -> str:
        return page.split('name="csrf" value="')[1].split('"')[0]

    assert csrf(first) != csrf(second)
