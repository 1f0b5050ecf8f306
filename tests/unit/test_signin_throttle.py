"""Sign-in throttling: failed sign-ins are counted per account name and per client address;
past the limit a sign-in is refused with 429, ``Retry-After`` and a sentence saying how long to
wait, even with the right token. Only failures count; ``X-Forwarded-For`` is not believed;
every failure is logged without the token and counted in /metrics."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack

import pytest
from fastapi import FastAPI

from tests.api_support import TestClient
from tests.support import World
from tests.unit.console_support import post_sign_in
from workflow.web.api.config import ApiConfig
from workflow.web.app import create_app
from workflow.web.console.routes import SESSION


@pytest.fixture
def web(world: World) -> FastAPI:
    """One app (one throttle) that browsers at several addresses talk to."""
    return create_app(world.app, ApiConfig())


@pytest.fixture
def browsers(web: FastAPI) -> Iterator[dict[str, TestClient]]:
    """A browser at each of three addresses, all on the same app."""
    with ExitStack() as stack:
        yield {host: stack.enter_context(TestClient(web, client=(host, 40000),
                                                    follow_redirects=False))
               for host in ("10.0.0.1", "10.0.0.2", "10.0.0.3")}


def attempt(browser: TestClient, name: str, token: str, lang: str = "vi") -> int:
    r = post_sign_in(browser, name, token, lang=lang)
    return int(r.status_code)


def failures(browser: TestClient) -> dict[str, float]:
    text = browser.get("/metrics").text
    return {m.group(1): float(m.group(2)) for m in re.finditer(
        r'^ocop_signin_failures_total\{reason="(\w+)"\} (\S+)$', text, re.MULTILINE)}


def test_the_sixth_sign_in_after_five_failures_is_refused_even_with_the_right_token(
        browsers: dict[str, TestClient], world: World) -> None:
    """Five wrong tokens for commune1: each is 401; the sixth attempt, with the right token,
    is 429 with Retry-After (at most the 15-minute window) and a sentence that says to wait;
    no session is opened."""
    browser = browsers["10.0.0.1"]
    assert [attempt(browser, "commune1", f"wrong-{i}") for i in range(5)] == [401] * 5
    r = post_sign_in(browser, "commune1", world.tokens["commune1"], lang="en")
    assert r.status_code == 429 and SESSION not in r.cookies
    assert 0 < int(r.headers["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins" in r.text and "wait 15 min" in r.text
    vi = post_sign_in(browser, "commune1", world.tokens["commune1"], lang="vi")
    assert vi.status_code == 429 and "hãy chờ 15 phút" in vi.text


def test_the_account_is_throttled_from_every_address_and_other_accounts_are_not(
        browsers: dict[str, TestClient], world: World) -> None:
    """The account's count follows it to another address (and ignores case in the name);
    another account, from another address, signs in."""
    for i in range(5):
        assert attempt(browsers["10.0.0.1"], "Commune1" if i % 2 else "commune1", "x") == 401
    assert attempt(browsers["10.0.0.2"], "commune1", world.tokens["commune1"]) == 429
    assert attempt(browsers["10.0.0.2"], "commune2", world.tokens["commune2"]) == 303


def test_successes_do_not_count(browsers: dict[str, TestClient], world: World) -> None:
    browser = browsers["10.0.0.1"]
    for _ in range(8):
        assert attempt(browser, "city", world.tokens["city"]) == 303
    assert attempt(browser, "city", "wrong") == 401


def test_an_address_is_throttled_after_twenty_failures_whatever_the_names(
        browsers: dict[str, TestClient], world: World) -> None:
    """Twenty failures from one address, four each on five names: the next attempt from that
    address is refused even for a sixth account with its right token; another address is not,
    and a forged X-Forwarded-For does not move the first one elsewhere."""
    first = browsers["10.0.0.1"]
    for i in range(20):
        assert attempt(first, f"guess{i % 5}", "wrong") == 401
    assert attempt(first, "supervisor", world.tokens["supervisor"]) == 429
    forged = post_sign_in(first, "supervisor", world.tokens["supervisor"],
                          headers={"X-Forwarded-For": "203.0.113.9"})
    assert forged.status_code == 429
    assert attempt(browsers["10.0.0.3"], "supervisor", world.tokens["supervisor"]) == 303


def test_the_limits_are_settings(world: World) -> None:
    config = ApiConfig.from_env({"OCOP_SIGNIN_PER_ACCOUNT": "2", "OCOP_SIGNIN_PER_ADDRESS": "3",
                                 "OCOP_SIGNIN_WINDOW_MINUTES": "1"})
    assert (config.signin_per_account, config.signin_per_address,
            config.signin_window_minutes, config.ratelimit_url) == (2, 3, 1, "memory://")
    with TestClient(create_app(world.app, config), follow_redirects=False) as browser:
        assert [attempt(browser, "ip", "x") for _ in range(3)] == [401, 401, 429]
        r = post_sign_in(browser, "ip", world.tokens["ip"])
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 60
        assert attempt(browser, "city", "x") == 401  # the third failure of the address
        assert attempt(browser, "city", world.tokens["city"]) == 429


def test_failures_are_counted_by_reason_and_logged_without_the_token(
        browsers: dict[str, TestClient], world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """/metrics counts each refused sign-in by reason; the log names the account, the address
    and the reason, never the token typed."""
    browser = browsers["10.0.0.1"]
    assert failures(browser) == {"unknown": 0, "disabled": 0, "expired": 0, "missing": 0,
                                 "throttled": 0, "cross_site": 0, "unavailable": 0}
    secret_guess = "guess-4f1c2a9d7e"
    for _ in range(5):
        attempt(browser, "producer1", secret_guess)
    attempt(browser, "producer1", world.tokens["producer1"])
    assert post_sign_in(browser, "", "x").status_code == 422
    post_sign_in(browser, "producer1", secret_guess, headers={"Origin": "https://evil.example"})
    counted = failures(browser)
    assert (counted["unknown"], counted["throttled"], counted["missing"],
            counted["cross_site"]) == (5, 1, 1, 1)
    out = capsys.readouterr()
    logged = out.out + out.err
    assert logged.count("console_signin_refused") == 7
    assert "producer1" in logged and "10.0.0.1" in logged and "throttled" in logged
    assert secret_guess not in logged and world.tokens["producer1"] not in logged


def test_without_its_store_of_counts_sign_in_is_refused_not_left_unthrottled(
        world: World) -> None:
    """OCOP_RATELIMIT_URL names a Redis that does not answer: sign-in is refused with 503, a
    sentence saying to try again later and Retry-After, and counted; the API, which needs no
    counts, still answers its token."""
    config = ApiConfig(ratelimit_url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with TestClient(create_app(world.app, config), follow_redirects=False) as browser:
        r = post_sign_in(browser, "city", world.tokens["city"], lang="en")
        assert r.status_code == 503 and SESSION not in r.cookies
        assert int(r.headers["Retry-After"]) > 0 and "Try again in a minute" in r.text
        assert failures(browser)["unavailable"] == 1
        assert browser.get("/api/v1/cases", headers={
            "Authorization": f"Bearer {world.tokens['city']}"}).status_code == 200
