# ruff: noqa: E402  (sys.path is fixed before the imports: bench/transitions.py shadows a library)
"""Commit-to-delivered latency of e-mail notifications at a steady 50 transitions/s, through a
private Redis, a real `celery -A worker worker` and a real SMTP server (aiosmtpd), against the
raw Celery round trip (enqueue a no-op task, wait for its result) measured in the same run.

    .venv/bin/python bench/notify.py [--rate 50] [--seconds 10]

Targets: p50 < 1 s, p99 < 3 s.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/transitions.py would shadow the `transitions` library: run from the repository root.
_HERE, _ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import logging
import statistics
import subprocess
import tempfile
import time
from typing import Any

from sqlalchemy import update

from bench.common import database, seed_drafts
from tests.integration.workers import RedisServer, free_port, running, wait_until, worker
from tests.support import DOCS, make_app
from workflow.bootstrap import bootstrap
from workflow.clock import SystemClock
from workflow.config import Settings
from workflow.domain.facts import Actor, Event
from workflow.logs import configure
from workflow.messaging.broker import publisher_celery
from workflow.store.schema import producers

OFFICER = Actor("bench.commune", "commune_officer", commune="Xã Bình Minh", unit="10126")


# The SMTP server runs in its own process (as a real mail server would), writing one line per
# message received: "<event id> <unix time>".
SMTP_SERVER = """
import sys, time, asyncio
from email import message_from_bytes
from aiosmtpd.controller import Controller
out = open(sys.argv[2], "a", buffering=1)
class Handler:
    async def handle_DATA(self, server, session, envelope):
        event = message_from_bytes(envelope.content)["X-OCOP-Event-Id"]
        out.write(f"{event} {time.time()}\\n")
        return "250 OK"
Controller(Handler(), hostname="127.0.0.1", port=int(sys.argv[1])).start()
print("ready", flush=True)
while True:
    time.sleep(3600)
"""


def arrivals(path: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        event, at = line.split()
        out.setdefault(event, float(at))
    return out


def paced(n: int, rate: float, action: Any) -> None:
    start = time.perf_counter()
    for i in range(n):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        action(i)


def quantiles(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[49], cuts[98]


def raw_round_trips(settings: Settings, n: int, rate: float) -> list[float]:
    celery = publisher_celery(settings)
    results: list[Any] = []
    # Celery's built-in no-op (it returns its argument), its result kept for this call only.
    paced(n, rate, lambda i: results.append((time.time(), celery.send_task(
        "celery.accumulate", args=[time.time()], ignore_result=False))))
    out = []
    for sent, result in results:
        result.get(timeout=30)
        out.append(result.date_done.timestamp() - sent if result.date_done else 0.0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    n = int(args.rate * args.seconds)
    configure(json=True, level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp, database("postgres") as url:
        received, smtp_port = Path(tmp) / "received", free_port()
        smtp = subprocess.Popen([sys.executable, "-c", SMTP_SERVER, str(smtp_port),
                                 str(received)], stdout=subprocess.PIPE)
        assert smtp.stdout is not None and smtp.stdout.readline().strip() == b"ready"
        redis = RedisServer(Path(tmp))
        redis.start()
        settings = Settings(database_url=url, broker_url=redis.url,
                            smtp_url=f"smtp://127.0.0.1:{smtp_port}")
        app = make_app(url, SystemClock(), broker_url=redis.url,  # type: ignore[arg-type]
                       smtp_url=settings.smtp_url)
        codes = seed_drafts(app.db, app.clock, n)  # type: ignore[arg-type]
        with app.db.begin() as conn:
            conn.execute(update(producers).values(email="bench@example.vn"))
        committed: dict[str, float] = {}
        # The commit time of each message, noted by an observer of the engine that the events
        # go through. Observers run after the relay's nudge, so the note comes after the publish
        # to Redis (well under a millisecond here): the latency below is short by that much.
        app = bootstrap(app.settings, clock=app.clock, db=app.db, observers=[
            lambda a: committed.update(dict.fromkeys(a.message_ids, time.time()))])
        env = {"OCOP_DATABASE_URL": url, "OCOP_BROKER_URL": redis.url,
               "OCOP_SMTP_URL": settings.smtp_url or "", "OCOP_HOME": tmp,
               "PATH": "/usr/bin:/bin", "PYTHONPATH": str(_ROOT)}
        w = worker("bench", env, Path(tmp), concurrency=args.concurrency)
        with running(w):
            w.start()
            raw = raw_round_trips(settings, n, args.rate)
            paced(n, args.rate, lambda i: app.engine.apply(Event(codes[i], "submit", OFFICER,
                                                                 DOCS)))
            wait_until(lambda: len(arrivals(received)) >= n, 120, "every e-mail", every=0.2)
        latency = [at - committed[m] for m, at in arrivals(received).items()]
        app.close()
        redis.stop()
        smtp.kill()
        smtp.wait()
    r50, r99 = quantiles(raw)
    n50, n99 = quantiles(latency)
    print(f"{n} transitions at {args.rate:g}/s; {len(latency)} e-mails delivered")
    print(f"raw Celery round trip   p50 {r50 * 1000:7.1f} ms   p99 {r99 * 1000:7.1f} ms")
    print(f"commit -> SMTP delivery p50 {n50 * 1000:7.1f} ms   p99 {n99 * 1000:7.1f} ms   "
          f"(target p50 < 1000, p99 < 3000)")
    print(f"ratio to baseline       p50 {n50 / r50:7.2f}x     p99 {n99 / r99:7.2f}x")


if __name__ == "__main__":
    main()
