"""The ``units`` tables: loading them, and turning what a person typed (a key, a code or a name)
into one unit, or a refusal that lists the candidates."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.sql import Select

from workflow.domain.text import fold
from workflow.domain.units import OLD, Unit, is_old, strip_type
from workflow.errors import InvalidInput, NotFound
from workflow.store import unit_source
from workflow.store.schema import unit_successors, unit_unresolved, units

MAX_CANDIDATES = 12


@dataclass(frozen=True)
class Loaded:
    units: int
    added: int
    changed: int
    successors: int
    package_version: str


def load(conn: Connection, provinces: Iterable[str] | None = ("01",)) -> Loaded:
    """Write the units of ``provinces`` (``None``: the whole country) and the old -> new
    mapping; a second load of the same data changes nothing."""
    src = unit_source.read(provinces)
    have = {r.key: dict(r._mapping) for r in conn.execute(select(units))}
    fresh = [u for u in src.units if u["key"] not in have]
    changed = [u for u in src.units if u["key"] in have and have[u["key"]] != u]
    if fresh:
        conn.execute(insert(units), fresh)
    for u in changed:
        conn.execute(update(units).where(units.c.key == u["key"]).values(**u))
    old_keys = sorted({s["old_key"] for s in src.successors})
    for i in range(0, len(old_keys), 500):
        conn.execute(delete(unit_successors).where(
            unit_successors.c.old_key.in_(old_keys[i:i + 500])))
    if src.successors:
        conn.execute(insert(unit_successors), src.successors)
    return Loaded(len(src.units), len(fresh), len(changed), len(src.successors), src.version)


def count(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(units)).scalar_one())


def _select() -> Select[Any]:
    parent = units.alias("parent")
    return (select(units, parent.c.name.label("parent_name"))
            .outerjoin(parent, parent.c.key == units.c.parent_key))


def _unit(row: Any) -> Unit:
    m = row._mapping
    return Unit(m["key"], m["code"], m["level"], m["kind"], m["name"], m["parent_key"],
                m["province_key"], m["valid_from"], m["valid_to"], m["parent_name"])


def get(conn: Connection, key: str) -> Unit:
    row = conn.execute(_select().where(units.c.key == key)).first()
    if row is None:
        raise NotFound("unit_not_found", got=key)
    return _unit(row)


def maybe(conn: Connection, key: str | None) -> Unit | None:
    if not key:
        return None
    row = conn.execute(_select().where(units.c.key == key)).first()
    return _unit(row) if row is not None else None


def listing(conn: Connection, level: str | None = None, parent: str | None = None,
            on: date | None = None, limit: int = 1000) -> list[Unit]:
    q = _select().order_by(units.c.key).limit(limit)
    if level:
        q = q.where(units.c.level == level)
    if parent:
        q = q.where(units.c.parent_key == parent)
    if on is not None:
        q = q.where((units.c.valid_from.is_(None)) | (units.c.valid_from <= on),
                    (units.c.valid_to.is_(None)) | (units.c.valid_to >= on))
    return [_unit(r) for r in conn.execute(q)]


def find(conn: Connection, text: str, levels: Sequence[str] = ("province", "district", "commune"),
         limit: int = 50) -> list[Unit]:
    """Every unit a key, a code or a name (``"Cự Khê"``, ``"xã Cự Khê, Thanh Oai"``) can
    mean, in both eras. A name is compared folded; only when no unit has it so, it is
    compared without its spaces too (a space typed as a zero-width one)."""
    raw = text.strip()
    if not raw:
        return []
    q = _select().where(units.c.level.in_(list(levels))).order_by(units.c.key)
    if raw.startswith(OLD) or raw.isdigit():
        code = raw[len(OLD):] if raw.startswith(OLD) else raw
        keys = [raw] if raw.startswith(OLD) else [code, OLD + code]
        return [_unit(r) for r in conn.execute(q.where(units.c.key.in_(keys)).limit(limit))]
    parts = [p for p in (fold(part) for part in raw.split(",")) if p]
    if not parts:  # only commas, control or invisible characters: no name to look for
        return []
    head, *context = parts
    kind, name = strip_type(head)
    rows = [_unit(r) for r in conn.execute(q.where(units.c.fold == name).limit(limit * 4))]
    if not rows and name:  # "Hà\u200bĐông", "HàĐông": a space lost to a zero-width one
        tight = func.replace(units.c.fold, " ", "")
        rows = [_unit(r) for r in conn.execute(
            q.where(tight == name.replace(" ", "")).limit(limit * 4))]
    if kind is not None:
        rows = [u for u in rows if fold(u.kind) == kind]
    for part in context:
        rows = [u for u in rows if _within(conn, u, part)]
    return rows[:limit]


def _within(conn: Connection, unit: Unit, place: str) -> bool:
    """Whether ``unit`` lies in a unit named ``place`` (its district or province)."""
    _, name = strip_type(place)
    key = unit.parent_key
    while key:
        parent = conn.execute(select(units.c.fold, units.c.parent_key)
                              .where(units.c.key == key)).first()
        if parent is None:
            return False
        if parent.fold.replace(" ", "") == name.replace(" ", ""):
            return True
        key = parent.parent_key
    return False


def resolve(conn: Connection, text: str | None, levels: Sequence[str] = ("commune",),
            on: date | None = None, *, field: str = "unit") -> Unit:
    """The one unit ``text`` names. With ``on``, units not in force that day are refused,
    saying what replaced them. Refusals (``InvalidInput``: exit 2, HTTP 422) name the input and
    list the candidates with their keys."""
    if text is None or not text.strip():
        raise InvalidInput("unit_missing", form_field=field)
    found = find(conn, text, levels)
    if not found and count(conn) == 0:
        raise InvalidInput("units_not_loaded", got=text)
    if on is not None and found:
        current = [u for u in found if u.in_force(on)]
        if not current:
            if len(found) == 1:
                retired = found[0]
                raise InvalidInput("unit_retired", got=text, unit=retired.label,
                                   ended=str(retired.valid_to),
                                   successors=[u.label for u, _ in successors(conn, retired.key)])
            raise InvalidInput("unit_retired_many", got=text, on=on.isoformat(), candidates=[
                f"{u.label} → {', '.join(n.label for n, _ in successors(conn, u.key)) or '—'}"
                for u in found[:MAX_CANDIDATES]])
        found = current
    if not found:
        raise InvalidInput("unit_unknown", got=text, form_field=field)
    if len(found) > 1:
        raise InvalidInput("unit_ambiguous", got=text, form_field=field,
                           candidates=[u.label for u in found[:MAX_CANDIDATES]])
    return found[0]


def successors(conn: Connection, key: str) -> list[tuple[Unit, bool]]:
    """The units that took over ``key`` in 2025, the default one first."""
    rows = conn.execute(_select().add_columns(unit_successors.c.is_default)
                        .join(unit_successors, unit_successors.c.new_key == units.c.key)
                        .where(unit_successors.c.old_key == key)
                        .order_by(unit_successors.c.is_default.desc(), units.c.key)).all()
    return [(_unit(r), bool(r.is_default)) for r in rows]


def successor(conn: Connection, key: str) -> Unit | None:
    """The one unit an old commune's producers and cases move to: the mapping's default."""
    if not is_old(key):
        return None
    found = successors(conn, key)
    return found[0][0] if found else None


def predecessors(conn: Connection, key: str) -> list[str]:
    return [r.old_key for r in conn.execute(
        select(unit_successors.c.old_key).where(unit_successors.c.new_key == key)
        .order_by(unit_successors.c.old_key))]


def ensure_loaded(conn: Connection, province: str) -> Loaded | None:
    """Load ``province``'s units when the table is empty (``ocop db upgrade``, ``ocop run``,
    the demo); ``None`` when units were there already, whichever they are."""
    if count(conn) > 0:
        return None
    done = load(conn, [province])
    if done.units == 0:  # a code the package does not know: refused with the ones it does
        check_provinces([province])
    return done


def provinces_known() -> dict[str, str]:
    """The code and name of every province in force today, as the package lists them."""
    return {u["key"]: u["name"] for u in unit_source.read(None).units
            if u["level"] == "province" and not is_old(u["key"])}


def check_provinces(codes: Iterable[str]) -> list[str]:
    """``codes`` as given, once each, when every one is a province in force today; else the
    refusal naming the unknown code and listing the codes there are."""
    wanted = list(dict.fromkeys(c.strip() for c in codes))
    known = provinces_known()
    for code in wanted:
        if code not in known:
            raise InvalidInput("unit_province_unknown", got=code,
                               provinces=[f"{k} {v}" for k, v in sorted(known.items())])
    return wanted


def unresolved(conn: Connection, open_only: bool = True) -> list[dict[str, Any]]:
    """The rows whose names migration 0003 could not turn into one unit, oldest first."""
    q = select(unit_unresolved).order_by(unit_unresolved.c.id)
    if open_only:
        q = q.where(unit_unresolved.c.resolved_at.is_(None))
    return [{"table": r.table_name, "id": r.row_id, "district": r.district,
             "commune": r.commune, "reason": r.reason,
             "resolved_at": r.resolved_at.isoformat() if r.resolved_at else None}
            for r in conn.execute(q)]


def named(conn: Connection, text: str | None, levels: Sequence[str] = ("commune",),
          field: str = "unit") -> Unit:
    """The unit ``text`` names in any era: a key as it stands (``"10126"`` is the current
    unit, ``"old:10126"`` the retired one), else what :func:`resolve` makes of a code or
    name."""
    raw = (text or "").strip()
    exact = maybe(conn, raw)
    if exact is not None and exact.level in levels:
        return exact
    if (raw.isdigit() or raw.startswith(OLD)) and count(conn) and not find(conn, raw):
        raise NotFound("unit_not_found", got=raw)
    return resolve(conn, text, levels, field=field)


def described(conn: Connection, unit: Unit) -> dict[str, Any]:
    """``unit`` as ``ocop units show`` and ``GET /api/v1/units/{key}`` give it: its fields, how
    many units lie directly in it, what it became in 2025 (the default successor first) or
    what it took in."""
    within = conn.execute(select(func.count()).select_from(units)
                          .where(units.c.parent_key == unit.key)).scalar_one()
    took_in = [u for u in (maybe(conn, k) for k in predecessors(conn, unit.key)) if u]
    return {**unit.as_dict(), "within": int(within),
            "successors": [{**u.as_dict(), "label": u.label, "default": d}
                           for u, d in successors(conn, unit.key)],
            "predecessors": [{**u.as_dict(), "label": u.label} for u in took_in]}


def filter_key(conn: Connection, unit: str | None, alias: str | None = None) -> str | None:
    """The key a case list is filtered by: ``unit`` (or its older name ``district``), a code or
    a name of a commune or district in either era; refused when the two disagree."""
    given = [t.strip() for t in (unit, alias) if t and t.strip()]
    if not given:
        return None
    keys = {named(conn, t, ("district", "commune")).key for t in given}
    if len(keys) > 1:
        raise InvalidInput("unit_filter_twice", got=given)
    return keys.pop()
