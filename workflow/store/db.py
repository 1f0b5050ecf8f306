"""Database engines: SQLite (embedded default, WAL, immediate write transactions) or
PostgreSQL (row locks), and the hot path's writes run on the DB-API cursor (``run``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select


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


@dataclass(frozen=True)
class _Compiled:
    """One statement's SQL for one dialect and parameter set, and how each value is bound."""

    statement: UpdateBase | Select[Any]
    sql: str
    names: tuple[str, ...]  # the parameters in the order (qmark) or under the names bound
    keys: tuple[str, ...]  # the names the driver takes (pyformat), or () when positional
    convert: tuple[Callable[[Any], Any] | None, ...]
    fixed: dict[str, Any]  # the values written into the statement (a literal, a separator)

    def bind(self, params: Mapping[str, Any]) -> Any:
        if self.fixed:
            params = {**self.fixed, **params}
        values = [params[n] if f is None else f(params[n])
                  for n, f in zip(self.names, self.convert, strict=True)]
        return dict(zip(self.keys, values, strict=True)) if self.keys else tuple(values)


@dataclass(frozen=True)
class _Query:
    """One SELECT's SQL for one dialect, how its parameters bind and its columns convert."""

    statement: Select[Any]
    binds: _Compiled
    labels: tuple[str, ...]
    convert: tuple[tuple[int, Callable[[Any], Any]], ...]  # (column index, result processor)


# Keyed by the statement's identity: only module-level statements (a handful) come here.
_COMPILED: dict[tuple[int, str, tuple[str, ...]], _Compiled] = {}
_QUERIES: dict[tuple[int, str], _Query] = {}


def _compiled(statement: UpdateBase | Select[Any], dialect: Dialect,
              keys: tuple[str, ...]) -> _Compiled:
    key = (id(statement), dialect.name, keys)
    found = _COMPILED.get(key)
    if found is not None and found.statement is statement:
        return found
    compiled = statement.compile(dialect=dialect, column_keys=list(keys) or None)
    names = tuple(compiled.positiontup or compiled.binds)
    escaped = compiled.escaped_bind_names
    binds = compiled.binds
    found = _Compiled(
        statement, str(compiled), names,
        () if compiled.positional else tuple(escaped.get(n, n) for n in names),
        tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names),
        {n: binds[n].effective_value for n in names if not binds[n].required})
    _COMPILED[key] = found
    return found


Refusal = Callable[[int], Exception]  # what to raise, given the rows a statement matched
_PIPELINE = "ocop.pipeline"  # Connection.info key: the open pipeline's statements to check


def run(conn: Connection, statement: UpdateBase,
        params: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        expect: int | None = None, refuse: Refusal | None = None) -> int:
    """Execute a module-level INSERT/UPDATE with ``params`` (one row, or many: executemany) on
    the connection's DB-API cursor, inside its transaction; returns the rows it matched.
    Given ``expect``, a statement that matched another number of rows raises ``refuse(n)``.

    Inside :func:`pipeline` on PostgreSQL the statement is sent and not waited for: the return
    is -1, and the ``expect`` check is made at the block's end, before anything after it runs.

    The SQL and the type conversions are SQLAlchemy's, compiled once per dialect: what this
    skips is the per-execution setup (~50 µs a statement, more than the SQL on the hot path).
    No execution events fire; a driver error is raised as SQLAlchemy's (``IntegrityError``…)."""
    rows = [params] if isinstance(params, Mapping) else params
    compiled = _compiled(statement, conn.dialect, tuple(rows[0]))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    pending: list[_Pending] | None = conn.info.get(_PIPELINE)
    try:
        if len(rows) == 1:
            cursor.execute(compiled.sql, compiled.bind(rows[0]))
        else:
            cursor.executemany(compiled.sql, [compiled.bind(r) for r in rows])
        if pending is not None:
            pending.append(_Pending(cursor, expect, refuse))
            return -1
        _check(int(cursor.rowcount), expect, refuse)
        return int(cursor.rowcount)
    except conn.dialect.loaded_dbapi.Error as e:
        raise DBAPIError.instance(compiled.sql, rows, e, conn.dialect.loaded_dbapi.Error) from e
    finally:
        if pending is None:
            cursor.close()


@dataclass(frozen=True)
class _Pending:
    cursor: Any
    expect: int | None
    refuse: Refusal | None


def _check(matched: int, expect: int | None, refuse: Refusal | None) -> None:
    if expect is not None and matched != expect:
        raise (refuse or _mismatch(expect))(matched)


def _mismatch(expect: int) -> Refusal:
    return lambda n: AssertionError(f"a statement matched {n} rows, not {expect}")


@contextmanager
def pipeline(conn: Connection) -> Iterator[None]:
    """The :func:`run` statements inside go to PostgreSQL together and are answered together
    at the block's end (psycopg's pipeline mode): one round trip for the lot instead of one
    each — an audited transition's four writes cost one. Their ``expect`` checks and driver
    errors are raised when the block ends. Run nothing else inside (no SQLAlchemy execute, no
    read). On SQLite (no round trips) each statement runs at once, as outside."""
    dbapi = conn.connection.dbapi_connection
    if is_sqlite(conn) or conn.info.get(_PIPELINE) is not None or not hasattr(dbapi, "pipeline"):
        yield
        return
    pending: list[_Pending] = []
    conn.info[_PIPELINE] = pending
    try:
        try:
            with dbapi.pipeline():  # type: ignore[union-attr]
                yield
        except conn.dialect.loaded_dbapi.Error as e:
            raise DBAPIError.instance("(pipeline)", None, e, conn.dialect.loaded_dbapi.Error) \
                from e
        for p in pending:
            _check(int(p.cursor.rowcount), p.expect, p.refuse)
    finally:
        del conn.info[_PIPELINE]
        for p in pending:
            p.cursor.close()


def _query(statement: Select[Any], dialect: Dialect, binds: _Compiled, cursor: Any) -> _Query:
    """The statement's SQL and conversions; the result processors are the ones SQLAlchemy
    picks for the column types the driver describes (``cursor`` has just run it)."""
    columns = statement.compile(dialect=dialect)._result_columns
    processors = [c.type.dialect_impl(dialect).result_processor(dialect, d[1])
                  for c, d in zip(columns, cursor.description, strict=True)]
    return _Query(statement, binds, tuple(c.keyname for c in columns),
                  tuple((i, f) for i, f in enumerate(processors) if f is not None))


def _prepared(statement: Select[Any], dialect: Dialect) -> _Compiled:
    """The SQL of ``statement`` before its first run."""
    compiled = statement.compile(dialect=dialect)
    if any(b.expanding or b.literal_execute for b in compiled.binds.values()):
        raise ValueError("fetch takes no expanding or literal-execute parameter (IN with a "
                         "list, a function's literal argument): write them as literal columns")
    return _compiled(statement, dialect, ())


def fetch(conn: Connection, statement: Select[Any],
          params: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Run a module-level SELECT on the connection's DB-API cursor, inside its transaction:
    its rows as dicts keyed by the columns' labels, each value converted as SQLAlchemy would.

    What this skips is SQLAlchemy's per-execution work (the statement's cache key, the result
    metadata, the rows): ~100 µs for the engine's locked read, more than the read itself."""
    key = (id(statement), conn.dialect.name)
    query = _QUERIES.get(key)
    if query is not None and query.statement is not statement:
        query = None
    binds = query.binds if query else _prepared(statement, conn.dialect)
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(binds.sql, binds.bind(params))
        rows = cursor.fetchall()
        if query is None:
            query = _QUERIES[key] = _query(statement, conn.dialect, binds, cursor)
    except conn.dialect.loaded_dbapi.Error as e:
        raise DBAPIError.instance(binds.sql, params, e, conn.dialect.loaded_dbapi.Error) from e
    finally:
        cursor.close()
    labels, convert = query.labels, query.convert
    out = []
    for row in rows:
        values = list(row)
        for i, f in convert:
            values[i] = f(values[i])
        out.append(dict(zip(labels, values, strict=True)))
    return out
