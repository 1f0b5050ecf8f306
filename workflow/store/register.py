"""The programme register's one source: every certified product with its *current*
certificate, as one set-based query the register pages, exports and reports all build on.

A case's current certificate is its valid one, else its pending one (awaiting the decision),
else its newest (expired, revoked, superseded): one row per case that ever held a certificate,
picked in the database with a window function (PostgreSQL and SQLite alike). "4★, proposed
for 5★" (DOMAIN.md §9) is a 4★ current certificate on a case flagged ``potential_5``; the
year is the decision's (the entry day while the certificate is pending).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
)
from sqlalchemy.sql import ColumnElement, Select, Subquery

from workflow.domain.facts import Actor
from workflow.store.queries import sees_everything
from workflow.store.schema import cases, certificates, producers, unit_successors, units

# The order a case's certificates are ranked in to find its current one.
_STATUS_RANK = case((certificates.c.status == "valid", 0),
                    (certificates.c.status == "pending", 1), else_=2)

# The register's "stars" as the office counts them: 3, 4, "4+" (4★, proposed for 5★), 5.
POTENTIAL = "4+"
STARS_VALUES = ("3", "4", POTENTIAL, "5")


def ranked(producer: bool = True, case_ids: Sequence[int] | None = None,
           valid_only: bool = False) -> Subquery:
    """Every certificate with its case's (and, with ``producer``, its producer's) columns and
    its rank among its case's certificates (1 = the current one). The joins come before the
    ranking so the planner joins whole tables (hash joins), not one lookup per product.
    ``case_ids``: only these cases' (a campaign's chunk), not the whole table.
    ``valid_only``: only valid certificates, each its case's current one without ranking (a
    case holds at most one valid certificate, and a valid one ranks first)."""
    joined = certificates.join(cases, cases.c.id == certificates.c.case_id)
    people: tuple[Any, ...] = ()
    if producer:
        joined = joined.join(producers, producers.c.id == cases.c.producer_id)
        people = (producers.c.name.label("producer"), producers.c.kind.label("producer_kind"))
    query = select(
        certificates.c.number, certificates.c.stars, certificates.c.level,
        certificates.c.rule_version, certificates.c.status, certificates.c.issued_on,
        certificates.c.valid_to, certificates.c.decision_no, certificates.c.decision_date,
        certificates.c.decision_body,
        cases.c.id.label("case_id"), cases.c.code, cases.c.state, cases.c.product,
        cases.c.product_group, cases.c.producer_id, cases.c.district_code,
        cases.c.commune_code, cases.c.trademark_no, cases.c.potential_5, *people,
        (literal(1) if valid_only else func.row_number().over(
            partition_by=certificates.c.case_id,
            order_by=(_STATUS_RANK, func.coalesce(certificates.c.decision_date,
                                                  certificates.c.issued_on).desc(),
                      certificates.c.id.desc()))).label("rank"),
    ).select_from(joined)
    if valid_only:
        query = query.where(certificates.c.status == "valid")
    if case_ids is not None:
        query = query.where(certificates.c.case_id.in_(list(case_ids)))
    return query.subquery("ranked")


def current(producer: bool = True, case_ids: Sequence[int] | None = None,
            valid_only: bool = False) -> Select[Any]:
    """One row per case that holds or held a certificate: the product, its producer (unless
    ``producer`` is false: the counts need no names) and unit (as recorded, and the commune
    that now owns it), and its current certificate.

    Columns: case_id, code, state, product, product_group, producer_id, producer,
    producer_kind, district_code, commune_code, unit_now (the commune's default successor
    after the 2025 reorganisation, else the commune itself), trademark_no, trademark (bool),
    potential (bool), stars_label ("3", "4", "4+", "5"), number, stars, level, rule_version,
    status, issued_on, valid_to, decision_no, decision_date, decision_body, year (int).
    """
    r = ranked(producer, case_ids, valid_only)
    successor = unit_successors.alias("now")
    potential = and_(r.c.stars == 4, func.coalesce(r.c.potential_5, false()))
    stars_label = case((potential, POTENTIAL), else_=cast(r.c.stars, String(2)))
    people = (r.c.producer, r.c.producer_kind) if producer else ()
    return (
        select(
            r.c.case_id, r.c.code, r.c.state, r.c.product, r.c.product_group, r.c.producer_id,
            *people, r.c.district_code, r.c.commune_code,
            func.coalesce(successor.c.new_key, r.c.commune_code).label("unit_now"),
            r.c.trademark_no, (r.c.trademark_no.is_not(None)).label("trademark"),
            potential.label("potential"), stars_label.label("stars_label"),
            r.c.number, r.c.stars, r.c.level, r.c.rule_version, r.c.status, r.c.issued_on,
            r.c.valid_to, r.c.decision_no, r.c.decision_date, r.c.decision_body,
            cast(extract("year", func.coalesce(r.c.decision_date, r.c.issued_on)),
                 Integer).label("year"),
        )
        .select_from(r)
        .outerjoin(successor, and_(successor.c.old_key == r.c.commune_code,
                                   successor.c.is_default))
        .where(r.c.rank == 1)
    )


STATUSES = ("valid", "pending", "expired", "revoked", "superseded")


@dataclass(frozen=True)
class Filters:
    """What the register, its exports and the reports are narrowed by, already checked:
    ``stars`` among :data:`STARS_VALUES` ("4" is a plain 4★, "4+" proposed for 5★), group keys,
    a unit key (matched against the case's district, its commune and the commune that now owns
    it), levels, rule versions, an inclusive year range, trademark yes/no, certificates ending
    within ``expiring_days`` of ``today``, and the current certificate's statuses (empty: any)."""

    stars: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    unit: str | None = None
    levels: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    years: tuple[int | None, int | None] = (None, None)
    trademark: bool | None = None
    expiring_days: int | None = None
    statuses: tuple[str, ...] = ("valid",)
    today: date | None = None
    # The current certificate's decision date (the entry day while pending), inclusive bounds.
    decided: tuple[date | None, date | None] = (None, None)


def table(producer: bool = True, case_ids: Sequence[int] | None = None,
          f: Filters | None = None) -> Subquery:
    """:func:`current` as a subquery its callers filter and group by name; when ``f`` asks
    for valid certificates only, without ranking every certificate."""
    return current(producer, case_ids, valid_only(f)).subquery("register")


def valid_only(f: Filters | None) -> bool:
    """Whether ``f`` keeps valid certificates only (the register's and reports' default)."""
    return f is not None and set(f.statuses) == {"valid"}


def where(reg: Subquery, f: Filters, actor: Actor | None = None) -> list[ColumnElement[bool]]:
    """The conditions ``f`` and ``actor``'s reach put on ``reg`` (a :func:`table`)."""
    c = reg.c
    out: list[ColumnElement[bool]] = list(_reach(reg, actor))
    if f.stars:
        out.append(c.stars_label.in_(f.stars))
    if f.groups:
        out.append(c.product_group.in_(f.groups))
    if f.unit:
        out.append(or_(c.district_code == f.unit, c.commune_code == f.unit,
                       c.unit_now == f.unit))
    if f.levels:
        out.append(c.level.in_(f.levels))
    if f.rules:
        out.append(c.rule_version.in_(f.rules))
    lo, hi = f.years
    if lo is not None:
        out.append(c.year >= lo)
    if hi is not None:
        out.append(c.year <= hi)
    first, last = f.decided
    if first is not None:
        out.append(_decided(c) >= first)
    if last is not None:
        out.append(_decided(c) <= last)
    if f.trademark is not None:
        out.append(c.trademark if f.trademark else not_(c.trademark))
    if f.expiring_days is not None:
        today = f.today or date.today()
        out += [c.status == "valid", c.valid_to >= today,
                c.valid_to <= today + timedelta(days=f.expiring_days)]
    if f.statuses:
        out.append(c.status.in_(f.statuses))
    return out


def _decided(c: Any) -> ColumnElement[Any]:
    return func.coalesce(c.decision_date, c.issued_on)


def _reach(reg: Subquery, actor: Actor | None) -> list[ColumnElement[bool]]:
    """What ``actor`` may see, as :func:`workflow.store.queries.scoped` says for cases."""
    if actor is None or sees_everything(actor):
        return []
    if actor.role == "producer":
        return [reg.c.producer_id == actor.producer_id]
    if actor.role == "district_officer":
        return [reg.c.district_code == (actor.unit or "")]
    # A commune officer's products include those still recorded under a commune it took in.
    return [or_(reg.c.commune_code == (actor.unit or ""), reg.c.unit_now == (actor.unit or ""))]


# --- the register's pages and exports --------------------------------------------------------

# The orders a register page may be read in; each ends on the certificate number, so a page
# boundary never splits ties differently between two requests.
ORDERS = ("year", "number", "product", "stars")


def rows(f: Filters, actor: Actor | None = None, order: str = "year") -> Select[Any]:
    """The register's rows ``f`` and ``actor`` select, in ``order`` (one of :data:`ORDERS`),
    with the names of the units as recorded and of the commune that now owns each product:
    every column of :func:`current` plus ``commune_name``, ``district_name``, ``unit_now_name``."""
    reg = table(f=f)
    commune, district, now = units.alias("commune"), units.alias("district"), units.alias("now")
    c = reg.c
    by = {"year": (c.year.desc(), c.number), "number": (c.number,),
          "product": (c.product, c.number), "stars": (c.stars.desc(), c.stars_label.desc(),
                                                       c.number)}[order]
    return (select(reg, commune.c.name.label("commune_name"),
                   district.c.name.label("district_name"), now.c.name.label("unit_now_name"))
            .outerjoin(commune, commune.c.key == c.commune_code)
            .outerjoin(district, district.c.key == c.district_code)
            .outerjoin(now, now.c.key == c.unit_now)
            .where(*where(reg, f, actor)).order_by(*by))


def total(f: Filters, actor: Actor | None = None) -> Select[Any]:
    """How many rows :func:`rows` selects (``SELECT COUNT(*)`` with the same conditions)."""
    reg = table(f=f)
    return select(func.count()).select_from(reg).where(*where(reg, f, actor))
