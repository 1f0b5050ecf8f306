"""Two real API processes (``ocop serve``) on one PostgreSQL database, counting sign-in failures
in one real Redis (``OCOP_RATELIMIT_URL``): failures made on either count against the account
on both; and a console session opened on one is a session on the other, until signed out on
either — then its replayed cookie is refused by both."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path

import httpx
import pytest
import redis as redis_client

from tests.integration.workers import Proc, RedisServer, free_port
from tests.support import make_app
from tests.unit.console_support import post_sign_in, post_sign_out
from workflow import registry
from workflow.clock import VIETNAM
from workflow.store.db import write_transaction
from workflow.web.console.routes import SESSION

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]


def serve(name: str, env: dict[str, str], logs: Path) -> tuple[Proc, str]:
    port = free_port()
    proc = Proc(name, [sys.executable, "-m", "workflow", "serve", "--port", str(port)], env, logs)
    proc.start(ready="Application startup complete", timeout=60)
    return proc, f"http://127.0.0.1:{port}"


def test_two_api_processes_share_the_sign_in_count_and_the_sessions(
        tmp_path: Path, pg_url: str, redis: RedisServer) -> None:
    app = make_app(pg_url)
    now = datetime.now(VIETNAM)  # the servers run on the real clock
    with write_transaction(app.db) as conn:
        tokens = {name: registry.add_user(conn, now, name, role)
                  for name, role in (("city", "city_officer"), ("ip", "ip_officer"))}
    app.close()
    ratelimit_url = redis.url.rsplit("/", 1)[0] + "/2"
    env = {**os.environ, "OCOP_DATABASE_URL": pg_url, "OCOP_RATELIMIT_URL": ratelimit_url,
           "OCOP_HOME": str(tmp_path), "OCOP_PUBLIC_URL": "http://127.0.0.1"}
    for name in ("OCOP_SIGNIN_PER_ACCOUNT", "OCOP_SIGNIN_PER_ADDRESS", "OCOP_SESSION_HOURS",
                 "OCOP_SESSION_IDLE_MINUTES"):
        env.pop(name, None)
    procs: list[Proc] = []
    urls: list[str] = []
    try:
        for name in ("api1", "api2"):
            proc, url = serve(name, env, tmp_path)
            procs.append(proc)
            urls.append(url)
        one = httpx.Client(base_url=urls[0], timeout=10)
        two = httpx.Client(base_url=urls[1], timeout=10)
        with one, two:
            def sign_in(browser: httpx.Client, name: str, token: str) -> httpx.Response:
                return post_sign_in(browser, name, token)

            assert [sign_in(one, "city", "wrong").status_code for _ in range(3)] == [401] * 3
            assert [sign_in(two, "city", "wrong").status_code for _ in range(2)] == [401] * 2
            refused = sign_in(two, "city", tokens["city"])
            assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
            assert sign_in(one, "city", tokens["city"]).status_code == 429
            assert redis_client.Redis.from_url(ratelimit_url).keys("LIMITS*")

            signed = sign_in(one, "ip", tokens["ip"])
            assert signed.status_code == 303
            secret = signed.cookies[SESSION]
            two.cookies.set(SESSION, secret)
            assert two.get("/console/inbox").status_code == 200
            assert post_sign_out(two).status_code == 303
            for browser in (one, two):
                browser.cookies.set(SESSION, secret)
                replay = browser.get("/console/inbox")
                assert replay.status_code == 303
                assert replay.headers["location"] == "/console/sign-in"
                fetched = browser.get("/console/inbox", headers={"Sec-Fetch-Mode": "cors"})
                assert fetched.status_code == 401
    finally:
        for proc in procs:
            proc.stop()
