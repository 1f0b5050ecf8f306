"""Token changes take effect at once in every API process: two real ``ocop serve`` processes
on one PostgreSQL database, sharing a simulated clock file. A token works on both; disabled
through one, it is refused by both on the very next request; enabled, it works again;
rotated, the old token is refused and the new one accepted by both; past its expiry, both
refuse it; deleted, both refuse it. Nothing is cached in a process."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from tests.integration.workers import free_port, stop, wait_until
from tests.support import START, World, make_app
from workflow import accounts
from workflow.clock import FixedClock
from workflow.simclock import FileClock
from workflow.store.db import write_transaction

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(300)]

OCOP = str(Path(sys.executable).with_name("ocop"))


@contextlib.contextmanager
def serving(url: str, home: Path, clock_file: Path) -> Iterator[str]:
    """``ocop serve`` in a process of its own on a free port; its base URL. Stopped (SIGTERM,
    then SIGKILL if it lingers) at the end."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=url, OCOP_HOME=str(home), OCOP_SIMULATION="1",
               OCOP_NOW=f"@{clock_file}", OCOP_LANG="en")
    log = (home / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen([OCOP, "serve", "--port", str(port)], env=env, cwd=home,
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(base, proc, home / f"serve-{port}.log"), 60,
                   f"ocop serve on port {port}")
        yield base
    finally:
        stop(proc)
        log.close()


def _answers(base: str, proc: subprocess.Popen[bytes], log: Path) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"ocop serve exited {proc.returncode}:\n{log.read_text()[-3000:]}")
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def two_servers(pg_url: str, tmp_path: Path) -> Iterator[tuple[World, FileClock, list[str]]]:
    """The world on a fresh PostgreSQL database, its clock file at the world's start, and two
    API processes serving it."""
    clock_file = tmp_path / "now.txt"
    shared = FileClock(clock_file)
    shared.set(START)
    app = make_app(pg_url, FixedClock(START))
    try:
        world = World(app)
        with serving(pg_url, tmp_path, clock_file) as one, \
                serving(pg_url, tmp_path, clock_file) as two:
            yield world, shared, [one, two]
    finally:
        app.close()


def statuses(bases: list[str], token: str) -> list[tuple[int, str | None]]:
    """Each process's answer to ``GET /api/v1/cases`` with ``token``: status and error code."""
    out = []
    for base in bases:
        r = httpx.get(f"{base}/api/v1/cases", headers={"Authorization": f"Bearer {token}"},
                      timeout=10)
        out.append((r.status_code, r.json().get("code") if r.status_code != 200 else None))
    return out


def admin_post(base: str, world: World, path: str) -> httpx.Response:
    r = httpx.post(f"{base}/api/v1/users/{path}", timeout=10,
                   headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert r.status_code == 200, r.text
    return r


def test_disable_enable_and_rotate_take_effect_at_once_in_both_processes(
        two_servers: tuple[World, FileClock, list[str]]) -> None:
    """Disabled through the first process: both refuse (disabled); enabled through the
    second: both accept; rotated through the first: both refuse the old token (unknown) and
    accept the new one; deleted: both refuse it."""
    world, _, bases = two_servers
    token = world.tokens["city"]
    assert statuses(bases, token) == [(200, None)] * 2
    admin_post(bases[0], world, "city/disable")
    assert statuses(bases, token) == [(401, "token_account_disabled")] * 2
    admin_post(bases[1], world, "city/enable")
    assert statuses(bases, token) == [(200, None)] * 2
    new = admin_post(bases[0], world, "city/rotate-token").json()["token"]
    assert statuses(bases, token) == [(401, "token_unknown")] * 2
    assert statuses(bases, new) == [(200, None)] * 2
    gone = httpx.delete(f"{bases[1]}/api/v1/users/city", timeout=10,
                        headers={"Authorization": f"Bearer {world.tokens['admin']}"})
    assert gone.status_code == 204
    assert statuses(bases, new) == [(401, "token_unknown")] * 2


def test_an_expired_token_is_refused_by_both_processes_at_its_expiry(
        two_servers: tuple[World, FileClock, list[str]]) -> None:
    """A token issued for one day works on both until the shared clock reaches its expiry,
    then neither accepts it, saying it expired; a rotated one works again."""
    world, clock, bases = two_servers
    with write_transaction(world.app.db) as conn:
        issued = accounts.add(conn, START, accounts.OPERATOR, "brief", "ip_officer",
                              token_days=1)
    clock.set(START + timedelta(days=1, seconds=-1))
    assert statuses(bases, issued.token) == [(200, None)] * 2
    clock.set(START + timedelta(days=1))
    assert statuses(bases, issued.token) == [(401, "token_expired")] * 2
    new = admin_post(bases[1], world, "brief/rotate-token").json()["token"]
    assert statuses(bases, new) == [(200, None)] * 2
