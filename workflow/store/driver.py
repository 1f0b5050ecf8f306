"""The engine's hot path on the DB-API cursor: the locked read (``fetch``), the writes
(``run``) and, on PostgreSQL, the writes sent together (``pipeline``).

The SQL and the type conversions are SQLAlchemy's, compiled once per statement and dialect
(module-level statements only: they are cached by identity). What this skips is SQLAlchemy's
per-execution work — the statement's cache key, result metadata, rows, events — which cost more
than the SQL itself on an audited transition. A driver error is raised as SQLAlchemy's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.selectable import Select

from workflow.store.db import is_sqlite


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
    if expect is None or matched == expect:
        return
    if refuse is None:
        raise AssertionError(f"a statement matched {matched} rows, not {expect}")
    raise refuse(matched)


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
