"""Database engines: SQLite (embedded default, WAL, immediate write transactions) or
PostgreSQL (row locks), and the kinds of transaction the code opens on them (the engine's hot
path runs its statements on the driver: ``workflow.store.driver``)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
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
        # On the driver's connection: through ``exec_driver_sql`` this cost ~25 µs, a tenth
        # of an audited transition's Python time.
        dbapi = conn.connection.dbapi_connection
        if dbapi.in_transaction:  # type: ignore[union-attr]
            return  # begun on the driver (``driver_transaction``): SQLAlchemy's joins it
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        dbapi.execute(f"BEGIN {mode}")  # type: ignore[union-attr]

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
def driver_transaction(engine: Engine) -> Iterator[Connection]:
    """:func:`write_transaction`, begun and ended on the driver's connection: SQLAlchemy's
    transaction bookkeeping costs ~30 µs, a tenth of an audited transition's own time on
    SQLite (the engine's hot path uses this). A statement run through SQLAlchemy inside joins
    the open transaction (its autobegin finds it begun) and commits or rolls back with it."""
    with engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        error = conn.dialect.loaded_dbapi.Error
        try:
            if is_sqlite(engine):
                dbapi.execute("BEGIN IMMEDIATE")
            yield conn
        except BaseException:
            _roll_back(conn, dbapi, error)
            raise
        try:
            if conn.in_transaction():
                conn.commit()
            else:
                dbapi.commit()
        except error as e:
            _roll_back(conn, dbapi, error)
            raise DBAPIError.instance("COMMIT", None, e, error) from e


def _roll_back(conn: Connection, dbapi: Any, error: type[Exception]) -> None:
    """Roll back after a failure; a connection that cannot even do that (the server went away)
    is discarded, not returned to the pool, and the first failure is the one raised."""
    try:
        if conn.in_transaction():
            conn.rollback()
        else:
            dbapi.rollback()
    except (error, DBAPIError):
        conn.invalidate()


@contextmanager
def one_read(engine: Engine) -> Iterator[Connection]:
    """A connection for reads that need no snapshot of their own: in autocommit on PostgreSQL,
    so a read costs one round trip, not three (psycopg's BEGIN, the query, SQLAlchemy's
    ROLLBACK when the connection goes back to the pool). Each statement sees what was
    committed when it ran, as each does in a READ COMMITTED transaction. Every API request's
    token lookup and the case read after an event use it."""
    with engine.connect() as conn:
        if not is_sqlite(engine):
            conn.execution_options(isolation_level="AUTOCOMMIT")
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
