# ruff: noqa: E402  (sys.path is fixed before the imports: bench/transitions.py shadows a library)
"""``ocop audit verify`` over a million audit entries on PostgreSQL (target < 10 s).

One real case is driven through certification by the engine (1489: submit, review, commune
pre-score, trademark, city score -> certified 4★); its entries are the template. The
database is then filled with copies, each a case of its own: its own code, certificate number
(signed), hashes, seal — so the chains, the replay and the signatures all check as they would
after a real year. A signed checkpoint is taken. Then, each as a whole process, timed:

  verify     ``ocop audit verify``: every chain, seal, replay, certificate signature, the
             checkpoint and the admin log
  baseline   the floor of the same walk: a bare psycopg process that reads every entry in
             (case, seq) order and SHA-256es its content, nothing else

    .venv/bin/python bench/verify.py [--entries 1000000] [--runs 3]
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
from typing import Any

import psycopg
from sqlalchemy import select, text

from bench.common import database
from tests.support import TEST_SIGNING_KEY, World, make_app
from tests.unit.lifecycle_support import Driver
from workflow import record
from workflow.domain import certificates as numbers
from workflow.logs import configure
from workflow.store import audit, seal
from workflow.store.schema import audit_entries, cases, certificates

BASELINE = """
import hashlib, sys, psycopg
with psycopg.connect(sys.argv[1]) as conn, conn.cursor(name="walk") as cur:
    cur.itersize = 5000
    cur.execute("SELECT case_id, seq, at, actor, role, trigger, from_state, to_state, reason,"
                " data, rule_version, prev_hash, hash FROM audit_entries ORDER BY case_id, seq")
    n = 0
    for row in cur:
        hashlib.sha256(repr(row).encode()).hexdigest()
        n += 1
print(n)
"""

ENTRY_COLUMNS = ("case_id", "seq", "at", "actor", "role", "trigger", "from_state", "to_state",
                 "reason", "data", "rule_version", "prev_hash", "hash")


def template(url: str, folder: Path) -> tuple[Any, list[dict[str, Any]], dict[str, Any], Any]:
    """A real certified case: the app, its entries, its case row and its certificate row."""
    app = make_app(url, checkpoint_dir=str(folder))
    world = World(app)
    code = Driver(world).reach("1489", "certified")
    with app.db.connect() as conn:
        case = dict(conn.execute(select(cases).where(cases.c.code == code)).one()._mapping)
        entries = [dict(r._mapping) for r in conn.execute(
            select(audit_entries).where(audit_entries.c.case_id == case["id"])
            .order_by(audit_entries.c.seq))]
        cert = dict(conn.execute(select(certificates)
                                 .where(certificates.c.case_id == case["id"])).one()._mapping)
    return app, entries, case, cert


def clone(i: int, case_id: int, entries: list[dict[str, Any]], case: dict[str, Any],
          cert: dict[str, Any], keys: seal.Keys, producer: str
          ) -> tuple[dict[str, Any], list[tuple[Any, ...]], dict[str, Any]]:
    """Copy ``i`` of the template: a case of its own, rehashed, sealed and signed."""
    code = f"B-{i:07d}"
    number = numbers.number("city", cert["issued_on"])
    new_cert = {**cert, "id": case_id, "case_id": case_id, "number": number}
    new_cert["signature"] = keys.sign(seal.certificate_payload(new_cert, code, case["product"],
                                                              producer))
    prev, rows = audit.GENESIS, []
    for entry in entries:
        data = json.loads(entry["data"])
        if data.get("certificate") == cert["number"]:
            data["certificate"] = number
            data["effects"]["issued"].update(number=number, signature=new_cert["signature"])
        row = {**entry, "case_id": case_id, "data": audit.canonical(data), "prev_hash": prev}
        row["hash"] = prev = audit.entry_hash(prev, code, row)
        rows.append(tuple(row[c] for c in ENTRY_COLUMNS))
    new_case = {**case, "id": case_id, "code": code, "status_token": f"tok-{i}",
                "audit_head": prev,
                "audit_seal": keys.seal(code, case["audit_seq"], prev)}
    return new_case, rows, new_cert


def fill(url: str, n_cases: int, entries: list[dict[str, Any]], case: dict[str, Any],
         cert: dict[str, Any], keys: seal.Keys, producer: str) -> float:
    started = time.perf_counter()
    case_cols = [c for c in case if c != "dossier"] + ["dossier"]
    cert_cols = list(cert)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    first = case["id"] + 1
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY cases ({', '.join(case_cols)}) FROM STDIN") as cases_copy:
            batch_entries: list[tuple[Any, ...]] = []
            batch_certs: list[tuple[Any, ...]] = []
            for i in range(n_cases):
                c, rows, ce = clone(i, first + i, entries, case, cert, keys, producer)
                cases_copy.write_row([c[k] if k != "dossier" else json.dumps(c[k])
                                      for k in case_cols])
                batch_entries.extend(rows)
                batch_certs.append(tuple(ce[k] for k in cert_cols))
        with cur.copy(f"COPY audit_entries ({', '.join(ENTRY_COLUMNS)}) FROM STDIN") as copy:
            for row in batch_entries:
                copy.write_row(row)
        with cur.copy(f"COPY certificates ({', '.join(cert_cols)}) FROM STDIN") as copy:
            for row in batch_certs:
                copy.write_row(row)
        cur.execute("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))")
        cur.execute("SELECT setval('certificates_id_seq', (SELECT max(id) FROM certificates))")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    return time.perf_counter() - started


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, cwd=_ROOT, check=False)
    return time.perf_counter() - started, done


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    configure(json=True, level=logging.WARNING)
    with database("postgres") as url, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "checkpoints"
        app, entries, case, cert = template(url, folder)
        with app.db.connect() as conn:
            producer = conn.execute(text("SELECT name FROM producers WHERE id = :p"),
                                    {"p": case["producer_id"]}).scalar_one()
        n_cases = max(1, args.entries // len(entries))
        took = fill(url, n_cases, entries, case, cert, app.keys, producer)
        total = n_cases * len(entries) + len(entries)
        print(f"filled {n_cases + 1:,} cases, {total:,} entries, {n_cases + 1:,} signed "
              f"certificates in {took:.0f} s", flush=True)
        record.take_checkpoint(app)
        app.close()
        env = {**os.environ, "OCOP_DATABASE_URL": url, "OCOP_SIGNING_KEY": TEST_SIGNING_KEY,
               "OCOP_CHECKPOINT_DIR": str(folder), "OCOP_LANG": "en"}
        dsn = url.replace("postgresql+psycopg://", "postgresql://")
        verify_s, base_s = [], []
        for _ in range(args.runs):
            took_v, done = timed([sys.executable, "-m", "workflow", "audit", "verify", "--json"],
                                 env)
            report = json.loads(done.stdout)
            assert done.returncode == 0 and report["entries"] == total, done.stderr[-2000:]
            took_b, base = timed([sys.executable, "-c", BASELINE, dsn], env)
            assert base.returncode == 0 and int(base.stdout) == total, base.stderr[-2000:]
            verify_s.append(took_v)
            base_s.append(took_b)
        v, b = statistics.median(verify_s), statistics.median(base_s)
        print(f"verify   : {v:6.2f} s  median of {args.runs} whole processes "
              f"({total / v:,.0f} entries/s)   target < 10 s: {'met' if v < 10 else 'MISSED'}")
        print(f"baseline : {b:6.2f} s  (read every entry in order and SHA-256 it)")
        print(f"ratio    : {v / b:6.2f}x the baseline")


if __name__ == "__main__":
    main()
