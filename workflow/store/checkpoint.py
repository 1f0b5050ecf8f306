"""Signed checkpoints: every chain's length and head, pinned outside the database.

``ocop audit checkpoint`` (and beat, every ``OCOP_CHECKPOINT_INTERVAL`` seconds) writes one
JSON file to ``OCOP_CHECKPOINT_DIR``: the list of cases, each with its chain's length, head and
a digest of its state and certificates, the admin log's length and head, the previous file's
hash, all signed with the office's key. Files are created exclusively and never rewritten, so
the folder only grows (give it to a write-once store or back it up elsewhere; with
``OCOP_CHECKPOINT_URL`` each file is also POSTed there). ``ocop audit verify`` then finds what
someone with database access cannot hide by rehashing: entries removed from a chain's end
with the head rolled back, a whole case deleted, entries rewritten before the checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, select

from workflow.errors import clause
from workflow.store import seal
from workflow.store.audit import canonical, utc_text
from workflow.store.schema import admin_log, cases, certificates

FORMAT = "ocop-checkpoint/1"


def _day(value: Any) -> str:
    if value is None:  # a pending certificate's validity
        return ""
    return value if isinstance(value, str) else str(value.isoformat())


def state_digest(case: Any, certs: Iterable[Any]) -> str:
    """A case row's replayed columns and its certificates' rows, hashed."""
    return hashlib.sha256(canonical({
        "state": case.state, "rule_version": case.rule_version, "score": case.score,
        "stars": case.stars, "star_cap": case.star_cap, "product_group": case.product_group,
        "certificates": sorted([c.number, c.status, c.stars, c.level, _day(c.issued_on),
                                _day(c.valid_to)] for c in certs),
    }).encode()).hexdigest()[:32]


def snapshot(conn: Connection) -> tuple[list[list[Any]], dict[str, Any]]:
    """Every case as [code, length, head, state digest], and the admin log's length and
    head: read in one transaction, so a case and its certificates are seen together."""
    by_case: dict[int, list[Any]] = {}
    for cert in conn.execute(select(certificates).order_by(certificates.c.case_id)):
        by_case.setdefault(cert.case_id, []).append(cert)
    rows = conn.execute(select(cases.c.id, cases.c.code, cases.c.audit_seq, cases.c.audit_head,
                               cases.c.state, cases.c.rule_version, cases.c.score,
                               cases.c.stars, cases.c.star_cap, cases.c.product_group)
                        .order_by(cases.c.code))
    listed = [[r.code, r.audit_seq, r.audit_head, state_digest(r, by_case.get(r.id, ()))]
              for r in rows]
    last = conn.execute(select(admin_log.c.seq, admin_log.c.hash)
                        .order_by(admin_log.c.seq.desc()).limit(1)).first()
    log = {"seq": last.seq if last else 0, "head": last.hash if last else None}
    return listed, log


@dataclass(frozen=True)
class Checkpoint:
    path: Path
    doc: dict[str, Any]

    @property
    def number(self) -> int:
        return int(self.doc["number"])

    @property
    def at(self) -> str:
        return str(self.doc["at"])

    @property
    def cases(self) -> dict[str, tuple[int, str, str]]:
        return {code: (seq, head, digest) for code, seq, head, digest in self.doc["cases"]}


def body_digest(doc: dict[str, Any]) -> str:
    body = {k: v for k, v in doc.items() if k not in ("digest", "signature")}
    return hashlib.sha256(canonical(body).encode()).hexdigest()


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def listing(folder: Path) -> list[Path]:
    """The checkpoint files, oldest first (their names start with their number)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.json") if p.name[:8].isdigit())


def read(path: Path) -> Checkpoint:
    return Checkpoint(path, json.loads(path.read_text(encoding="utf-8")))


def latest(folder: Path) -> tuple[Checkpoint | None, Checkpoint | None]:
    """The last checkpoint and the one before it."""
    files = listing(folder)
    last = read(files[-1]) if files else None
    before = read(files[-2]) if len(files) > 1 else None
    return last, before


def write(conn: Connection, keys: seal.Keys, now: datetime, folder: Path) -> Checkpoint:
    """Sign a checkpoint of the database as it stands and add it to ``folder``."""
    listed, log = snapshot(conn)
    folder.mkdir(parents=True, exist_ok=True)
    files = listing(folder)
    prev = read(files[-1]) if files else None
    doc: dict[str, Any] = {
        "format": FORMAT, "number": (prev.number + 1) if prev else 1, "at": utc_text(now),
        "prev": file_hash(prev.path) if prev else None, "key": keys.fingerprint,
        "public_key": keys.public_b64, "case_count": len(listed),
        "entry_count": sum(c[1] for c in listed), "admin_log": log, "cases": listed,
    }
    doc["digest"] = body_digest(doc)
    doc["signature"] = keys.sign(doc["digest"].encode())
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"{doc['number']:08d}-{stamp}.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o444)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(doc, out, ensure_ascii=False, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    return Checkpoint(path, doc)


def file_problem(cp: Checkpoint, before: Checkpoint | None,
                 keys: seal.Keys) -> dict[str, Any] | None:
    """Why a checkpoint file cannot be trusted, as a clause; None when it checks."""
    doc = cp.doc
    if doc.get("format") != FORMAT:
        return clause("break_checkpoint_unreadable", file=cp.path.name)
    if doc.get("key") != keys.fingerprint:
        return clause("break_checkpoint_other_key", file=cp.path.name, signed_by=doc.get("key"),
                      ours=keys.fingerprint)
    if body_digest(doc) != doc.get("digest") or not seal.verify_signature(
            keys.public_raw, str(doc["digest"]).encode(), doc.get("signature")):
        return clause("break_checkpoint_signature_bad", file=cp.path.name)
    if before is not None and doc.get("prev") != file_hash(before.path):
        return clause("break_checkpoint_unlinked", file=cp.path.name, previous=before.path.name)
    return None
