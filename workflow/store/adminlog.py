"""The admin log: who did what to which account (and the reorganisation's producer moves), one
hash chain over the whole ``admin_log`` table, checked by ``ocop audit verify``.

Entry ``seq`` hashes, after the previous entry's hash (:data:`audit.GENESIS` for the first),
the canonical JSON of its seq, time, actor, action, target and data — the data exactly as
stored (canonical JSON text) — in the style of the cases' chains (:mod:`workflow.store.audit`).
:func:`record` appends in the caller's transaction, so the entry commits or rolls back with the
change it records. Writers never fork the chain: on PostgreSQL a transaction-scoped advisory
lock serialises them from reading the last entry until commit; on SQLite write transactions
are already serialised (``BEGIN IMMEDIATE``); and ``seq`` is unique, so a writer that read a
stale last entry anyway fails rather than writing a second entry after it.

What :func:`verify` can and cannot see. It names the first entry that was edited (its hash no
longer matches), deleted or inserted in the middle (a gap or a doubled seq, or an entry that
does not link to the one before it) or moved to another place (the seq is hashed). It does
**not** see the last entries deleted: with no head kept outside the table, what is left is
still a whole chain. Nor can it see a chain rewritten from some entry on with fresh hashes by
someone who can write the table: the hashes are not keyed. Issue 10 adds a key (a signed head);
until then the log shows careless or partial tampering, not a determined database owner.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, text

from workflow.errors import clause, render
from workflow.store.audit import GENESIS, canonical, utc_text
from workflow.store.schema import admin_log

# The advisory lock every PostgreSQL writer of the log holds until its transaction ends.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"ocop.admin_log").digest()[:4], "big")


def entry_hash(prev_hash: str, entry: Mapping[str, Any]) -> str:
    """The hash of ``entry`` (a row: seq, at, actor, action, target, data as stored)."""
    content = {"seq": entry["seq"], "at": utc_text(entry["at"]), "actor": entry["actor"],
               "action": entry["action"], "target": entry["target"], "data": entry["data"]}
    return hashlib.sha256(f"{prev_hash}\n{canonical(content)}".encode()).hexdigest()


def record(conn: Connection, now: datetime, actor: str, action: str, target: str,
           data: Mapping[str, Any]) -> dict[str, Any]:
    """Append the entry "``actor`` did ``action`` to ``target`` (``data``: what changed)" at
    ``now``, in the caller's transaction; returns the row written."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
    last = conn.execute(select(admin_log.c.seq, admin_log.c.hash)
                        .order_by(admin_log.c.seq.desc()).limit(1)).first()
    seq, prev = (last.seq + 1, last.hash) if last else (1, GENESIS)
    row = {"seq": seq, "at": now, "actor": actor, "action": action, "target": target,
           "data": canonical(dict(data)), "prev_hash": prev}
    row["hash"] = entry_hash(prev, row)
    conn.execute(insert(admin_log).values(**row))
    return row


@dataclass(frozen=True)
class Break:
    seq: int
    why: dict[str, Any]  # a clause of the catalogue's ``error`` kind (``break_edited``)

    @property
    def problem(self) -> str:
        return render(self.why["code"], self.why["params"], "en")

    def sentence(self, lang: str = "en") -> str:
        return render("admin_log_broken", {"seq": self.seq, "problem": self.why}, lang)


@dataclass(frozen=True)
class Verification:
    entries: int
    first_break: Break | None

    @property
    def ok(self) -> bool:
        return self.first_break is None


def verify(conn: Connection) -> Verification:
    """Walk the chain in seq order; name the first entry that breaks it."""
    total = int(conn.execute(select(func.count()).select_from(admin_log)).scalar_one())
    with closing(_entries(conn)) as rows:  # a break stops the walk: close the cursor
        return Verification(total, _first_break(rows))


def _first_break(rows: Iterator[dict[str, Any]]) -> Break | None:
    prev, expected = GENESIS, 1
    for row in rows:
        if row["seq"] != expected:
            return Break(expected, clause(
                "break_missing" if row["seq"] > expected else "break_duplicated",
                seq=expected))
        if row["prev_hash"] != prev:
            return Break(row["seq"], clause("break_unlinked"))
        if entry_hash(prev, row) != row["hash"]:
            return Break(row["seq"], clause("break_edited"))
        prev, expected = row["hash"], expected + 1
    return None


def _entries(conn: Connection) -> Generator[dict[str, Any], None, None]:
    query = select(admin_log).order_by(admin_log.c.seq, admin_log.c.id)
    with conn.execute(query.execution_options(yield_per=2000)) as rows:
        for row in rows:
            yield dict(row._mapping)


def entries(conn: Connection, target: str | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """The newest entries (of one ``target``), newest first, with their data as a dict."""
    query = select(admin_log).order_by(admin_log.c.seq.desc()).limit(limit)
    if target is not None:
        query = query.where(admin_log.c.target == target)
    return [{**dict(r._mapping), "data": json.loads(r.data)} for r in conn.execute(query)]
