"""The HTTP API under load against the engine called directly, in the same run, on PostgreSQL.

20 concurrent clients (by default) each advance their own case, alternating
``request_completion`` (commune officer) and ``resubmit`` (producer), so every call is a real
audited transition with deadline and outbox writes:

  direct  WorkflowEngine.apply from 20 threads in this process (the baseline)
  api     POST /api/v1/cases/{code}/events through a real uvicorn server (`ocop serve`, a
          separate process) from 20 keep-alive HTTP clients; each answer is the case with its
          newest 20 audit entries
  minimal the same with ``Prefer: return=minimal``: the answer is what the transition did

Both run twice: in a closed loop (each client sends as soon as its last call returned: the
throughput ceiling, where latency is mostly queueing) and paced at an offered load (``--rate``
transitions/s in all, latency measured from each call's scheduled time; ``--rate`` may be
given more than once). It prints p50/p99 latency and throughput, and the API's figures as
ratios against the direct baseline (targets: API p99 < 50 ms paced; closed-loop throughput
>= 0.5x direct).

    .venv/bin/python -m bench.api [--clients 20] [--ops 40] [--rate 20 --rate 50] [--workers 2]

(Run it as a module from the repository root: ``bench/`` on the path would shadow the
``transitions`` library with ``bench/transitions.py``.)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import structlog

import states
from bench.common import database
from workflow import documents, registry
from workflow.bootstrap import App, bootstrap
from workflow.config import Settings
from workflow.domain.facts import Event
from workflow.store import queries, units
from workflow.store.db import write_transaction
from workflow.store.migrate import upgrade

_ROOT = Path(__file__).resolve().parent.parent
PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
DOCS = {"documents": ["registration_form", "business_plan", "product_standard"]}
STEPS = (("request_completion", "commune", "bench: one more document"), ("resubmit", "producer",
                                                                         None))


def seed(app: App, n: int) -> tuple[list[str], dict[str, Any]]:
    """``n`` cases in commune_prescore, and the two users who move them back and forth."""
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        units.ensure_loaded(conn, app.settings.province)
        pid = registry.add_producer(conn, now, "HTX Bench", "cooperative", None, "10126")
        tokens = {"commune": registry.add_user(conn, now, "bench.commune", "commune_officer",
                                               commune="10126"),
                  "producer": registry.add_user(conn, now, "bench.producer", "producer",
                                                producer_id=pid)}
        actors = {k: registry.actor_named(conn, f"bench.{k}") for k in tokens}
        codes = [registry.register_case(conn, now, actors["producer"], registry.Registration(
            pid, f"Tương {i}", "food"), public_url=app.settings.public_url)
            for i in range(n)]
    for code in codes:
        upload_dossier(app, code, actors["producer"])
        app.engine.apply(Event(code, "submit", actors["producer"], DOCS))
        app.engine.apply(Event(code, "start_review", actors["commune"]))
    return codes, {"tokens": tokens, "actors": actors}


def upload_dossier(app: App, code: str, producer: Any) -> None:
    """A small PDF as each document the case's rule version requires before ``submit``."""
    with app.db.connect() as conn:
        rules = queries.case_row(conn, code)["rule_version"]
    for kind in states.lifecycle(rules).required_documents:
        documents.add(app, producer, code, kind, f"{kind}.pdf", PDF)


def schedule(rate: float | None, clients: int, index: int, k: int) -> float:
    """When client ``index`` sends its ``k``-th call, in seconds from the start (paced runs
    spread the clients evenly); 0 in a closed loop (send as soon as the last call returned)."""
    if not rate:
        return 0.0
    per_client = rate / clients
    return (k + index / clients) / per_client


def direct(app: App, codes: list[str], ops: int, who: dict[str, Any],
           rate: float | None = None) -> tuple[list[float], float]:
    latencies: list[float] = []
    lock = threading.Lock()
    started = time.perf_counter()

    def client(index: int, code: str) -> None:
        mine = []
        for k in range(ops):
            trigger, role, reason = STEPS[k % 2]
            due = started + schedule(rate, len(codes), index, k)
            time.sleep(max(0.0, due - time.perf_counter()))
            sent = max(due, time.perf_counter()) if rate else time.perf_counter()
            app.engine.apply(Event(code, trigger, who["actors"][role], {}, reason))
            mine.append(time.perf_counter() - sent)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i, code)) for i, code in enumerate(codes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, time.perf_counter() - started


async def over_http(base: str, codes: list[str], ops: int, tokens: dict[str, str],
                    rate: float | None = None,
                    prefer: dict[str, str] | None = None) -> tuple[list[float], float]:
    latencies: list[float] = []
    limits = httpx.Limits(max_connections=len(codes), max_keepalive_connections=len(codes))
    started = time.perf_counter()

    async def client(http: httpx.AsyncClient, index: int, code: str) -> None:
        for k in range(ops):
            trigger, role, reason = STEPS[k % 2]
            due = started + schedule(rate, len(codes), index, k)
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            sent = max(due, time.perf_counter()) if rate else time.perf_counter()
            r = await http.post(f"/api/v1/cases/{code}/events",
                                json={"trigger": trigger, "reason": reason},
                                headers={"Authorization": f"Bearer {tokens[role]}",
                                         **(prefer or {})})
            latencies.append(time.perf_counter() - sent)
            if r.status_code != 200:
                raise RuntimeError(f"{code} {trigger}: {r.status_code} {r.text}")

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as http:
        started = time.perf_counter()
        await asyncio.gather(*(client(http, i, code) for i, code in enumerate(codes)))
        return latencies, time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], workers: int) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "workflow", "serve", "--port", str(port),
                             "--workers", str(workers)], env=env, cwd=_ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("ocop serve did not answer /healthz within 30 s")


def figures(name: str, latencies: list[float], wall: float) -> dict[str, Any]:
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {"name": name, "ops": len(latencies), "p50": q[49] * 1000, "p99": q[98] * 1000,
            "rate": len(latencies) / wall}


def report(title: str, rows: list[dict[str, Any]], paced: bool) -> None:
    base = rows[0]
    print(f"\n{title}")
    print(f"{'':16}{'ops':>7}{'p50 ms':>10}{'p99 ms':>10}{'ops/s':>10}")
    for row in rows:
        print(f"{row['name']:16}{row['ops']:>7}{row['p50']:>10.2f}{row['p99']:>10.2f}"
              f"{row['rate']:>10.1f}")
    for api in rows[1:]:
        print(f"{api['name'] + '/direct':16}{'':7}{api['p50'] / base['p50']:>9.2f}x"
              f"{api['p99'] / base['p99']:>9.2f}x{api['rate'] / base['rate']:>9.2f}x")
    for api in rows[1:]:
        if paced:
            verdict = "met" if api["p99"] < 50 else "NOT met"
            print(f"target {api['name']} p99 < 50 ms: {verdict} ({api['p99']:.1f} ms)")
        else:
            ratio = api["rate"] / base["rate"]
            verdict = "met" if ratio >= 0.5 else "NOT met"
            print(f"target {api['name']} >= 0.5x direct: {verdict} ({ratio:.2f}x)")


def compare(app: App, url: str, codes: tuple[list[str], list[str]], who: dict[str, Any],
            ops: int, rate: float | None) -> list[dict[str, Any]]:
    """The direct baseline, then the API with the full answer and with ``return=minimal``."""
    rows = [figures("direct", *direct(app, codes[0], ops, who, rate))]
    for name, prefer in (("api", None), ("api minimal", {"Prefer": "return=minimal"})):
        rows.append(figures(name, *asyncio.run(
            over_http(url, codes[1], ops, who["tokens"], rate, prefer))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--ops", type=int, default=40, help="transitions per client")
    parser.add_argument("--rate", type=float, action="append",
                        help="offered load (transitions/s over all clients) of a paced run "
                        "(again for another run; default 20)")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with database("postgres") as url, tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "OCOP_DATABASE_URL": url, "OCOP_HOME": home,
               "OCOP_BROKER_FOLDER": f"{home}/broker", "PYTHONPATH": str(_ROOT)}
        env.pop("OCOP_NOW", None)
        app = bootstrap(Settings.from_env(env))
        upgrade(app.db)
        codes, who = seed(app, 2 * args.clients)
        pair = (codes[:args.clients], codes[args.clients:])
        proc, base_url = start_server(env, args.workers)
        try:
            compare(app, base_url, pair, who, 2, None)  # warm pools, machines and workers
            closed = compare(app, base_url, pair, who, args.ops, None)
            paced = [(rate, compare(app, base_url, pair, who, args.ops, rate))
                     for rate in args.rate or [20.0]]
        finally:
            proc.terminate()
            proc.wait(timeout=20)
        app.close()
    where = (f"PostgreSQL, {args.clients} concurrent clients on different cases, uvicorn "
             f"workers: {args.workers}, {os.cpu_count()} CPUs")
    report(f"{where}\nclosed loop (each client sends as soon as its last call returned)",
           closed, paced=False)
    for rate, rows in paced:
        report(f"paced: {rate:g} transitions/s offered in all (latency from the scheduled "
               "send time)", rows, paced=True)


if __name__ == "__main__":
    main()
