"""``ocop audit verify``: the whole record checked against what a database writer cannot forge.

For every case, in one pass over its chain: the chain itself (``audit.check_chain``: every
entry's hash and link, the head on the case row), the row's seal (``seal``: an HMAC of the
length and head only the key can make), the replay (``replay``: state, rule version, score,
stars, cap, group and certificates — signature included — recomputed from the entries equal
the stored rows) and the latest signed checkpoint (``checkpoint``: the chain still holds the
entries and head it pinned, the case still exists). The first problem found is reported,
naming the case, the entry and what is wrong; ``unchecked`` says, in words, what this run could
not check.

A certificate's Ed25519 signature is recorded in the sealed entry that issued it, so comparing
the two strings proves it as well as verifying the signature would, at a thousandth of the
cost (Ed25519 verification costs ~170 µs here; ``signatures=True`` does it for every
certificate all the same, as anyone holding only the public key would).

On PostgreSQL, a large database is split by case id between worker processes that read the
same snapshot (``pg_export_snapshot``): a million entries are walked in a few seconds.
"""

from __future__ import annotations

import base64
import multiprocessing
import os
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import Connection, func, select, text

from workflow.errors import clause
from workflow.store import audit, checkpoint, replay, seal
from workflow.store.audit import Break
from workflow.store.db import make_engine, read_snapshot
from workflow.store.schema import admin_log, cases


class CaseRow(NamedTuple):
    id: int
    code: str
    audit_seq: int
    audit_head: str
    audit_seal: str | None
    state: str
    rule_version: str
    score: float | None
    stars: int | None
    star_cap: int | None
    product_group: str
    trademark_no: str | None
    potential_5: bool | None
    product: str
    producer_name: str


class CertRow(NamedTuple):
    case_id: int
    number: str
    status: str
    stars: int
    level: str
    rule_version: str
    issued_on: Any  # a date (PostgreSQL) or its ISO text (SQLite's driver)
    valid_to: Any
    decision_no: str | None
    decision_date: Any
    decision_body: str | None
    signature: str | None


# Read with the driver's own cursor, a plain tuple a row (SQLAlchemy's result processing cost
# ~25 µs a case here, on 166,667 cases).
CASES_SQL = ("SELECT c.id, c.code, c.audit_seq, c.audit_head, c.audit_seal, c.state, "
             "c.rule_version, c.score, c.stars, c.star_cap, c.product_group, c.trademark_no, "
             "c.potential_5, c.product, p.name "
             "FROM cases c JOIN producers p ON p.id = c.producer_id "
             "WHERE c.id BETWEEN {lo} AND {hi} ORDER BY c.id")
CERTS_SQL = ("SELECT case_id, number, status, stars, level, rule_version, issued_on, valid_to, "
             "decision_no, decision_date, decision_body, signature FROM certificates "
             "WHERE case_id BETWEEN {lo} AND {hi} ORDER BY case_id, id")
# Below this many cases one process walks them all; above, one worker per processor.
PARALLEL_FROM = 20_000


class Entry(NamedTuple):
    """An audit entry as verify reads it: its links, the hash of its stored content computed
    afresh here (``computed``, ``audit.text_hash``), and what the replay needs."""

    case_id: int
    seq: int
    prev_hash: str
    hash: str
    computed: str
    trigger: str
    to_state: str
    rule_version: str
    data: str | None


def computed_hash(prev: str, code: str, e: Entry) -> str:
    """``check_chain`` compares the stored link first, so the hash computed from the stored
    ``prev_hash`` is the one to compare."""
    return e.computed


# The stored columns in (case, seq) order, ``at`` as ``audit.utc_text`` writes it. Measured on
# PostgreSQL: hashing here (audit.text_hash, ~2 µs) costs less than having the database build
# and hash the canonical text (~6 µs a row in the server).
_AT = {
    "postgresql": "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')",
    "sqlite": "replace(at, ' ', 'T') || 'Z'",  # stored naive UTC, six fraction digits
}
ENTRIES = ("SELECT case_id, seq, {at}, actor, role, trigger, from_state, to_state, reason, "
           "data, rule_version, prev_hash, hash FROM audit_entries "
           "WHERE case_id BETWEEN {lo} AND {hi} ORDER BY case_id, seq")


@dataclass
class Report:
    cases: int = 0
    entries: int = 0
    first_break: Break | None = None
    checkpoint: checkpoint.Checkpoint | None = None
    # What could not be checked: (ui label code, parameters) pairs, rendered in words.
    unchecked: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    partial_cases: int = 0
    after_checkpoint: int = 0  # entries written since the checkpoint

    @property
    def ok(self) -> bool:
        return self.first_break is None

    def add(self, other: Report) -> None:
        self.cases += other.cases
        self.entries += other.entries
        self.partial_cases += other.partial_cases
        self.after_checkpoint += other.after_checkpoint


class Checker:
    """One case's checks, with the key and the checkpoint's pins read once."""

    def __init__(self, keys: seal.Keys, pinned_by: checkpoint.Checkpoint | None,
                 signatures: bool = False) -> None:
        self.sealer = keys.sealer()
        self.public = Ed25519PublicKey.from_public_bytes(keys.public_raw)
        self.pins = pinned_by.cases if pinned_by is not None else {}
        self.pinned_by = pinned_by
        self.signatures = signatures

    def check(self, case: Any, entries: list[Entry], certs: list[Any],
              report: Report | None = None) -> Break | None:
        brk = audit.check_chain(case, entries, computed_hash)
        if brk is not None:
            return brk
        if case.audit_seal != self.sealer(case.code, case.audit_seq, case.audit_head):
            return Break(case.code, case.audit_seq, clause("break_seal"))
        replayed, problem = replay.fold(entries)
        if problem is not None:
            return Break(case.code, problem[0], problem[1])
        if report is not None and replayed.partial:
            report.partial_cases += 1
        difference = replay.compare(replayed, case, certs)
        if difference is not None:
            return Break(case.code, difference[0], difference[1])
        for cert in certs:
            recorded = replayed.certificates.get(cert.number, {})
            if (self.signatures or "signature" not in recorded) and not self._signed(case, cert):
                return Break(case.code, recorded.get("seq", case.audit_seq), clause(
                    "break_certificate_signature", number=cert.number))
        pin = self.pins.get(case.code)
        if pin is not None and self.pinned_by is not None:
            brk = self._against_pin(case, entries, certs, pin, replayed.partial)
            if brk is not None:
                return brk
            if report is not None:
                report.after_checkpoint += case.audit_seq - pin[0]
        elif report is not None and self.pinned_by is not None:
            report.after_checkpoint += case.audit_seq
        return None

    def _against_pin(self, case: Any, entries: list[Entry], certs: list[Any],
                     pin: tuple[int, str, str], partial: bool) -> Break | None:
        seq, head, digest = pin
        assert self.pinned_by is not None
        at = self.pinned_by.at
        if len(entries) < seq:
            return Break(case.code, len(entries) + 1, clause(
                "break_checkpoint_shorter", held=len(entries), pinned=seq, at=at))
        if seq and entries[seq - 1].hash != head:
            return Break(case.code, seq, clause("break_checkpoint_head", at=at))
        # Replay already holds the row to its chain, pinned here; a case replayed only in part
        # (registered before entries recorded effects) is held to the signed digest instead.
        if partial and case.audit_seq == seq and checkpoint.state_digest(case, certs) != digest:
            return Break(case.code, seq, clause("break_checkpoint_state", at=at))
        return None

    def _signed(self, case: Any, cert: Any) -> bool:
        if not cert.signature:
            return False
        payload = seal.certificate_payload(cert._asdict(), case.code, case.product,
                                           case.producer_name)
        try:
            self.public.verify(base64.b64decode(cert.signature), payload)
        except (InvalidSignature, ValueError):
            return False
        return True


def verify(conn: Connection, keys: seal.Keys, folder: Path | None,
           case_code: str | None = None, signatures: bool = False,
           workers: int | None = None) -> Report:
    """Check every case (or one) and, with no case given, the admin log against the latest
    checkpoint in ``folder``; stop at the first problem. ``conn`` is a read snapshot
    (``db.read_snapshot``); on PostgreSQL the workers join the same snapshot."""
    report = Report()
    cp, before = checkpoint.latest(folder) if folder is not None else (None, None)
    if cp is not None:
        problem = checkpoint.file_problem(cp, before, keys)
        if problem is not None:
            report.first_break = Break("", 0, problem, "checkpoint_broken")
            return report
        report.checkpoint = cp
    span = select(func.min(cases.c.id), func.max(cases.c.id), func.count())
    lo, hi, count = conn.execute(span.where(cases.c.code == case_code) if case_code
                                 else span).one()
    if count:
        ranges = _ranges(conn, (lo, hi, count), workers, case_code)
        job = _Job(keys, cp, signatures, case_code)
        part = job.run(conn, *ranges[0]) if len(ranges) == 1 else _parallel(conn, job, ranges)
        report.add(part)
        report.first_break = part.first_break
        if report.first_break is not None:
            return report
    if cp is not None:
        brk = _deleted(conn, cp, case_code)
        if brk is not None:
            report.first_break = brk
            return report
    _unchecked(report, keys)
    return report


def check_one(conn: Connection, keys: seal.Keys, case_id: int) -> Break | None:
    """One case's chain, seal, replay and certificates, each signature verified with the
    public key (the public verify page; checkpoints are ``ocop audit verify``'s)."""
    job = _Job(keys, None, True, None)
    return job.run(conn, case_id, case_id).first_break


@dataclass
class _Job:
    keys: seal.Keys
    cp: checkpoint.Checkpoint | None
    signatures: bool
    case_code: str | None

    def run(self, conn: Connection, lo: int, hi: int) -> Report:
        """Check the cases with ids in [lo, hi]; the first problem in id order."""
        report = Report()
        checker = Checker(self.keys, self.cp, self.signatures)
        with closing(_cases(conn, lo, hi, self.case_code)) as walk:
            for case, entries, certs in walk:
                report.cases += 1
                report.entries += len(entries)
                brk = checker.check(case, entries, certs, report)
                if brk is not None:
                    report.first_break = brk
                    break
        return report


def _ranges(conn: Connection, span: tuple[int, int, int], workers: int | None,
            case_code: str | None) -> list[tuple[int, int]]:
    """Case id ranges of about equal size, one per worker."""
    lo, hi, count = span
    n = 1 if case_code or conn.dialect.name != "postgresql" or count < PARALLEL_FROM \
        else (workers or os.cpu_count() or 1)
    if n == 1:
        return [(lo, hi)]
    step = -(-count // n)
    bounds = [r[0] for r in conn.execute(text(
        "SELECT id FROM (SELECT id, row_number() OVER (ORDER BY id) AS k FROM cases) AS t "
        "WHERE (k - 1) % :step = 0 OR k = :count ORDER BY id"), {"step": step, "count": count})]
    starts = bounds[:n]
    return [(start, (starts[i + 1] - 1) if i + 1 < len(starts) else bounds[-1])
            for i, start in enumerate(starts)]


# Set before forking: what every worker needs (the key, the pins: too large to pickle twice).
_FORKED: dict[str, Any] = {}


def _parallel(conn: Connection, job: _Job, ranges: list[tuple[int, int]]) -> Report:
    snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
    _FORKED.update(job=job, url=conn.engine.url.render_as_string(hide_password=False),
                   snapshot=snapshot)
    try:
        with multiprocessing.get_context("fork").Pool(len(ranges)) as pool:
            parts = pool.map(_run_range, ranges)
    finally:
        _FORKED.clear()
    total = Report()
    for part in parts:  # the first problem in case id order
        total.add(part)
        if part.first_break is not None and total.first_break is None:
            total.first_break = part.first_break
    return total


def _run_range(bounds: tuple[int, int]) -> Report:
    db = make_engine(_FORKED["url"], pool_size=1, max_overflow=0)
    try:
        with read_snapshot(db, _FORKED["snapshot"]) as conn:
            report: Report = _FORKED["job"].run(conn, *bounds)
            return report
    finally:
        db.dispose()


def _deleted(conn: Connection, cp: checkpoint.Checkpoint, case_code: str | None
             ) -> Break | None:
    """A case the checkpoint signed that is gone; then the admin log against its pin."""
    pins = cp.cases
    wanted = ([case_code] if case_code in pins else []) if case_code else list(pins)
    if wanted:
        present = {r[0] for r in conn.execute(select(cases.c.code).where(
            cases.c.code == case_code) if case_code else select(cases.c.code))}
        for code in sorted(set(wanted) - present):
            return Break(code, pins[code][0], clause(
                "break_case_deleted", at=cp.at, entries=pins[code][0]))
    if case_code is None:
        problem = _admin_log_pin(conn, cp)
        if problem is not None:
            return Break("", cp.doc["admin_log"]["seq"], problem, "admin_log_broken")
    return None


def _admin_log_pin(conn: Connection, cp: checkpoint.Checkpoint) -> dict[str, Any] | None:
    pinned = cp.doc.get("admin_log") or {}
    seq, head = int(pinned.get("seq") or 0), pinned.get("head")
    if not seq:
        return None
    row = conn.execute(select(admin_log.c.hash).where(admin_log.c.seq == seq)).first()
    if row is None or row.hash != head:
        return clause("break_admin_log_checkpoint", at=cp.at, seq=seq)
    return None


def _unchecked(report: Report, keys: seal.Keys) -> None:
    if keys.path is None:
        report.unchecked.append(("unchecked_process_key", {}))
    if report.checkpoint is None:
        report.unchecked.append(("unchecked_no_checkpoint", {}))
    elif report.after_checkpoint:
        report.unchecked.append(("unchecked_after_checkpoint", {
            "entries": report.after_checkpoint, "at": report.checkpoint.at}))
    if report.partial_cases:
        report.unchecked.append(("unchecked_partial", {"cases": report.partial_cases}))


def _cases(conn: Connection, lo: int, hi: int, case_code: str | None
           ) -> Generator[tuple[Any, list[Entry], list[Any]], None, None]:
    """Each case with ids in [lo, hi] with its entries (in seq order) and certificates: the
    entries are streamed through the driver's own cursor, the cases and certificates read
    first (a row each)."""
    all_cases = {row[0]: CaseRow._make(row)
                 for row in _raw(conn, CASES_SQL.format(lo=int(lo), hi=int(hi)))
                 if not case_code or row[1] == case_code}
    certs: dict[int, list[Any]] = {}
    for row in _raw(conn, CERTS_SQL.format(lo=int(lo), hi=int(hi))):
        certs.setdefault(row[0], []).append(CertRow._make(row))
    current: int | None = None
    code = ""
    bucket: list[Entry] = []
    text_hash = audit.text_hash
    for (case_id, seq, at, actor, role, trigger, from_state, to_state, reason, data, rules,
         prev, digest) in _entry_rows(conn, lo, hi):
        if case_id != current:
            if current is not None and current in all_cases:
                yield all_cases.pop(current), bucket, certs.get(current, [])
            current, bucket = case_id, []
            code = all_cases[case_id].code if case_id in all_cases else ""
        bucket.append(Entry(case_id, seq, prev, digest, text_hash(
            prev, code, seq, at, actor, role, trigger, from_state, to_state, reason, data,
            rules), trigger, to_state, rules, data))
    if current is not None and current in all_cases:
        yield all_cases.pop(current), bucket, certs.get(current, [])
    for case_id, case in all_cases.items():
        yield case, [], certs.get(case_id, [])


def _raw(conn: Connection, sql: str) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` (no parameters) as plain tuples, through the driver's cursor."""
    driver = conn.connection.driver_connection
    assert driver is not None
    cursor = driver.cursor()
    try:
        cursor.execute(sql)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _entry_rows(conn: Connection, lo: int, hi: int) -> Iterator[tuple[Any, ...]]:
    """The entries of cases [lo, hi] in (case, seq) order as plain tuples: on PostgreSQL
    straight from a server-side cursor of the driver (no per-row result processing)."""
    sql = ENTRIES.format(at=_AT[conn.dialect.name], lo=int(lo), hi=int(hi))
    if conn.dialect.name == "postgresql":
        driver = conn.connection.driver_connection
        assert driver is not None
        with driver.cursor(name="ocop_verify_entries") as cursor:
            cursor.execute(sql)
            while rows := cursor.fetchmany(5000):  # not row by row: a call per row costs more
                yield from rows
        return
    with conn.execution_options(yield_per=5000).exec_driver_sql(sql) as rows:
        yield from rows
