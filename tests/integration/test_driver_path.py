"""The engine's hot path on the driver (``workflow.store.db``), on SQLite and PostgreSQL.

The locked read on the cursor gives what SQLAlchemy's execution gives, value for value and type
for type. Writes in a pipeline are checked at its end: a statement that matched the wrong
number of rows, or a driver error, is raised there as ours or SQLAlchemy's, and the whole
transaction is gone. A SQLAlchemy statement inside a transaction begun on the driver joins it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import literal_column, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from tests.support import DOCS, World, make_app
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.errors import Conflict
from workflow.store import statements as stmt
from workflow.store.db import driver_transaction, make_engine
from workflow.store.driver import fetch, pipeline, run
from workflow.store.schema import cases, deadlines, outbox


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app(request: pytest.FixtureRequest, tmp_path: Path, clock: FixedClock) -> Iterator[App]:
    if request.param == "sqlite":
        built = make_app(f"sqlite:///{tmp_path}/driver.db", clock)
    else:
        built = make_app(request.getfixturevalue("pg_url"), clock)
    yield built
    built.close()


def _paused_case(world: World) -> str:
    """A case with two documents uploaded, a paused office clock and three completion clocks
    (four live clocks)."""
    code = world.register()
    world.upload(code, "registration_form", "business_plan")
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "request_completion", "commune1", reason="thiếu giấy phép")
    return code


def _live(app: App, code: str) -> list[dict[str, Any]]:
    with app.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(deadlines).join(cases).where(cases.c.code == code,
                                                deadlines.c.status.in_(("open", "paused")))
            .order_by(deadlines.c.id))]


def test_the_locked_read_on_the_cursor_is_sqlalchemys_row_for_row(app: App) -> None:
    world = World(app)
    code = _paused_case(world)
    with driver_transaction(app.db) as conn:
        ours = fetch(conn, stmt.LOCK_CASE, {"code": code})
        theirs = [dict(r._mapping) for r in conn.execute(stmt.LOCK_CASE, {"code": code})]
    assert len(ours) == 4  # one row per live clock
    assert ours == theirs
    for mine, sa in zip(ours, theirs, strict=True):
        assert {k: type(v) for k, v in mine.items()} == {k: type(v) for k, v in sa.items()}
    first = ours[0]
    assert first["created_at"].utcoffset().total_seconds() == 0  # aware, in UTC
    assert isinstance(first["dossier"], dict) and first["dossier"]["documents"]
    assert sorted(first["uploaded_kinds"].split(",")) == ["business_plan", "registration_form"]
    assert {r["clock_status"] for r in ours} == {"open", "paused"}


def test_a_wrong_match_in_a_pipeline_is_refused_at_its_end_and_nothing_stays(app: App) -> None:
    world = World(app)
    code = _paused_case(world)
    clocks = _live(app, code)
    returned: list[int] = []
    with pytest.raises(Conflict) as refused, driver_transaction(app.db) as conn, pipeline(conn):
        returned.append(run(conn, stmt.SET_DEADLINE, [
            {"deadline_id": c["id"], "status": "cancelled"} for c in clocks]))
        returned.append(run(conn, stmt.SET_DEADLINE,
                            {"deadline_id": 10**9, "status": "cancelled"}, expect=1,
                            refuse=lambda n: Conflict("case_changed", case=code,
                                                      trigger=f"matched {n}")))
        returned.append(99)  # on SQLite the refusal came before this line
    assert refused.value.params["trigger"] == "matched 0"
    if app.db.dialect.name == "postgresql":
        assert returned == [-1, -1, 99]  # sent, not waited for: checked at the block's end
    else:
        assert returned == [4]
    assert _live(app, code) == clocks  # the cancellations rolled back with it


def test_a_driver_error_in_a_pipeline_is_sqlalchemys_integrity_error(app: App) -> None:
    world = World(app)
    code = _paused_case(world)
    with app.db.connect() as conn:
        row = dict(conn.execute(select(outbox).order_by(outbox.c.id)).mappings().first() or {})
    row.pop("id")
    before = _live(app, code)
    with pytest.raises(IntegrityError), driver_transaction(app.db) as conn, pipeline(conn):
        run(conn, stmt.SET_DEADLINE, {"deadline_id": before[0]["id"], "status": "done"})
        run(conn, stmt.INSERT_OUTBOX, row)  # the same message_id again
    assert _live(app, code) == before


def test_sqlalchemy_inside_a_driver_transaction_joins_it(app: App) -> None:
    world = World(app)
    code = world.register()
    rename = update(cases).where(cases.c.code == code).values(product="Tương Cự Đà")

    def product() -> str:
        with app.db.connect() as conn:
            return str(conn.execute(select(cases.c.product).where(cases.c.code == code))
                       .scalar_one())
    with pytest.raises(RuntimeError), driver_transaction(app.db) as conn:
        conn.execute(rename)
        raise RuntimeError("after the write")
    assert product() == "Tương bần"
    with driver_transaction(app.db) as conn:
        fetch(conn, stmt.LOCK_CASE, {"code": code})
        conn.execute(rename)
    assert product() == "Tương Cự Đà"


ONE = select(literal_column("1").label("one"))


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_not_given_out_again(pg_url: str) -> None:
    """The server ends the session in the middle of a transaction on the driver: the failure
    is raised as SQLAlchemy's (not the rollback's own, which cannot reach the server either),
    the dead connection is discarded, and the next transaction gets a live one (a pool of one,
    no ping)."""
    db = make_engine(pg_url, pool_size=1, max_overflow=0)
    admin = make_engine(pg_url)
    try:
        with pytest.raises(DBAPIError), driver_transaction(db) as conn:
            driver = conn.connection.dbapi_connection
            assert driver is not None
            (pid,) = driver.execute("SELECT pg_backend_pid()").fetchone()
            with admin.connect() as other:
                other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            fetch(conn, ONE, {})
        with driver_transaction(db) as conn:
            assert fetch(conn, ONE, {}) == [{"one": 1}]
    finally:
        db.dispose()
        admin.dispose()
