"""The programme's figures, each one set-based query (SQLAlchemy Core, the same SQL on SQLite and
PostgreSQL): products by stars, group, unit, year, level and rules; new products per year against
the yearly target; how long cases stay in each state; how often stage deadlines are kept; and
the certificates that end in each coming quarter. Counts build on the register's one source
(:func:`workflow.store.register.table` and :func:`~workflow.store.register.where`).

Shares, medians and percentages are computed in the database; Python only names the columns
and fills the quarters no certificate ends in.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Connection,
    Integer,
    Numeric,
    Row,
    String,
    and_,
    case,
    cast,
    extract,
    func,
    insert,
    literal,
    or_,
    select,
    union,
    union_all,
    update,
)
from sqlalchemy.sql import ColumnElement, Select

from workflow.domain.facts import Actor
from workflow.errors import Forbidden, InvalidInput, clause
from workflow.store import adminlog
from workflow.store.deadlines import CANCELLED, CERT_KINDS, COMPLETION_REMINDERS, DONE
from workflow.store.queries import scoped, sees_everything
from workflow.store.register import Filters, current, table, valid_only, where
from workflow.store.schema import audit_entries, cases, certificates, deadlines, targets, units

# What products are counted by, and the register's column each one reads.
DIMENSIONS = {"stars": "stars_label", "group": "product_group", "unit": "unit_now",
              "district": "district_code", "year": "year", "level": "level",
              "rules": "rule_version"}
# Dimensions whose values are unit keys: their rows also carry the unit's name.
UNIT_DIMENSIONS = ("unit", "district")
REPORT_SET_BY = ("stars", "group", "year", "level", "rules")
TARGET_SETTERS = ("city_officer", "admin")
TARGET_YEARS = (2000, 2100)
TARGET_MOST = 100_000
TARGET_ACTION = "target_set"  # the admin log's action
# Deadlines that are reminders or certificate notices, not a stage's clock.
NOT_STAGES = (*CERT_KINDS, *(kind for kind, _ in COMPLETION_REMINDERS))


def _round(value: ColumnElement[Any], places: int = 1) -> ColumnElement[Any]:
    """``round(value, places)``; PostgreSQL rounds numerics only."""
    return func.round(cast(value, Numeric), places)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def counts(conn: Connection, by: Sequence[str], f: Filters,
           actor: Actor | None = None) -> dict[str, Any]:
    """Products (current certificates) narrowed by ``f`` and grouped by the ``by`` dimensions:
    ``{"by", "total", "rows"}``, each row the dimensions' values (a unit also its ``*_name``),
    ``count`` and ``share`` (% of the total, one decimal)."""
    unknown = [d for d in by if d not in DIMENSIONS]
    if unknown or not by or len(set(by)) != len(by):
        raise InvalidInput("report_by_unknown", got=",".join(by), dimensions=list(DIMENSIONS))
    reg = table(producer=False, f=f)
    columns = [reg.c[DIMENSIONS[d]].label(d) for d in by]
    n = func.count()
    total = func.sum(n).over()
    grouped = (select(*columns, n.label("count"), total.label("total"),
                      _round(100.0 * n / func.nullif(total, 0)).label("share"))
               .where(*where(reg, f, actor)).group_by(*columns).subquery("grouped"))
    names = {d: units.alias(f"{d}_unit") for d in by if d in UNIT_DIMENSIONS}
    query = select(grouped, *(u.c.name.label(f"{d}_name") for d, u in names.items()))
    for d, u in names.items():
        query = query.outerjoin(u, u.c.key == grouped.c[d])
    query = query.order_by(*(grouped.c[d] for d in by))
    rows = [dict(r._mapping) for r in conn.execute(query)]
    total_of = int(rows[0]["total"]) if rows else 0
    return {"by": list(by), "total": total_of,
            "rows": [{**{k: v for k, v in r.items() if k != "total"},
                      "share": _number(r["share"])} for r in rows]}


def counts_each(conn: Connection, dims: Sequence[str], f: Filters,
                actor: Actor | None = None) -> dict[str, dict[str, Any]]:
    """:func:`counts` by each of ``dims`` on its own, in one statement: the register is read
    once (a common table expression every dimension's grouping reads), not once a dimension."""
    for d in dims:
        if d not in DIMENSIONS:
            raise InvalidInput("report_by_unknown", got=d, dimensions=list(DIMENSIONS))
    shared = current(producer=False, valid_only=valid_only(f)).cte("register")
    n = func.count()
    branches = []
    for d in dims:
        reg = select(shared).subquery(f"by_{d}")
        value = reg.c[DIMENSIONS[d]]
        branches.append(select(literal(d).label("dimension"), cast(value, String).label("value"),
                               n.label("count")).where(*where(reg, f, actor)).group_by(value))
    every = union_all(*branches).subquery("every")
    total = func.sum(every.c.count).over(partition_by=every.c.dimension)
    name = units.alias("unit_name")
    query = (select(every, total.label("total"),
                    _round(100.0 * every.c.count / func.nullif(total, 0)).label("share"),
                    name.c.name.label("name"))
             .outerjoin(name, and_(every.c.dimension.in_(UNIT_DIMENSIONS),
                                   name.c.key == every.c.value))
             .order_by(every.c.dimension, every.c.value))
    return _by_dimension(conn.execute(query), dims)


def _by_dimension(rows: Iterable[Row[Any]], dims: Sequence[str]) -> dict[str, dict[str, Any]]:
    """:func:`counts_each`'s rows (dimension, value as text, …) as one :func:`counts` each."""
    out: dict[str, dict[str, Any]] = {d: {"by": [d], "total": 0, "rows": []} for d in dims}
    for r in rows:
        shown = out[r.dimension]
        shown["total"] = int(r.total)
        got = int(r.value) if r.dimension == "year" and r.value is not None else r.value
        names = {f"{r.dimension}_name": r.name} if r.dimension in UNIT_DIMENSIONS else {}
        shown["rows"].append({r.dimension: got, "count": r.count, "share": _number(r.share),
                              **names})
    return out


def new_per_year(conn: Connection, f: Filters, actor: Actor | None = None) -> list[dict[str, Any]]:
    """Per year, the products whose first certificate's decision falls in it (a re-certified
    product is new once), beside the year's target: ``year``, ``new``, ``target``, ``gap``
    (target − new) and ``percent`` of the target. ``f`` narrows the products; its years
    narrow the first year; its statuses are not applied (a product added in 2020 stays added
    after its certificate ended)."""
    first = (select(certificates.c.case_id,
                    func.min(certificates.c.decision_date).label("first"))
             .where(certificates.c.decision_date.is_not(None))
             .group_by(certificates.c.case_id).subquery("first"))
    year = cast(extract("year", first.c.first), Integer)
    reg = table(producer=False)
    lo, hi = f.years
    narrowed = where(reg, replace(f, years=(None, None), statuses=()), actor)
    # Unnarrowed, every product with a decision is in the register: no need to read it.
    products = first.join(reg, reg.c.case_id == first.c.case_id) if narrowed else first
    added = (select(year.label("year"), func.count().label("new")).select_from(products)
             .where(*narrowed, *_between(year, lo, hi)).group_by(year).cte("added"))
    years = union(select(added.c.year),
                  select(targets.c.year).where(*_between(targets.c.year, lo, hi))
                  ).subquery("years")
    new = func.coalesce(added.c.new, 0)
    query = (select(years.c.year, new.label("new"), targets.c.products.label("target"),
                    (targets.c.products - new).label("gap"),
                    _round(100.0 * new / func.nullif(targets.c.products, 0)).label("percent"))
             .select_from(years.outerjoin(added, added.c.year == years.c.year)
                          .outerjoin(targets, targets.c.year == years.c.year))
             .order_by(years.c.year))
    return [{**r._mapping, "percent": _number(r.percent)} for r in conn.execute(query)]


def _between(column: ColumnElement[Any], lo: Any, hi: Any) -> list[ColumnElement[bool]]:
    return [*([column >= lo] if lo is not None else []), *([column <= hi] if hi is not None
                                                          else [])]


def _days(conn: Connection, start: ColumnElement[Any],
          end: ColumnElement[Any]) -> ColumnElement[Any]:
    """Days from ``start`` to ``end`` (timestamps), with the fraction."""
    if conn.dialect.name == "sqlite":
        return func.julianday(end) - func.julianday(start)
    # date_part is double precision; extract() is numeric since PostgreSQL 14 (slower).
    return func.date_part("epoch", end - start) / 86400.0


def stage_durations(conn: Connection, since: datetime | None = None,
                    until: datetime | None = None,
                    actor: Actor | None = None) -> list[dict[str, Any]]:
    """Per state, the stays cases made in it that ended between ``since`` and ``until``: from
    the audit entry that entered the state to the case's next entry that left it (an entry
    that keeps the state — an escalation, a document — does not end a stay). ``count``,
    ``median`` and ``p90`` in days (nearest rank), one decimal."""
    moves = _scoped(select(audit_entries.c.case_id, audit_entries.c.to_state.label("state"),
                           audit_entries.c.at,
                           func.lead(audit_entries.c.at).over(
                               partition_by=audit_entries.c.case_id,
                               order_by=audit_entries.c.seq).label("left_at"))
                    .where(or_(audit_entries.c.from_state.is_(None),
                               audit_entries.c.from_state != audit_entries.c.to_state)),
                    audit_entries.c.case_id, actor).subquery("moves")
    days = _days(conn, moves.c.at, moves.c.left_at)
    ended = (moves.c.left_at.is_not(None), *_between(moves.c.left_at, since, until))
    median: ColumnElement[Any]
    p90: ColumnElement[Any]
    if conn.dialect.name == "postgresql":
        # Nearest rank is percentile_disc: one sort per state instead of two windows.
        stays = select(moves.c.state, days.label("days")).where(*ended).subquery("stays")
        median = func.percentile_disc(0.5).within_group(stays.c.days)
        p90 = func.percentile_disc(0.9).within_group(stays.c.days)
    else:
        stays = (select(moves.c.state, days.label("days"),
                        func.row_number().over(partition_by=moves.c.state,
                                               order_by=days).label("rank"),
                        func.count().over(partition_by=moves.c.state).label("n"))
                 .where(*ended).subquery("stays"))
        # Nearest rank: the value at rank ceil(p × n), in whole-number arithmetic.
        median = func.max(case((stays.c.rank == (stays.c.n + 1) // 2, stays.c.days)))
        p90 = func.max(case((stays.c.rank == (9 * stays.c.n + 9) // 10, stays.c.days)))
    query = (select(stays.c.state, func.count().label("count"),
                    _round(median).label("median"), _round(p90).label("p90"))
             .group_by(stays.c.state).order_by(stays.c.state))
    return [{"state": r.state, "count": r.count, "median": _number(r.median),
             "p90": _number(r.p90)} for r in conn.execute(query)]


def _scoped(q: Select[Any], case_id: ColumnElement[int], actor: Actor | None) -> Select[Any]:
    """``q`` narrowed to ``actor``'s cases; joined to the cases only when the reach is not the
    whole programme (the join is most of the cost over a year's audit entries)."""
    if actor is None or sees_everything(actor):
        return q
    return scoped(q.join(cases, cases.c.id == case_id), actor)


def deadline_compliance(conn: Connection, since: datetime | None = None,
                        until: datetime | None = None,
                        actor: Actor | None = None) -> list[dict[str, Any]]:
    """Per stage clock (state and kind) started between ``since`` and ``until``: ``kept``
    (closed with the case moving on before it fell due), ``missed`` (escalated, or fired:
    a completion deadline that withdrew its case), ``running`` (neither yet), and
    ``percent`` kept of those decided."""
    d = deadlines.c
    missed = or_(d.level > 0, d.status == DONE)
    kept = and_(d.level == 0, d.status == CANCELLED)
    query = _scoped(
        select(d.state, d.kind,
               func.sum(case((kept, 1), else_=0)).label("kept"),
               func.sum(case((missed, 1), else_=0)).label("missed"),
               func.sum(case((or_(kept, missed), 0), else_=1)).label("running"))
        .where(d.kind.not_in(NOT_STAGES), *_between(d.created_at, since, until))
        .group_by(d.state, d.kind), d.case_id, actor).subquery("stages")
    decided = query.c.kept + query.c.missed
    rows = conn.execute(select(query, _round(100.0 * query.c.kept / func.nullif(decided, 0))
                               .label("percent")).order_by(query.c.state, query.c.kind))
    return [{"state": r.state, "kind": r.kind, "kept": int(r.kept), "missed": int(r.missed),
             "running": int(r.running), "percent": _number(r.percent)} for r in rows]


def quarter_of(day: date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def _quarters(today: date, quarters: int) -> list[tuple[int, int]]:
    year, q = quarter_of(today)
    out = []
    for _ in range(quarters):
        out.append((year, q))
        year, q = (year + 1, 1) if q == 4 else (year, q + 1)
    return out


def expiries_by_quarter(conn: Connection, today: date, quarters: int = 8,
                        f: Filters | None = None,
                        actor: Actor | None = None) -> list[dict[str, Any]]:
    """Valid certificates (narrowed by ``f``) by the quarter their ``valid_to`` falls in
    (``YYYY-Qn``), from ``today`` for ``quarters`` quarters; quarters with none count 0."""
    if not 1 <= quarters <= 40:
        raise InvalidInput("report_quarters_invalid", got=quarters, most=40)
    spans = _quarters(today, quarters)
    last_year, last_q = spans[-1]
    end = date(last_year + 1, 1, 1) if last_q == 4 else date(last_year, 3 * last_q + 1, 1)
    reg = table(producer=False, f=Filters())
    valid_to = reg.c.valid_to
    year = cast(extract("year", valid_to), Integer)
    q = (cast(extract("month", valid_to), Integer) - 1) // 3 + 1
    label = (cast(year, String) + literal("-Q") + cast(q, String)).label("quarter")
    found = dict(conn.execute(
        select(label, func.count())
        .where(*where(reg, replace(f or Filters(), statuses=("valid",)), actor),
               valid_to >= today, valid_to < end)
        .group_by(label)).all())
    return [{"quarter": f"{y}-Q{n}", "count": int(found.get(f"{y}-Q{n}", 0))}
            for y, n in spans]


def targets_set(conn: Connection, year: int, products: int, actor: Actor,
                now: datetime) -> dict[str, Any]:
    """Set ``year``'s target of new products (again: change it), an admin-log entry."""
    if actor.role not in TARGET_SETTERS:
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_set_target"),
                        roles=list(TARGET_SETTERS))
    first, last = TARGET_YEARS
    if not first <= year <= last:
        raise InvalidInput("target_year_invalid", got=year, first=first, last=last)
    if not 0 < products <= TARGET_MOST:
        raise InvalidInput("target_products_invalid", got=products, most=TARGET_MOST)
    before = conn.execute(select(targets.c.products)
                          .where(targets.c.year == year)).scalar_one_or_none()
    values = {"products": products, "set_by": actor.name, "set_at": now}
    if before is None:
        conn.execute(insert(targets).values(year=year, **values))
    else:
        conn.execute(update(targets).where(targets.c.year == year).values(**values))
    adminlog.record(conn, now, actor.name, TARGET_ACTION, f"target:{year}",
                    {"year": year, "products": products, "before": before})
    return {"year": year, **values}


def targets_list(conn: Connection) -> list[dict[str, Any]]:
    """Every year's target, the earliest first."""
    return [dict(r._mapping) for r in conn.execute(select(targets).order_by(targets.c.year))]


def target_of(conn: Connection, year: int) -> dict[str, Any] | None:
    """``year``'s target, or ``None`` when none was set."""
    row = conn.execute(select(targets).where(targets.c.year == year)).first()
    return None if row is None else dict(row._mapping)


def report_set(conn: Connection, today: date, actor: Actor | None = None) -> dict[str, Any]:
    """Every report with its defaults: valid products by stars, group, year, level and rules;
    new products per year; stage durations; deadline compliance; expiries ahead."""
    f = Filters(today=today)
    return {
        "counts": counts_each(conn, REPORT_SET_BY, f, actor),
        "new_per_year": new_per_year(conn, f, actor),
        "stages": stage_durations(conn, actor=actor),
        "compliance": deadline_compliance(conn, actor=actor),
        "expiries": expiries_by_quarter(conn, today, actor=actor),
    }
