"""The admin log on PostgreSQL: writers in many connections at once never fork the chain nor
fail on each other (the advisory lock), and ``verify`` names an edited or a deleted entry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import delete, select, update

from tests.support import START, make_app
from workflow.bootstrap import App
from workflow.store import adminlog
from workflow.store.db import write_transaction
from workflow.store.schema import admin_log

pytestmark = pytest.mark.postgres
WRITERS, EACH = 8, 15


def write_many(app: App, writer: int, start: threading.Barrier) -> None:
    start.wait()
    for i in range(EACH):
        with write_transaction(app.db) as conn:
            adminlog.record(conn, START, f"w{writer}", "add", f"user:w{writer}-{i}", {"i": i})


def test_concurrent_writers_make_one_unbroken_chain(pg_app: App) -> None:
    """Eight connections appending at once: every entry is written (none refused), seqs run
    1..120 without a gap, no two entries follow the same one, and the chain verifies."""
    start = threading.Barrier(WRITERS)
    with ThreadPoolExecutor(WRITERS) as pool:
        for done in [pool.submit(write_many, pg_app, w, start) for w in range(WRITERS)]:
            done.result()
    with pg_app.db.connect() as conn:
        rows = conn.execute(select(admin_log.c.seq, admin_log.c.prev_hash)
                            .order_by(admin_log.c.seq)).all()
        result = adminlog.verify(conn)
    assert [r.seq for r in rows] == list(range(1, WRITERS * EACH + 1))
    assert len({r.prev_hash for r in rows}) == len(rows)
    assert result == adminlog.Verification(WRITERS * EACH, None)


@pytest.mark.parametrize(("tamper", "seq", "why"), [
    ("edit", 3, "break_edited"), ("delete", 3, "break_missing")])
def test_verify_names_an_edited_or_deleted_entry(pg_url: str, tamper: str, seq: int,
                                                  why: str) -> None:
    """An UPDATE of entry 3, or its DELETE, is named at entry 3."""
    app = make_app(pg_url)
    try:
        for i in range(5):
            with write_transaction(app.db) as conn:
                adminlog.record(conn, START, "admin", "disable", f"user:u{i}", {})
        with app.db.begin() as conn:
            if tamper == "edit":
                conn.execute(update(admin_log).where(admin_log.c.seq == 3)
                             .values(action="enable"))
            else:
                conn.execute(delete(admin_log).where(admin_log.c.seq == 3))
        with app.db.connect() as conn:
            result = adminlog.verify(conn)
    finally:
        app.close()
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.why["code"]) == (seq, why)
