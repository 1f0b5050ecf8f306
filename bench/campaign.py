# ruff: noqa: E402  (sys.path is fixed before the imports: bench/transitions.py shadows a library)
"""A re-evaluation campaign over 100,000 certified products on PostgreSQL, against single
audited transitions in the same run (issue 13; target: the campaign ≥ 5× as many cases a second).

N certified cases are seeded in the server (generate_series): rules 1048, 4★, no trademark, a
valid certificate each, producers with an e-mail (so every re-opening writes an in-app and an
e-mail notice), chains at their start (seq 0, the genesis head). Then, timed:
  single    the first --single cases re-opened one by one, each ``engine.apply(open_reevaluation)``
            in its own audited transaction (the first tenth, at most 50, warm up and are not timed)
  campaign  ``campaigns.plan`` over "rules=1048 stars>=4 trademark=no" (the other N - single
            cases), then ``campaigns.run`` in process (no broker) from start to finish
Afterwards SQL checks that every item is done, every selected case has exactly one
``open_reevaluation`` entry (the one its item names) and its two notices. Each phase also
reports this process's CPU seconds (``cpu_s``): on a shared machine the wall times move with
the other load, the CPU far less.

    .venv/bin/python bench/campaign.py [--n 100000] [--single 2000] [--chunk 200 500]

Each --chunk value is a run of its own in a fresh database (seed, single, campaign); one JSON
line a run, then one with all of them.
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE, _ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import json
import logging
import time
from datetime import date
from typing import Any

import psycopg
from sqlalchemy import text

from bench.common import database
from tests.support import START, make_app
from workflow import campaigns, registry
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.domain.facts import Actor, Event
from workflow.logs import configure
from workflow.store import audit
from workflow.store.db import write_transaction

WHERE = "rules=1048 stars>=4 trademark=no"
TARGET = 5.0

# N certified 1048 products, 4★, no trademark, each with a valid certificate (decided in
# 2023-2024, three years valid), three products a producer, every producer with an e-mail.
SEED = [
    """INSERT INTO producers (id, name, kind, commune, commune_code, email, webhook_secret, lang,
                             created_at)
       SELECT i, 'Chủ thể ' || i, 'household', 'x', u.keys[1 + i % cardinality(u.keys)],
              'p' || i || '@example.vn', 'x', 'vi', :now
       FROM generate_series(1, :producers) i,
            (SELECT array_agg(key ORDER BY key) AS keys FROM units
             WHERE level = 'commune' AND valid_to IS NULL) u""",
    """INSERT INTO cases (id, code, producer_id, product, product_group, commune, commune_code,
                         state, version, rule_version, rules_pinned, stars, trademark_no,
                         dossier, status_token, audit_seq, audit_head, created_at, updated_at)
       SELECT i, 'B-' || i, 1 + i % :producers, 'Sản phẩm ' || i,
              (ARRAY['food','beverage','herbal','fabric_garment','souvenir_furniture_decor',
                     'rural_tourism'])[1 + i % 6],
              'x', u.keys[1 + i % cardinality(u.keys)], 'certified', 1, '1048', false, 4, NULL,
              '{}', 'tok-' || i, 0, :genesis, :now, :now
       FROM generate_series(1, :n) i,
            (SELECT array_agg(key ORDER BY key) AS keys FROM units
             WHERE level = 'commune' AND valid_to IS NULL) u""",
    """INSERT INTO certificates (case_id, number, stars, level, rule_version, issued_on,
                                valid_to, status, decision_no, decision_date, decision_body,
                                created_at)
       SELECT c.id, 'C-' || c.id, 4, 'city', '1048', c.d, c.d + 1095, 'valid', c.id || '/QĐ',
              c.d, 'UBND', :now
       FROM (SELECT id, DATE '2023-01-02' + id % 700 AS d FROM cases) c""",
    "SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))",
    "SELECT setval('producers_id_seq', (SELECT max(id) FROM producers))",
]

# After the run: the campaign's items, the entries they name and those entries' notices.
CHECKS = {
    "items_done": "SELECT count(*) FROM campaign_items WHERE campaign_id = :c AND status = 'done'",
    "entries": """SELECT count(*) FROM campaign_items i JOIN audit_entries e
                  ON e.case_id = i.case_id AND e.seq = i.entry_seq
                  WHERE i.campaign_id = :c AND e.trigger = 'open_reevaluation'
                  AND e.data::jsonb ->> 'campaign' = CAST(:c AS text)""",
    "cases_reopened_once": """SELECT count(*) FROM (
                  SELECT e.case_id FROM campaign_items i JOIN audit_entries e
                  ON e.case_id = i.case_id WHERE i.campaign_id = :c
                  AND e.trigger = 'open_reevaluation'
                  GROUP BY e.case_id HAVING count(*) = 1) once""",
    "notices": """SELECT count(DISTINCT (o.case_id, o.channel)) FROM campaign_items i
                  JOIN outbox o ON o.case_id = i.case_id AND o.audit_seq = i.entry_seq
                  WHERE i.campaign_id = :c AND o.kind = 'status'""",
    "reevaluation": """SELECT count(*) FROM campaign_items i JOIN cases c ON c.id = i.case_id
                       WHERE i.campaign_id = :c AND c.state = 'reevaluation'""",
    "all_entries": "SELECT count(*) FROM audit_entries WHERE trigger = 'open_reevaluation'",
}


def seed(app: App, n: int) -> float:
    """Seed ``n`` selectable cases and analyse the tables; returns the seconds it took."""
    started = time.perf_counter()
    params = {"n": n, "producers": max(1, n // 3), "now": app.clock.now(),
              "genesis": audit.GENESIS}
    with app.db.begin() as conn:
        for sql in SEED:
            conn.execute(text(sql), params)
    dsn = app.db.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def city_officer(app: App) -> Actor:
    """The city officer who re-opens the single cases and plans and starts the campaign (the
    campaign's entries then name the same officer)."""
    with write_transaction(app.db) as conn:
        registry.add_user(conn, app.clock.now(), "bench.city", "city_officer")
        return registry.actor_named(conn, "bench.city")


def single(app: App, actor: Actor, m: int) -> dict[str, Any]:
    """Re-open cases 1..m one transaction each; the rate over all but the warm-up."""
    warm = min(50, m // 10)
    codes = [f"B-{i}" for i in range(1, m + 1)]
    apply = app.engine.apply
    for code in codes[:warm]:
        apply(Event(code, "open_reevaluation", actor, {"reason": "criteria_change"}))
    started, cpu = time.perf_counter(), time.process_time()
    for code in codes[warm:]:
        apply(Event(code, "open_reevaluation", actor, {"reason": "criteria_change"}))
    took = time.perf_counter() - started
    return {"cases": m, "timed": m - warm, "s": round(took, 2),
            "cpu_s": round(time.process_time() - cpu, 2), "per_s": round((m - warm) / took, 1)}


def campaign(app: App, actor: Actor, chunk: int) -> dict[str, Any]:
    """Plan over :data:`WHERE` and run to the end in process; the run's rate."""
    started = time.perf_counter()
    made = campaigns.plan(app, actor, WHERE, limit=0)
    planned, cpu = time.perf_counter(), time.process_time()
    done = campaigns.run(app, made["id"], actor, chunk=chunk)
    took = time.perf_counter() - planned
    return {"id": made["id"], "selected": made["count"], "counts": done["counts"],
            "status": done["status"], "plan_s": round(planned - started, 2),
            "s": round(took, 2), "cpu_s": round(time.process_time() - cpu, 2),
            "per_s": round(made["count"] / took, 1)}


def check(app: App, ran: dict[str, Any], n: int) -> dict[str, int]:
    """Every item done; each selected case re-opened exactly once by the entry its item names,
    with its in-app and e-mail notices; every seeded case re-opened once in all."""
    with app.db.connect() as conn:
        found = {k: int(conn.execute(text(sql), {"c": ran["id"]}).scalar_one())
                 for k, sql in CHECKS.items()}
    selected = ran["selected"]
    want = {"items_done": selected, "entries": selected, "cases_reopened_once": selected,
            "notices": 2 * selected, "reevaluation": selected, "all_entries": n}
    if found != want or ran["counts"] != {"done": selected, "skipped": 0, "failed": 0,
                                          "left": 0}:
        raise SystemExit(f"check failed: found {found}, want {want}, counts {ran['counts']}")
    return found


def one_run(n: int, m: int, chunk: int) -> dict[str, Any]:
    """Seed, single transitions, campaign, check: in one fresh database."""
    began = time.perf_counter()
    with database("postgres") as url:
        app = make_app(url, FixedClock(START))
        try:
            seeded = seed(app, n)
            actor = city_officer(app)
            alone = single(app, actor, m)
            ran = campaign(app, actor, chunk)
            check(app, ran, n)
        finally:
            app.close()
    return {"n": n, "chunk": chunk, "seed_s": round(seeded, 1), "single": alone,
            "campaign": {k: ran[k] for k in ("selected", "plan_s", "s", "cpu_s", "per_s")},
            "ratio": round(ran["per_s"] / alone["per_s"], 2), "target": TARGET,
            "checked": True, "wall_s": round(time.perf_counter() - began, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="certified cases seeded")
    parser.add_argument("--single", type=int, default=2000,
                        help="of them re-opened one by one (the rest by the campaign)")
    parser.add_argument("--chunk", type=int, nargs="+", default=[campaigns.CHUNK],
                        help="campaign chunk sizes, one run each")
    args = parser.parse_args()
    if not 10 <= args.single < args.n:
        parser.error("--single must be at least 10 and below --n")
    configure(json=True, level=logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    runs = []
    for chunk in args.chunk:
        runs.append(one_run(args.n, args.single, chunk))
        print(json.dumps(runs[-1]), flush=True)
    print(json.dumps({"date": date.today().isoformat(), "runs": [
        {"chunk": r["chunk"], "single_per_s": r["single"]["per_s"],
         "campaign_per_s": r["campaign"]["per_s"], "ratio": r["ratio"]} for r in runs]}))


if __name__ == "__main__":
    main()
