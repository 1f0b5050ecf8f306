"""Audited engine transitions against the raw database driver doing the same statements.

For each backend (SQLite file, PostgreSQL) the same run times:
  raw     the DB-API driver: UPDATE the case, INSERT an audit row, INSERT an outbox row, COMMIT
  engine  WorkflowEngine.apply(submit): lock, checks, guard, machine, hash-chained audit entry,
          outbox row, deadline row, commit
and prints engine/raw as a ratio (target ≥ 0.7). Then it advances 100,000 distinct cases through
the engine on SQLite and reports resident-memory growth (target < 50 MB).

    .venv/bin/python bench/transitions.py [--n 2000] [--memory-cases 100000] [--only sqlite]
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file's name shadows the `transitions` library: run with the repository root on the path
# instead of this folder.
_HERE, _ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import gc
import json
import logging
import time
import uuid
from datetime import UTC
from typing import Any

from bench.common import database, rss_mb, seed_drafts
from tests.support import START, make_app
from workflow.clock import FixedClock
from workflow.domain.facts import Actor, Event
from workflow.logs import configure

OFFICER = Actor("bench.commune", "commune_officer", commune="Xã Bình Minh", unit="10126")


def raw_rate(app: Any, codes: list[str]) -> float:
    """Transitions per second through the bare DB-API connection, same statements."""
    sqlite = app.db.dialect.name == "sqlite"
    p = "?" if sqlite else "%s"
    at = app.clock.now().astimezone(UTC)
    at_value: Any = at.replace(tzinfo=None).isoformat(" ") if sqlite else at
    raw = app.db.raw_connection()
    try:
        ids = _ids(raw, codes, p)
        cur = raw.cursor()
        started = time.perf_counter()
        for case_id in ids:
            if sqlite:
                cur.execute("BEGIN IMMEDIATE")
            cur.execute(f"UPDATE cases SET state={p}, version=version+1, audit_seq=audit_seq+1, "
                        f"audit_head={p}, updated_at={p} WHERE id={p}",
                        ("registered", "f" * 64, at_value, case_id))
            cur.execute(
                "INSERT INTO audit_entries (case_id, seq, at, actor, role, trigger, from_state, "
                "to_state, reason, data, rule_version, prev_hash, hash) VALUES "
                f"({p}, 1, {p}, 'raw', 'commune_officer', 'submit', 'draft', 'registered', "
                f"NULL, '{{}}', '1489', {p}, {p})", (case_id, at_value, "0" * 64, "f" * 64))
            cur.execute(
                "INSERT INTO outbox (message_id, case_id, audit_seq, kind, channel, recipient, "
                "lang, payload, status, attempts, available_at, created_at) VALUES "
                f"({p}, {p}, 1, 'status', 'inapp', NULL, 'vi', {p}, 'pending', 0, {p}, {p})",
                (str(uuid.uuid4()), case_id, json.dumps({"state": "registered"}), at_value,
                 at_value))
            raw.commit()
        return len(ids) / (time.perf_counter() - started)
    finally:
        raw.close()


def _ids(raw: Any, codes: list[str], p: str) -> list[int]:
    cur = raw.cursor()
    out = []
    for code in codes:
        cur.execute(f"SELECT id FROM cases WHERE code={p}", (code,))
        out.append(cur.fetchone()[0])
    raw.commit()
    return out


def engine_rate(app: Any, codes: list[str]) -> float:
    apply = app.engine.apply
    started = time.perf_counter()
    for code in codes:
        apply(Event(code, "submit", OFFICER))
    return len(codes) / (time.perf_counter() - started)


def compare(kind: str, n: int) -> dict[str, Any]:
    with database(kind) as url:
        app = make_app(url, FixedClock(START))
        try:
            codes = seed_drafts(app.db, app.clock, 2 * n + 200)
            engine_rate(app, codes[:100])  # warm up both paths
            raw_rate(app, codes[100:200])
            raw = raw_rate(app, codes[200:200 + n])
            eng = engine_rate(app, codes[200 + n:])
        finally:
            app.close()
    return {"backend": kind, "raw_per_s": round(raw), "engine_per_s": round(eng),
            "ratio": round(eng / raw, 3)}


def memory(n: int) -> dict[str, Any]:
    with database("sqlite") as url:
        app = make_app(url, FixedClock(START))
        try:
            codes = seed_drafts(app.db, app.clock, n + 1000)
            engine_rate(app, codes[:1000])
            gc.collect()
            before = rss_mb()
            rate = engine_rate(app, codes[1000:])
            gc.collect()
            after = rss_mb()
        finally:
            app.close()
    return {"cases": n, "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
            "growth_mb": round(after - before, 1), "engine_per_s": round(rate)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--memory-cases", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    args = parser.parse_args()
    configure(json=True, level=logging.WARNING)
    for kind in ("sqlite", "postgres"):
        if args.only in (None, kind):
            r = compare(kind, args.n)
            print(f"{kind:<9} raw {r['raw_per_s']:>6}/s  engine {r['engine_per_s']:>6}/s  "
                  f"engine/raw {r['ratio']:.2f}  (target >= 0.70)", flush=True)
    if args.memory_cases:
        m = memory(args.memory_cases)
        print(f"memory    {m['cases']} distinct cases advanced on SQLite: RSS "
              f"{m['rss_before_mb']} -> {m['rss_after_mb']} MB, growth {m['growth_mb']} MB "
              f"(target < 50 MB), {m['engine_per_s']}/s", flush=True)


if __name__ == "__main__":
    main()
