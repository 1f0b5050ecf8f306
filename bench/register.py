# ruff: noqa: E402  (sys.path is fixed before the imports: bench/transitions.py shadows a library)
"""The programme register on PostgreSQL: the historic import and the office's report set.

import   ``ocop import certified`` of the mid-2025 register (3,317 rows, .xlsx) as a whole
         process into a fresh database, every case audited and its certificate signed
         (target < 20 s); baseline: a bare psycopg process inserting the same 3,317
         producers, cases, certificates and audit entries with COPY (the floor of the writes).
reports  ``reports.report_set``: counts by stars, group, year, level and rules, new products a
         year against the target, stage durations (median, p90), deadline compliance, expiries
         by quarter, over 100,000 certified products (600,000 audit entries, 300,000 stage
         deadlines), median of several runs (target < 1 s); baseline: one scan of each table
         the set reads (certificates, cases, audit entries, deadlines) in the same run.

    .venv/bin/python bench/register.py [--products 100000] [--runs 5] [--only import|reports]
"""

from __future__ import annotations

import sys
from pathlib import Path

_HERE, _ROOT = Path(__file__).resolve().parent, Path(__file__).resolve().parent.parent
sys.path[:] = [str(_ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import json
import logging
import os
import statistics
import subprocess
import tempfile
import time
from datetime import date
from typing import Any

import psycopg
from sqlalchemy import text

from bench.common import database
from tests.cohorts import mid_2025, workbook
from tests.support import START, TEST_SIGNING_KEY, make_app
from workflow import importer
from workflow.clock import FixedClock, local
from workflow.logs import configure
from workflow.store import reports, units

TODAY = local(START).date()

BASELINE_IMPORT = """
import sys, json, secrets, psycopg
from datetime import datetime, UTC
rows = json.load(open(sys.argv[2]))
now = datetime.now(UTC)
with psycopg.connect(sys.argv[1]) as conn, conn.cursor() as cur:
    with cur.copy("COPY producers (id, name, kind, commune, commune_code, webhook_secret, lang,"
                  " created_at) FROM STDIN") as copy:
        for i, r in enumerate(rows, 1):
            copy.write_row((i, r["producer"], "household", r["commune"], r["key"],
                            secrets.token_hex(32), "vi", now))
    with cur.copy("COPY cases (id, code, producer_id, product, product_group, commune,"
                  " commune_code, state, version, rule_version, rules_pinned, stars, dossier,"
                  " status_token, audit_seq, audit_head, created_at, updated_at)"
                  " FROM STDIN") as copy:
        for i, r in enumerate(rows, 1):
            copy.write_row((i, f"HN-{i:06d}", i, r["product"], r["group"], r["commune"], r["key"],
                            "certified", 1, r["rules"], True, r["stars"], "{}",
                            secrets.token_urlsafe(24), 1, "0" * 64, now, now))
    with cur.copy("COPY certificates (case_id, number, stars, level, rule_version, issued_on,"
                  " valid_to, status, decision_no, decision_date, decision_body, created_at)"
                  " FROM STDIN") as copy:
        for i, r in enumerate(rows, 1):
            copy.write_row((i, r["number"], r["stars"], r["level"], r["rules"], r["date"],
                            r["date"], "valid", r["decision"], r["date"], "UBND", now))
    with cur.copy("COPY audit_entries (case_id, seq, at, actor, role, trigger, to_state, data,"
                  " rule_version, prev_hash, hash) FROM STDIN") as copy:
        for i, r in enumerate(rows, 1):
            copy.write_row((i, 1, now, "system", "system", "imported", "certified",
                            json.dumps(r, ensure_ascii=False), r["rules"], "0" * 64, "f" * 64))
print(len(rows))
"""


def _env(url: str, home: Path) -> dict[str, str]:
    return {**os.environ, "OCOP_DATABASE_URL": url, "OCOP_HOME": str(home),
            "OCOP_SIGNING_KEY": TEST_SIGNING_KEY, "OCOP_LOG_LEVEL": "warning"}


def _timed(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=_ROOT, check=False)
    took = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv[:3]} failed: {done.stderr[-2000:]}")
    return took


def _plain(row: list[Any], keys: dict[str, str]) -> dict[str, Any]:
    """A template row as the baseline writes it (the unit already resolved, no checks)."""
    v = dict(zip(importer.KEYS, row, strict=True))
    return {"producer": v["producer"], "commune": v["commune"], "key": keys[v["commune"]],
            "product": v["product"], "group": "food", "stars": v["stars"], "level": v["level"],
            "rules": v["rule_version"], "number": v["certificate_no"],
            "decision": v["decision_no"], "date": v["decision_date"].isoformat()}


def bench_import(runs: int) -> dict[str, Any]:
    """The whole ``ocop import certified`` process against the COPY floor, each in a fresh
    database with the units loaded."""
    imported, floor = [], []
    for _ in range(runs):
        for side in ("import", "floor"):
            with database("postgres") as url, tempfile.TemporaryDirectory() as tmp:
                app = make_app(url, FixedClock(START))
                with app.db.connect() as conn:
                    communes = {u.name: u.key for u in units.listing(conn, "commune")
                                if u.valid_to is None}
                app.close()
                rows = mid_2025(list(communes))
                dsn = url.replace("postgresql+psycopg://", "postgresql://")
                if side == "import":
                    book = workbook(Path(tmp) / "register.xlsx", rows)
                    imported.append(_timed([str(_ROOT / ".venv/bin/ocop"), "import",
                                            "certified", str(book), "--as", "system",
                                            "--json"], _env(url, Path(tmp))))
                else:
                    plain = Path(tmp) / "rows.json"
                    plain.write_text(json.dumps([_plain(r, communes) for r in rows],
                                                ensure_ascii=False))
                    floor.append(_timed([sys.executable, "-c", BASELINE_IMPORT, dsn,
                                         str(plain)], os.environ.copy()))
                with psycopg.connect(dsn) as c:
                    audited = c.execute("SELECT count(*) FROM audit_entries").fetchone()
                assert audited == (3317,), audited
    took, base = statistics.median(imported), statistics.median(floor)
    return {"import_s": round(took, 2), "baseline_s": round(base, 2),
            "ratio": round(took / base, 1), "rows": 3317, "runs": runs, "target_s": 20}


# 100,000 certified products in SQL: a 1489 lifecycle of six entries each (draft, registered,
# commune pre-score, IP check, city rating, certified) a few days apart, three stage deadlines
# closed as the case moved on (one in ten escalated first: missed), and one certificate each
# (one in ten with an older, superseded one).
SEED = [
    """INSERT INTO producers (id, name, kind, commune, commune_code, webhook_secret, lang,
                             created_at)
       SELECT i, 'Chủ thể ' || i, 'household', 'x', u.keys[1 + i % cardinality(u.keys)],
              'x', 'vi', now()
       FROM generate_series(1, :n / 3) i,
            (SELECT array_agg(key ORDER BY key) AS keys FROM units
             WHERE level = 'commune' AND valid_to IS NULL) u""",
    """INSERT INTO cases (id, code, producer_id, product, product_group, commune, commune_code,
                         state, version, rule_version, rules_pinned, stars, trademark_no,
                         potential_5, dossier, status_token, audit_seq, audit_head,
                         created_at, updated_at)
       SELECT i, 'B-' || i, 1 + i % (:n / 3), 'Sản phẩm ' || i,
              (ARRAY['food','beverage','herbal','fabric_garment','souvenir_furniture_decor',
                     'rural_tourism'])[1 + i % 6],
              'x', u.keys[1 + i % cardinality(u.keys)], 'certified', 6,
              CASE WHEN i % 3 = 0 THEN '1048' ELSE '148' END, false,
              CASE WHEN i % 50 = 0 THEN 5 WHEN i % 2 = 0 THEN 4 ELSE 3 END,
              CASE WHEN i % 4 = 0 THEN NULL ELSE 'NH-' || i END,
              CASE WHEN i % 100 = 2 THEN true END, '{}', 'tok-' || i, 6, 'x', now(), now()
       FROM generate_series(1, :n) i,
            (SELECT array_agg(key ORDER BY key) AS keys FROM units
             WHERE level = 'commune' AND valid_to IS NULL) u""",
    """INSERT INTO certificates (case_id, number, stars, level, rule_version, issued_on,
                                valid_to, status, decision_no, decision_date, decision_body,
                                created_at)
       SELECT c.id, 'C-' || c.id, c.stars, CASE WHEN c.stars = 5 THEN 'central' ELSE 'city' END,
              c.rule_version, d, d + 1095,
              CASE WHEN d + 1095 < :today THEN 'expired' ELSE 'valid' END,
              c.id || '/QĐ', d, 'UBND', now()
       FROM (SELECT id, stars, rule_version,
                    DATE '2019-01-01' + (id * 37) % 2700 AS d FROM cases) c""",
    """INSERT INTO certificates (case_id, number, stars, level, rule_version, issued_on,
                                valid_to, status, decision_no, decision_date, decision_body,
                                created_at)
       SELECT id, 'OLD-' || id, 3, 'district', '1048', DATE '2017-06-01',
              DATE '2020-06-01', 'superseded', 'old', DATE '2017-06-01', 'UBND', now()
       FROM cases WHERE id % 10 = 0""",
    """INSERT INTO audit_entries (case_id, seq, at, actor, role, trigger, from_state, to_state,
                                 data, rule_version, prev_hash, hash)
       SELECT c.id, s.seq, TIMESTAMPTZ '2019-01-01' + (c.id * 37 % 2700) * INTERVAL '1 day'
                                 + (s.seq * (2 + c.id % 9)) * INTERVAL '1 day',
              'bench', 'system', s.trig,
              s.from_state, s.to_state, '{}', '1489', 'x', 'x'
       FROM cases c,
            (VALUES (1, 'register', NULL, 'draft'), (2, 'submit', 'draft', 'registered'),
                    (3, 'start_review', 'registered', 'commune_prescore'),
                    (4, 'record_commune_prescore', 'commune_prescore', 'ip_check'),
                    (5, 'verify_ip', 'ip_check', 'city_rating'),
                    (6, 'record_city_score', 'city_rating', 'certified'))
            AS s(seq, trig, from_state, to_state)""",
    """INSERT INTO deadlines (case_id, kind, state, due_at, status, working_days, level,
                             fired_at, created_at)
       SELECT c.id, s.kind, s.state, now(), 'cancelled', true,
              CASE WHEN (c.id + s.n) % 10 = 0 THEN 1 ELSE 0 END,
              CASE WHEN (c.id + s.n) % 10 = 0 THEN now() END, now()
       FROM cases c,
            (VALUES (1, 'review_start', 'registered'), (2, 'commune_prescore', 'commune_prescore'),
                    (3, 'city_rating', 'city_rating')) AS s(n, kind, state)""",
    "SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))",
    "SELECT setval('producers_id_seq', (SELECT max(id) FROM producers))",
]
SCANS = ("certificates", "cases", "audit_entries", "deadlines")


def bench_reports(products: int, runs: int) -> dict[str, Any]:
    """``report_set`` over ``products`` certified products against one scan of each table it
    reads, medians of ``runs``."""
    with database("postgres") as url:
        app = make_app(url, FixedClock(START))
        started = time.perf_counter()
        with app.db.begin() as conn:
            for sql in SEED:
                conn.execute(text(sql), {"n": products, "today": TODAY})
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("VACUUM ANALYZE")
        seeded = time.perf_counter() - started
        with app.db.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                      for t in SCANS}
        report, floor = [], []
        for _ in range(runs + 1):  # the first run warms the caches and is not counted
            with app.db.connect() as conn:
                began = time.perf_counter()
                figures = reports.report_set(conn, TODAY)
                report.append(time.perf_counter() - began)
                began = time.perf_counter()
                for t in SCANS:
                    conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
                floor.append(time.perf_counter() - began)
        app.close()
    took, base = statistics.median(report[1:]), statistics.median(floor[1:])
    return {"report_set_ms": round(took * 1000, 1), "baseline_ms": round(base * 1000, 1),
            "ratio": round(took / base, 2), "rows": counts, "seed_s": round(seeded, 1),
            "runs": runs, "target_ms": 1000, "sections": sorted(figures)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--import-runs", type=int, default=3)
    parser.add_argument("--only", choices=("import", "reports"))
    args = parser.parse_args()
    configure("warning")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    out: dict[str, Any] = {"date": date.today().isoformat()}
    if args.only in (None, "import"):
        out["import"] = bench_import(args.import_runs)
        print(json.dumps(out["import"]), flush=True)
    if args.only in (None, "reports"):
        out["reports"] = bench_reports(args.products, args.runs)
        print(json.dumps(out["reports"]), flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
