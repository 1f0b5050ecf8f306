"""``ocop audit verify`` reads entries through the driver's own cursor, the time formatted by
PostgreSQL (``integrity.ENTRIES``), and hashes them with ``audit.text_hash``: the result must be
``audit.entry_hash`` of what the engine wrote, exactly, for any text a person or a forger may
have put in an entry (quotes, backslashes, control characters, line and paragraph separators,
DEL, any script) and any microsecond."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from tests.support import World
from workflow.bootstrap import App
from workflow.store import audit, integrity
from workflow.store.db import read_snapshot, write_transaction
from workflow.store.schema import audit_entries, cases

# PostgreSQL text cannot hold NUL; everything else may appear.
texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30)
TRICKY = ['a"b\\c', "line\nbreak\ttab\r\x01\x1f", "\u2028\u2029\x7f", "Bình Minh 🌾", ""]


@pytest.fixture
def case(pg_app: App) -> Any:
    World(pg_app).register()
    with pg_app.db.connect() as conn:
        return conn.execute(cases.select()).one()


SEQ = itertools.count(1000)


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actor=st.sampled_from(TRICKY) | texts, reason=st.none() | texts, data=texts,
       micro=st.integers(0, 999_999))
def test_the_database_hashes_an_entry_as_python_does(pg_app: App, case: Any, actor: str,
                                                     reason: str | None, data: str,
                                                     micro: int) -> None:
    at = datetime(2025, 9, 1, 2, 3, 4, micro, tzinfo=UTC)
    row = {"case_id": case.id, "seq": next(SEQ), "at": at, "actor": actor, "role": "x",
           "trigger": "t", "from_state": None, "to_state": "s", "reason": reason, "data": data,
           "rule_version": "1489", "prev_hash": "0" * 64}
    row["hash"] = audit.entry_hash("0" * 64, case.code, row)
    with write_transaction(pg_app.db) as conn:
        conn.execute(insert(audit_entries).values(**row))
    with read_snapshot(pg_app.db) as conn:
        found = [e for _, entries, _ in integrity._cases(conn, case.id, case.id, None)
                 for e in entries if e.seq == row["seq"]]
    with write_transaction(pg_app.db) as conn:
        conn.execute(audit_entries.delete().where(audit_entries.c.seq == row["seq"]))
    assert found[0].computed == row["hash"]
