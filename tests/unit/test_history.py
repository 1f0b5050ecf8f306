"""One writer of a case's history (``workflow.store.history``): the only module that appends audit
entries; one event costs the statements it always did; a batch of entries for many cases is
two statements whatever its size; a case row that moved meanwhile refuses the whole write."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, func, select

from tests.support import DOCS, World
from workflow.engine import INTERNAL_TRIGGERS, is_internal
from workflow.errors import Conflict
from workflow.store import audit, history
from workflow.store.db import write_transaction
from workflow.store.schema import audit_entries, cases

WORKFLOW = Path(history.__file__).parent
# Where the writer's parts are defined (hashing, the insert, the tables) and the writer itself.
DEFINED_IN = {"audit.py", "statements.py", "schema.py", "history.py"}
# What a case row's chain columns may be set to elsewhere: the writer's parameters, or the
# empty chain of a case not yet registered.
CHAIN_VALUES = {"audit_head": ("head", "GENESIS"), "audit_seq": ("seq", 0)}
# The audited submit's statements (SQLite), as the driver runs them: BEGIN IMMEDIATE, the locked
# case read (with its live clocks and the kinds uploaded to its dossier, what ``submit``
# checks), the case moved, its audit entry, its review clock, the producer's notices (in-app
# and e-mail: one executemany, traced per row), COMMIT.
# Bench: bench/transitions.py (its raw side runs the same statements on the bare cursor).
SUBMIT_STATEMENTS = ["BEGIN", "SELECT", "UPDATE", "INSERT audit_entries", "INSERT deadlines",
                     "INSERT outbox", "INSERT outbox", "COMMIT"]


@contextmanager
def counted(world: World, conn: Connection | None = None) -> Iterator[list[str]]:
    """The SQL statements the SQLite driver runs inside the block (the hot writes go straight
    to its cursor, so SQLAlchemy's events would not see them), each as its first words.
    ``conn``: the caller's open transaction, if any (the one in-memory connection either way)."""
    seen: list[str] = []

    def record(sql: str) -> None:
        words = sql.split()
        seen.append(f"{words[0]} {words[2]}" if words[0] == "INSERT" else words[0])

    with ExitStack() as stack:
        held = conn or stack.enter_context(world.app.db.connect())
        driver = held.connection.driver_connection
        driver.set_trace_callback(record)  # type: ignore[union-attr]
        try:
            yield seen
        finally:
            driver.set_trace_callback(None)  # type: ignore[union-attr]


def locked_case(conn: Connection, code: str) -> dict[str, Any]:
    return dict(conn.execute(select(cases).where(cases.c.code == code)).one()._mapping)


def internal_entry(chain: history.Chain, world: World, reason: str) -> dict[str, Any]:
    return chain.next(at=world.clock.now(), actor="system", role="system", trigger="escalate",
                      from_state="registered", to_state="registered", reason=reason,
                      data={"deadline": "review_start"}, rule_version="1489")


def moved(case: dict[str, Any], world: World, bump: int = 1) -> dict[str, Any]:
    return {"old_version": case["version"], "new_version": case["version"] + bump,
            "now": world.clock.now(), "rules": case["rule_version"]}


def chain_writes(tree: ast.AST) -> Iterator[tuple[int, str]]:
    """Where a module hashes or inserts an audit entry, or sets a case's chain columns to
    anything but the writer's parameters."""
    for node in ast.walk(tree):
        name = node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", None)
        if name in ("new_entry", "INSERT_AUDIT") and isinstance(node, ast.expr):
            yield node.lineno, name
        if (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "insert"
                and any(getattr(a, "id", None) == "audit_entries" for a in node.args)):
            yield node.lineno, "insert(audit_entries)"
        if isinstance(node, ast.keyword) and node.arg in CHAIN_VALUES:
            value = node.value
            given = (value.args[0].value if isinstance(value, ast.Call) and value.args
                     and isinstance(value.args[0], ast.Constant) else
                     getattr(value, "id", getattr(value, "value", None)))
            if given not in CHAIN_VALUES[node.arg]:
                yield value.lineno, f"{node.arg}={ast.unparse(value)}"


def test_only_the_history_module_appends_audit_entries() -> None:
    """No module of ``workflow/`` but history.py hashes or inserts an audit entry or moves a
    case's chain head by itself: every path that changes a case (engine, sweep batch,
    registration) goes through the one writer."""
    offenders = [f"{path.relative_to(WORKFLOW)}:{line} {what}"
                 for path in sorted(WORKFLOW.rglob("*.py"))
                 if not (path.name in DEFINED_IN and path.parent == WORKFLOW)
                 for line, what in chain_writes(ast.parse(path.read_text(encoding="utf-8")))]
    assert offenders == []


def test_one_submit_runs_exactly_todays_statements(world: World) -> None:
    """The engine's audited ``submit`` is one read (the locked case with its clocks and its
    uploaded document kinds), the four rows it writes and the commit: writing through
    ``history`` adds nothing."""
    code = world.register()
    with counted(world) as seen:
        world.fire(code, "submit", "producer1", DOCS)
    assert seen == SUBMIT_STATEMENTS


def test_a_batch_for_many_cases_is_two_statements_and_chains_in_order(world: World) -> None:
    """Three entries for two cases (two for the first, chained in order) are written with one
    update of the case rows and one insert of the entries, each one executemany (SQLite's
    driver steps it once per row: every row moved before any entry); both chains verify."""
    one, two = world.register(), world.register()
    for code in (one, two):
        world.fire(code, "submit", "producer1", DOCS)
    with write_transaction(world.app.db) as conn:
        first, second = locked_case(conn, one), locked_case(conn, two)
        a, b = history.Chain.of(first), history.Chain.of(second)
        entries = [internal_entry(a, world, "1"), internal_entry(b, world, "2"),
                   internal_entry(a, world, "3")]
        with counted(world, conn) as seen:
            history.write(conn, history.MOVE_HEAD, [(a, moved(first, world, 2)),
                                                    (b, moved(second, world))], entries)
    assert seen == ["UPDATE"] * 2 + ["INSERT audit_entries"] * 3
    assert entries[2]["prev_hash"] == entries[0]["hash"]
    with world.app.db.connect() as conn:
        assert (locked_case(conn, one)["audit_seq"], locked_case(conn, one)["audit_head"]) == \
            (a.seq, entries[2]["hash"]) == (first["audit_seq"] + 2, a.head)
        assert audit.verify(conn).ok


@pytest.mark.parametrize("many", [False, True], ids=["one-case", "batch"])
def test_a_case_changed_meanwhile_refuses_the_whole_write(world: World, many: bool) -> None:
    """Written against a stale version, the write is refused with a conflict naming the case
    (or counting the changed ones) in Vietnamese, and no entry is inserted."""
    codes = [world.register(), world.register()]
    with write_transaction(world.app.db) as conn:
        rows = [locked_case(conn, code) for code in codes]
    world.fire(codes[0], "submit", "producer1", DOCS)  # case 1 moves on meanwhile
    chains = [history.Chain.of(row) for row in rows[: 2 if many else 1]]
    entries = [internal_entry(chain, world, "trễ hạn") for chain in chains]
    with world.app.db.connect() as conn:
        before = [dict(r._mapping) for r in conn.execute(select(cases).order_by(cases.c.id))]
        count = conn.execute(select(func.count()).select_from(audit_entries)).scalar_one()
    with pytest.raises(Conflict) as refused, write_transaction(world.app.db) as conn:
        history.write(conn, history.MOVE_HEAD,
                      [(c, moved(row, world)) for c, row in zip(chains, rows, strict=False)],
                      entries)
    with world.app.db.connect() as conn:
        assert [dict(r._mapping) for r in conn.execute(select(cases).order_by(cases.c.id))] \
            == before
        assert conn.execute(select(func.count()).select_from(audit_entries)).scalar_one() \
            == count
    assert refused.value.code == ("batch_conflict" if many else "case_changed")
    sentence = refused.value.text("vi")
    assert (codes[0] in sentence) if not many else ("1" in sentence and "2" in sentence)
    with world.app.db.connect() as conn:
        assert audit.verify(conn).ok


def test_an_internal_event_has_one_definition() -> None:
    """The sweep's batch takes exactly the triggers the engine treats as internal from every
    state under every rule version; ``escalate`` is one, ``submit`` is not."""
    assert "escalate" in INTERNAL_TRIGGERS and "submit" not in INTERNAL_TRIGGERS
    assert is_internal("1489", "escalate", "registered")
    assert not is_internal("1489", "submit", "draft")
