"""Database engines: SQLite (embedded default, WAL, immediate write transactions) or
PostgreSQL (row locks)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for ``url``; SQLite gets WAL, a busy timeout and real BEGIN IMMEDIATE."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
        # No pre-ping: it costs a round trip per transaction (measured ~10% of one); a dropped
        # connection fails one request, SQLAlchemy invalidates the pool, the next one reconnects.
        kwargs.setdefault("pool_recycle", 1800)
        return create_engine(url, **kwargs)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    else:  # one in-memory database shared by every connection (unit tests)
        kwargs.setdefault("poolclass", StaticPool)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False},
                           **kwargs)

    @event.listens_for(engine, "connect")
    def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _sqlite_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def is_sqlite(engine: Engine | Connection) -> bool:
    return engine.dialect.name == "sqlite"


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: BEGIN IMMEDIATE on SQLite, plain BEGIN elsewhere."""
    with engine.connect() as conn:
        if is_sqlite(engine):
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


@contextmanager
def read_snapshot(engine: Engine, snapshot: str | None = None) -> Iterator[Connection]:
    """A read-only transaction that sees one moment of the database throughout (REPEATABLE
    READ on PostgreSQL; a deferred read transaction keeps its WAL snapshot on SQLite): a
    checkpoint or a verify never sees a case moved half-way through its walk. ``snapshot``:
    another PostgreSQL transaction's ``pg_export_snapshot()``, to see exactly what it sees."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if not is_sqlite(engine):
                if snapshot is not None:
                    if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
                        raise ValueError(f"not a snapshot id: {snapshot!r}")
                    conn.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn
