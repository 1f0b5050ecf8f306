"""Audited engine transitions against the raw database driver doing the same statements.

For each backend (SQLite file, PostgreSQL) the same run times ``submit`` through:
  raw     the bare DB-API cursor running exactly what the engine must: BEGIN IMMEDIATE (SQLite),
          the locked read of the case with its producer, live clocks and uploaded document kinds
          (FOR UPDATE OF cases on PostgreSQL), the case update, the audit insert, the review
          clock's insert, the notice's insert, COMMIT
  engine  WorkflowEngine.apply(submit): the same statements plus checks, guard, machine, the
          hash-chained and sealed audit entry; on PostgreSQL its four writes go in one
          pipeline (one round trip), where the raw side waits for each statement in turn
and prints engine/raw as a ratio of the medians of alternating rounds (target >= 0.7). On
PostgreSQL it then times 1, 2, 4 and 8 concurrent writers (threads, each its own connection
and its own cases) for both sides, and full lifecycles (8 transitions each) per second. Last
it advances 100,000 distinct cases through the engine on SQLite and reports resident-memory
growth (target < 50 MB).

    .venv/bin/python bench/transitions.py [--n 1000] [--rounds 5] [--memory-cases 100000]
        [--only sqlite] [--writers 1 2 4 8] [--json]
    .venv/bin/python bench/transitions.py --profile sqlite [--n 2000]
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
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import select

from bench.common import database, rss_mb, seed_drafts
from tests.support import START, make_app
from workflow.clock import FixedClock
from workflow.domain.facts import Actor, Event
from workflow.logs import configure
from workflow.store.schema import cases

OFFICER = Actor("bench.commune", "commune_officer", commune="Xã Bình Minh", unit="10126")
# A full lifecycle's worth of audited transitions on one case (each writes its clocks and notice).
LIFECYCLE = ("submit", "start_review", *("request_completion", "resubmit") * 3)

LOCK_SQL = (
    "SELECT cases.*, producers.name, producers.email, producers.webhook_url, producers.lang, "
    "(SELECT {agg} FROM documents WHERE documents.case_id = cases.id), live.* "
    "FROM cases JOIN producers ON producers.id = cases.producer_id "
    "LEFT OUTER JOIN deadlines AS live ON live.case_id = cases.id "
    "AND live.status IN ('open', 'paused') WHERE cases.code = {p} ORDER BY live.id{lock}")
MOVE_SQL = (
    "UPDATE cases SET state={p}, version={p}, audit_seq={p}, audit_head={p}, audit_seal={p}, "
    "updated_at={p}, rule_version={p}, score={p}, stars={p}, star_cap={p}, return_state={p}, "
    "rules_pinned={p}, product_group={p}, reevaluation_reason={p}, trademark_no={p}, "
    "potential_5={p}, dossier={p} WHERE cases.id = {p} AND cases.version = {p}")
AUDIT_SQL = (
    "INSERT INTO audit_entries (case_id, seq, prev_hash, at, actor, role, trigger, from_state, "
    "to_state, reason, data, rule_version, hash) VALUES ({p}, 1, {p}, {p}, 'raw', "
    "'commune_officer', 'submit', 'draft', 'registered', NULL, '{{}}', '1489', {p})")
CLOCK_SQL = (
    "INSERT INTO deadlines (case_id, kind, state, due_at, status, working_days, "
    "remaining_seconds, level, fired_at, created_at) VALUES ({p}, 'review_start', "
    "'registered', {p}, 'open', {true}, NULL, 0, NULL, {p})")
OUTBOX_SQL = (
    "INSERT INTO outbox (message_id, case_id, audit_seq, kind, channel, recipient, lang, "
    "payload, status, attempts, available_at, sent_at, last_error, created_at) VALUES "
    "({p}, {p}, 1, 'status', 'inapp', NULL, 'vi', {p}, 'pending', 0, {p}, NULL, NULL, {p})")


def raw_submit(app: Any) -> Callable[[Any, str], None]:
    """One ``submit`` on a DB-API connection: the engine's statements, prebuilt, by hand."""
    sqlite = app.db.dialect.name == "sqlite"
    p = "?" if sqlite else "%s"
    sql = [s.format(p=p, agg="group_concat(kind, ',')" if sqlite else "string_agg(kind, ',')",
                    lock="" if sqlite else " FOR UPDATE OF cases", true=1 if sqlite else "true")
           for s in (LOCK_SQL, MOVE_SQL, AUDIT_SQL, CLOCK_SQL, OUTBOX_SQL)]
    lock, move, entry, clock, notice = sql
    at = app.clock.now().astimezone(UTC)
    at_value: Any = at.replace(tzinfo=None).isoformat(" ") if sqlite else at
    due: Any = at + timedelta(days=5)
    due = due.replace(tzinfo=None).isoformat(" ") if sqlite else due
    dossier = json.dumps({"documents": ["registration_form"]})

    def submit(raw: Any, code: str) -> None:
        cur = raw.cursor()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")
        cur.execute(lock, (code,))
        case_id = cur.fetchall()[0][0]
        cur.execute(move, ("registered", 2, 1, "f" * 64, "s" * 64, at_value, "1489", None, None,
                           None, None, False, "food", None, None, None, dossier, case_id, 1))
        cur.execute(entry, (case_id, "0" * 64, at_value, "f" * 64))
        cur.execute(clock, (case_id, due, at_value))
        cur.execute(notice, (str(uuid.uuid4()), case_id, json.dumps({"state": "registered"}),
                             at_value, at_value))
        raw.commit()
    return submit


def raw_rate(app: Any, codes: list[str]) -> float:
    """Transitions per second through the bare DB-API connection, same statements."""
    return writers_rate(app, [codes], raw=True)


def writers_rate(app: Any, shares: Sequence[list[str]], raw: bool = False) -> float:
    """Transitions per second with one thread per share of cases, each on its own connection
    (raw: a DB-API connection running ``raw_submit``; else the engine's pool)."""
    submit = raw_submit(app)

    def writer(codes: list[str]) -> None:
        if not raw:
            for code in codes:
                app.engine.apply(Event(code, "submit", OFFICER))
            return
        conn = app.db.raw_connection()
        try:
            for code in codes:
                submit(conn, code)
        finally:
            conn.close()
    return sum(map(len, shares)) / threaded(writer, shares)


def threaded(work: Callable[[Any], None], shares: Sequence[Any]) -> float:
    """Seconds to run ``work`` on every share, one thread each; a writer's error is raised."""
    failed: list[BaseException] = []

    def run(share: Any) -> None:
        try:
            work(share)
        except BaseException as e:  # re-raised below: a failed writer voids the figure
            failed.append(e)
    started = time.perf_counter()
    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if failed:
        raise failed[0]
    return time.perf_counter() - started


def engine_rate(app: Any, codes: list[str]) -> float:
    apply = app.engine.apply
    started = time.perf_counter()
    for code in codes:
        apply(Event(code, "submit", OFFICER))
    return len(codes) / (time.perf_counter() - started)


def compare(kind: str, n: int, rounds: int = 5) -> dict[str, Any]:
    """``rounds`` rounds of ``n`` transitions each way, raw and engine alternating (the disk's
    and the machine's drift falls on both sides alike); the medians' ratio."""
    with database(kind) as url:
        app = make_app(url, FixedClock(START))
        try:
            codes = iter(seed_drafts(app.db, app.clock, 2 * n * rounds + 400))
            engine_rate(app, [next(codes) for _ in range(200)])  # warm up both paths
            raw_rate(app, [next(codes) for _ in range(200)])
            raws, engines = [], []
            for _ in range(rounds):
                raws.append(raw_rate(app, [next(codes) for _ in range(n)]))
                engines.append(engine_rate(app, [next(codes) for _ in range(n)]))
        finally:
            app.close()
    raw, eng = statistics.median(raws), statistics.median(engines)
    return {"bench": "submit", "backend": kind, "rounds": rounds, "n": n,
            "raw_per_s": round(raw), "engine_per_s": round(eng), "ratio": round(eng / raw, 3),
            "target": 0.7}


def concurrency(n: int, writers: Sequence[int]) -> list[dict[str, Any]]:
    """PostgreSQL: ``submit``s per second with each number of concurrent writers, engine and
    raw driver on the same cases' twins, then full lifecycles per second."""
    out = []
    with database("postgres") as url:
        app = make_app(url, FixedClock(START))
        try:
            codes = iter(seed_drafts(app.db, app.clock, 2 * n * len(writers) + 400))
            raw_rate(app, [next(codes) for _ in range(200)])
            engine_rate(app, [next(codes) for _ in range(200)])
            for k in writers:
                raw = writers_rate(app, _shares(codes, n, k), raw=True)
                eng = writers_rate(app, _shares(codes, n, k))
                out.append({"bench": "writers", "backend": "postgres", "writers": k,
                            "raw_per_s": round(raw), "engine_per_s": round(eng),
                            "ratio": round(eng / raw, 3)})
            out.append(lifecycles(app, max(writers), max(1, n // len(LIFECYCLE))))
        finally:
            app.close()
    return out


def _shares(codes: Any, n: int, k: int) -> list[list[str]]:
    return [[next(codes) for _ in range(n // k)] for _ in range(k)]


def lifecycles(app: Any, k: int, n: int) -> dict[str, Any]:
    """Full lifecycles (``LIFECYCLE``: 8 audited transitions) per second, ``k`` writers."""
    codes = seed_drafts(app.db, app.clock, n * k, start=10_000_000)
    shares = [codes[i::k] for i in range(k)]
    with app.db.connect() as conn:
        pid = conn.execute(select(cases.c.producer_id).where(cases.c.code == codes[0])).scalar()
    producer = Actor("bench.producer", "producer", producer_id=pid)

    def writer(mine: list[str]) -> None:
        for code in mine:
            for trigger in LIFECYCLE:
                who = producer if trigger == "resubmit" else OFFICER
                app.engine.apply(Event(code, trigger, who, _data(trigger),
                                       "bench" if trigger == "request_completion" else None))
    seconds = threaded(writer, shares)
    return {"bench": "lifecycles", "backend": "postgres", "writers": k,
            "transitions_each": len(LIFECYCLE), "lifecycles_per_s": round(len(codes) / seconds, 1),
            "transitions_per_s": round(len(codes) * len(LIFECYCLE) / seconds)}


def _data(trigger: str) -> dict[str, Any]:
    return {"documents": ["registration_form"]} if trigger == "resubmit" else {}


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


def profile(kind: str, n: int) -> None:
    """Where an audited ``submit`` spends its time (the README's note comes from this)."""
    import cProfile
    import pstats

    with database(kind) as url:
        app = make_app(url, FixedClock(START))
        try:
            codes = seed_drafts(app.db, app.clock, n + 200)
            engine_rate(app, codes[:200])
            profiler = cProfile.Profile()
            profiler.enable()
            engine_rate(app, codes[200:])
            profiler.disable()
        finally:
            app.close()
    stats = pstats.Stats(profiler)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000, help="transitions per round and side")
    parser.add_argument("--rounds", type=int, default=5,
                        help="alternating raw/engine rounds of the single-writer comparison")
    parser.add_argument("--memory-cases", type=int, default=100_000)
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--writers", type=int, nargs="*", default=[1, 2, 4, 8])
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.add_argument("--profile", choices=["sqlite", "postgres"],
                        help="instead: profile --n engine transitions on this backend (cProfile, "
                        "the functions taking the most time of their own)")
    args = parser.parse_args()
    configure(json=True, level=logging.WARNING)
    if args.profile:
        profile(args.profile, args.n)
        return
    show = _json_line if args.json else _text_line
    for kind in ("sqlite", "postgres"):
        if args.only in (None, kind):
            show(compare(kind, args.n, args.rounds))
    if args.only in (None, "postgres") and args.writers:
        for row in concurrency(2 * args.n, args.writers):
            show(row)
    if args.memory_cases:
        show(memory(args.memory_cases))


def _json_line(row: dict[str, Any]) -> None:
    print(json.dumps(row), flush=True)


def _text_line(r: dict[str, Any]) -> None:
    if r.get("bench") == "submit":
        line = (f"{r['backend']:<9} raw {r['raw_per_s']:>6}/s  engine {r['engine_per_s']:>6}/s  "
                f"engine/raw {r['ratio']:.2f}  (target >= 0.70; medians of {r['rounds']} "
                f"alternating rounds of {r['n']})")
    elif r.get("bench") == "writers":
        line = (f"postgres  {r['writers']} writer(s): raw {r['raw_per_s']:>6}/s  engine "
                f"{r['engine_per_s']:>6}/s  engine/raw {r['ratio']:.2f}")
    elif r.get("bench") == "lifecycles":
        line = (f"postgres  {r['writers']} writers: {r['lifecycles_per_s']} full lifecycles/s "
                f"({r['transitions_each']} transitions each, {r['transitions_per_s']} "
                "transitions/s)")
    else:
        line = (f"memory    {r['cases']} distinct cases advanced on SQLite: RSS "
                f"{r['rss_before_mb']} -> {r['rss_after_mb']} MB, growth {r['growth_mb']} MB "
                f"(target < 50 MB), {r['engine_per_s']}/s")
    print(line, flush=True)


if __name__ == "__main__":
    main()
