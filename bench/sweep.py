# ruff: noqa: E402  (sys.path is fixed before the imports: bench/transitions.py shadows a library)
"""The deadline sweep against a million open cases on PostgreSQL.

1,000,000 cases wait in `registered`, each with an open review_start deadline (generated in the
server with generate_series). The sweep is timed:
  nothing due   the clock before every deadline          (target < 50 ms)
  warm-up       the first --warm deadlines, in a process that has not swept yet: it pays once
                for loading the holiday calendar, compiling statements and preparing them
  1,000 due     the next 1,000, as a worker that sweeps every minute would (target < 1 s): each
                one an audited `escalate`, a supervisor notification and the deadline moved
                5 working days on, fired set-based (workflow/sweep_set.py, workflow/batch.py)
As a baseline in the same run: the bare index probe (SELECT ... LIMIT 1 on the partial index).

    .venv/bin/python bench/sweep.py [--cases 1000000] [--due 1000] [--warm 10]
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/transitions.py would shadow the `transitions` library: run from the repository root.
_HERE, _ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import logging
import time
from datetime import datetime, timedelta

from sqlalchemy import Engine, text

from bench.common import database
from tests.support import START, make_app
from workflow.clock import FixedClock
from workflow.logs import configure
from workflow.store import audit
from workflow.sweep import Sweeper

SEED = """
INSERT INTO producers (id, name, kind, district, commune, email, webhook_url, webhook_secret,
                       lang, created_at)
VALUES (1, 'HTX Bench', 'cooperative', 'Thanh Oai', 'Cự Khê', NULL, NULL, repeat('x', 64), 'vi',
        :now);
INSERT INTO cases (id, code, producer_id, product, product_group, district, commune, state,
                   version, rule_version, rules_pinned, dossier, status_token, audit_seq,
                   audit_head, created_at, updated_at)
SELECT i, 'B-' || lpad(i::text, 7, '0'), 1, 'Tương', 'food', 'Thanh Oai', 'Cự Khê',
       'registered', 2, '1489', false, '{"documents": []}', 'tok-' || i, 0, :genesis, :now, :now
FROM generate_series(1, :n) AS i;
INSERT INTO deadlines (case_id, kind, state, due_at, status, working_days, level, created_at)
SELECT i, 'review_start', 'registered', :first + (i * interval '1 second'), 'open', true, 0, :now
FROM generate_series(1, :n) AS i;
"""


def seed(db: Engine, n: int, first_due: object, now: object) -> float:
    started = time.perf_counter()
    with db.begin() as conn:
        for statement in SEED.split(";"):
            if statement.strip():
                conn.execute(text(statement), {"n": n, "now": now, "first": first_due,
                                               "genesis": audit.GENESIS})
        conn.execute(text("SELECT setval('cases_id_seq', :n)"), {"n": n})
    # Vacuumed like a live database's tables, so that autovacuum does not start on the freshly
    # loaded ones during the timed sweeps (measured: no difference on a quiet run, 414 ms).
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    return time.perf_counter() - started


def probe_ms(db: Engine, at: object, repeat: int = 20) -> float:
    best = float("inf")
    with db.connect() as conn:
        for _ in range(repeat):
            started = time.perf_counter()
            conn.execute(text("SELECT id FROM deadlines WHERE status = 'open' AND due_at <= :at "
                              "ORDER BY due_at LIMIT 1"), {"at": at}).all()
            best = min(best, time.perf_counter() - started)
            conn.rollback()
    return best * 1000


def timed_sweep(sweeper: Sweeper) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    counts = sweeper.run()
    return (time.perf_counter() - started) * 1000, dict(counts)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--warm", type=int, default=10)
    args = parser.parse_args()
    configure(json=True, level=logging.WARNING)
    first_due = START + timedelta(days=14)
    with database("postgres") as url:
        clock = FixedClock(START)
        app = make_app(url, clock)
        try:
            took = seed(app.db, args.cases, first_due, START)
            print(f"seeded {args.cases:,} open cases and deadlines in {took:.1f} s", flush=True)
            sweeper = Sweeper(app.engine, app.relay)
            sweeper.run()  # warm the connection pool
            idle = min(timed_sweep(sweeper)[0] for _ in range(5))
            base = probe_ms(app.db, clock.now())
            print(f"nothing due : sweep {idle:8.2f} ms   index probe {base:6.2f} ms   "
                  f"ratio {idle / base:5.1f}x   (target < 50 ms)", flush=True)
            busy(sweeper, clock, first_due, args.warm, "warm-up   ")
            busy(sweeper, clock, first_due, args.warm + args.due, f"{args.due:,} due ",
                 target=1000.0)
            again = min(timed_sweep(sweeper)[0] for _ in range(5))
            print(f"after       : sweep {again:8.2f} ms   (nothing due again)", flush=True)
        finally:
            app.close()


def busy(sweeper: Sweeper, clock: FixedClock, first_due: datetime, upto: int, label: str,
         target: float | None = None) -> None:
    """Move the clock just past the ``upto``-th deadline and time the sweep that follows."""
    clock.set(first_due + timedelta(seconds=upto, milliseconds=500))
    took, counts = timed_sweep(sweeper)
    per = took / max(1, counts.get("escalated", 0))
    goal = f"   {took / target:4.2f} of the target (< {target:.0f} ms)" if target else ""
    print(f"{label}  : sweep {took:8.1f} ms   {counts}   {per:.2f} ms per deadline{goal}",
          flush=True)

if __name__ == "__main__":
    main()
