"""``ocop serve --workers 2`` spreads a burst of keep-alive connections over both workers.

With one listening socket shared by the workers, the worker that woke first accepted nearly
the whole burst, and its keep-alive clients stayed on it (``bench.api`` saw 98 % of the
requests on one of two workers). Each worker now listens on its own ``SO_REUSEPORT`` socket.
This starts the real command on PostgreSQL, checks that the two worker processes listen on
two sockets, opens 40 connections at once, and counts each worker process's established
connections on the port."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.integration.workers import free_port, stop, wait_until
from tests.support import make_app

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]

OCOP = str(Path(sys.executable).with_name("ocop"))
CLIENTS = 40


async def _burst(base: str) -> tuple[list[int], list[httpx.AsyncClient]]:
    """``CLIENTS`` connections opened at once, each kept open after its answer."""
    clients = [httpx.AsyncClient(base_url=base, timeout=10) for _ in range(CLIENTS)]
    answers = await asyncio.gather(*(c.get("/healthz") for c in clients))
    return [a.status_code for a in answers], clients


def _listening_inode(process: psutil.Process, port: int) -> str:
    (fd,) = [c.fd for c in process.net_connections("tcp")
             if c.status == psutil.CONN_LISTEN and c.laddr.port == port]
    return os.readlink(f"/proc/{process.pid}/fd/{fd}")  # socket:[inode]


def test_two_workers_each_take_a_share_of_a_burst_of_connections(pg_url: str,
                                                                 tmp_path: Path) -> None:
    make_app(pg_url).close()  # migrated
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=pg_url, OCOP_HOME=str(tmp_path), OCOP_LANG="en")
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([OCOP, "serve", "--port", str(port), "--workers", "2"], env=env,
                            cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
    try:
        wait_until(answers, 60, "ocop serve --workers 2")
        workers = [c for c in psutil.Process(proc.pid).children()
                   if "--multiprocessing-fork" in c.cmdline()]  # not the resource tracker
        assert len(workers) == 2

        async def run() -> dict[int, int]:
            codes, clients = await _burst(base)
            assert codes == [200] * CLIENTS
            try:
                return {w.pid: sum(1 for c in w.net_connections("tcp")
                                   if c.status == psutil.CONN_ESTABLISHED
                                   and c.laddr.port == port) for w in workers}
            finally:
                await asyncio.gather(*(c.aclose() for c in clients))
        # Each worker listens on a socket of its own (with one shared socket, the two
        # processes hold the same one).
        assert len({_listening_inode(w, port) for w in workers}) == 2
        held = asyncio.run(run())
        assert sum(held.values()) == CLIENTS
        # 40 connections hashed over two sockets: fewer than 5 on one has odds of ~2 in 10**7.
        assert min(held.values()) >= 5, held
    finally:
        stop(proc, 20)
        log.close()
