"""The one writer of a case's history: the next entry of its hash chain, and the head moved.

Every path that changes a case — an engine event, the sweep's set-based batch, registration —
appends through here. A :class:`Chain` says where a case's chain stands (last seq and hash);
:meth:`Chain.next` hashes the next entry from it (``workflow.store.audit`` has the hashing)
and moves it on. :func:`write` then makes the entries durable with the case rows' heads,
set-based: one statement moving every case row (``move``, an UPDATE that sets
``audit_seq = :seq``, ``audit_head = :head`` and ``audit_seal = :seal`` (the head's HMAC under
the signing key, ``seal``), guarded by the case's version) and one
insert of every entry, whether they are one case's or a batch's of hundreds. So one event
costs exactly the two statements it always did, and a batch costs two whatever its size. Both
run on the driver's cursor (``driver.run``): they are every transition's hot writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, update
from sqlalchemy.sql.dml import Update

from workflow.errors import Conflict
from workflow.store import audit, seal
from workflow.store import statements as stmt
from workflow.store.driver import run
from workflow.store.schema import cases

# The case row of an act that moves no case (an internal event): only its version and head.
MOVE_HEAD = (
    update(cases)
    .where(cases.c.id == bindparam("case_id"), cases.c.version == bindparam("old_version"))
    .values(version=bindparam("new_version"), audit_seq=bindparam("seq"),
            audit_head=bindparam("head"), audit_seal=bindparam("seal"),
            updated_at=bindparam("now"), rule_version=bindparam("rules"))
)


@dataclass
class Chain:
    """Where one case's audit chain stands: the case, its last entry's seq and hash."""

    case_id: int
    code: str
    seq: int
    head: str

    @classmethod
    def of(cls, case: Mapping[str, Any]) -> Chain:
        """The chain as the case row records it (``audit_seq``, ``audit_head``)."""
        return cls(case["id"], case["code"], case["audit_seq"], case["audit_head"])

    @classmethod
    def genesis(cls, case_id: int, code: str) -> Chain:
        """A new case's chain, before its first entry."""
        return cls(case_id, code, 0, audit.GENESIS)

    def next(self, **fields: Any) -> dict[str, Any]:
        """The next entry's row, hashed onto the head; the chain then stands after it.
        ``fields``: at, actor, role, trigger, from_state, to_state, reason, data (a dict),
        rule_version."""
        entry = audit.new_entry(self.case_id, self.code, self.seq + 1, self.head, **fields)
        self.seq, self.head = entry["seq"], entry["hash"]
        return entry

    def params(self, keys: seal.Keys) -> dict[str, Any]:
        """The bind parameters ``move`` takes from the chain: its length, head and seal."""
        return {"case_id": self.case_id, "seq": self.seq, "head": self.head,
                "seal": keys.seal(self.code, self.seq, self.head)}


def write(conn: Connection, move: Update,
          rows: Sequence[tuple[Chain, Mapping[str, Any]]],
          entries: Sequence[dict[str, Any]]) -> None:
    """Move the case rows and insert ``entries``: one statement each.

    ``rows``: each case's chain (standing after its last entry of ``entries``) with the rest of
    the parameters ``move`` takes. A case row whose version moved meanwhile matches nothing,
    and the whole write is refused with :class:`Conflict` (raised out of the caller's
    transaction, it rolls back the rows already moved; inside ``driver.pipeline`` it is raised at
    the block's end, with the entries written and rolled back the same way)."""
    if not rows:
        return
    keys = seal.of(conn)
    if len(rows) == 1:
        chain, params = rows[0]
        run(conn, move, {**params, **chain.params(keys)}, expect=1,
            refuse=lambda _: Conflict("case_changed", case=chain.code,
                                      trigger=entries[-1]["trigger"]))
    else:
        run(conn, move, [{**params, **chain.params(keys)} for chain, params in rows],
            expect=len(rows), refuse=lambda matched: Conflict(
                "batch_conflict", changed=len(rows) - matched, total=len(rows)))
    run(conn, stmt.INSERT_AUDIT, entries)


def append(conn: Connection, chain: Chain, move: Update, params: Mapping[str, Any],
           **fields: Any) -> dict[str, Any]:
    """One case's next entry (``fields``: as :meth:`Chain.next`), written with its row moved
    by ``move`` (``params``: the rest of its parameters). Returns the entry."""
    entry = chain.next(**fields)
    write(conn, move, [(chain, params)], [entry])
    return entry
