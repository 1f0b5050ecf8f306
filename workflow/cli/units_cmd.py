"""``ocop units load|list|show|find|unresolved``: the administrative units of Vietnam, by code.

``remap`` and ``rollup`` (the 2025 reorganisation) live in :mod:`workflow.cli.remap_cmd`."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import click

from workflow.cli.base import Context, emit, pass_app
from workflow.cli.lazy import Lazy, LazyGroup
from workflow.domain.units import LEVELS, Unit
from workflow.errors import InvalidInput
from workflow.i18n import from_env, label, text
from workflow.store import unit_source
from workflow.store import units as unit_store
from workflow.store.db import write_transaction

LIST_LIMIT = 1000


REMAPPING = {
    "remap": Lazy("workflow.cli.remap_cmd:remap",
                  "Move producers and open cases of retired communes to the mapping's successor, "
                  "each move audited; transfer open cases at a district stage to the level that "
                  "owns them now (OCOP_DISTRICT_SUCCESSOR) and tell their producers. A second "
                  "run changes nothing."),
    "rollup": Lazy("workflow.cli.remap_cmd:rollup",
                   "Case counts per commune (all, under way, certified), by the old or the new "
                   "units."),
}


@click.group(cls=LazyGroup, lazy=REMAPPING)
def units() -> None:
    """Administrative units by code: provinces, districts (until 2025-06-30), communes."""


@units.command("load")
@click.option("--province", "provinces", multiple=True, metavar="CODE",
              help="a province's statistics code (01 Hà Nội); repeat for more. "
                   "Default: OCOP_PROVINCE")
@click.option("--all", "everything", is_flag=True, help="the whole country (34 provinces)")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def load(ctx: Context, provinces: tuple[str, ...], everything: bool, as_json: bool) -> None:
    """Load the units of both eras and the official 2025 old -> new mapping from the
    vietnamadminunits package; loading the same data again changes nothing."""
    app = ctx.app
    if everything and provinces:
        raise InvalidInput("units_all_or_province", provinces=list(provinces))
    wanted = None if everything else unit_store.check_provinces(
        provinces or [app.settings.province])
    with write_transaction(app.db) as conn:
        done = unit_store.load(conn, wanted)
    emit(loaded_view(done, wanted), as_json, lambda r: loaded_text(r, from_env()))


def loaded_view(done: unit_store.Loaded, provinces: list[str] | None) -> dict[str, Any]:
    """What a load did; ``provinces`` None: the whole country."""
    return {"provinces": provinces or "all", "units": done.units, "added": done.added,
            "changed": done.changed, "successors": done.successors,
            "package": unit_source.PACKAGE, "package_version": done.package_version}


def loaded_text(r: dict[str, Any], lang: str) -> str:
    where = ", ".join(r["provinces"]) if isinstance(r["provinces"], list) \
        else label("ui", "units_whole_country", lang)
    return text("ui", "units_loaded", lang, units=r["units"], provinces=where, added=r["added"],
                changed=r["changed"], successors=r["successors"],
                version=r["package_version"])


@units.command("list")
@click.option("--level", type=click.Choice(LEVELS))
@click.option("--parent", help="only the units directly in this one (a key, code or name)")
@click.option("--on", "day", type=click.DateTime(["%Y-%m-%d"]),
              help="only the units in force that day (YYYY-MM-DD)")
@click.option("--limit", type=click.IntRange(1, 100_000), default=LIST_LIMIT, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(ctx: Context, level: str | None, parent: str | None, day: datetime | None,
          limit: int, as_json: bool) -> None:
    """Units in key order: the current ones by their code, the retired ones as old:CODE."""
    lang = from_env()
    with ctx.app.db.connect() as conn:
        within = unit_store.named(conn, parent, ("province", "district"), "parent") \
            if parent else None
        rows = unit_store.listing(conn, level, within.key if within else None,
                                  day.date() if day else None, limit + 1)
    if len(rows) > limit:
        click.echo(text("ui", "units_more", lang, n=limit), err=True)
    emit([u.as_dict() for u in rows[:limit]], as_json,
         lambda _: "\n".join(unit_line(u) for u in rows[:limit])
         or label("ui", "units_none", lang))


def validity(valid_from: date | None, valid_to: date | None) -> str:
    """``2025-07-01 →`` for a unit in force since then, ``→ 2025-06-30`` for one that ended."""
    start = valid_from.isoformat() + " " if valid_from else ""
    end = " " + valid_to.isoformat() if valid_to else ""
    return f"{start}→{end}"


def unit_line(u: Unit) -> str:
    return f"{u.key:<10} {u.label.removesuffix(f' [{u.key}]'):<56} " \
           f"{validity(u.valid_from, u.valid_to)}"


@units.command("show")
@click.argument("unit")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(ctx: Context, unit: str, as_json: bool) -> None:
    """One unit by its key (10126, old:10120), code or name: its level, kind, parent,
    validity, and what it became in 2025 or what it took in."""
    with ctx.app.db.connect() as conn:
        found = unit_store.named(conn, unit, LEVELS, "unit")
        view = unit_store.described(conn, found)
    emit(view, as_json, lambda v: shown_text(v, from_env()))


def shown_text(v: dict[str, Any], lang: str) -> str:
    lines = [f"{v['name']} [{v['key']}]",
             "  " + text("ui", "unit_facts", lang, unit_code=v["code"],
                         level=label("ui", "unit_level_" + v["level"], lang), type=v["kind"],
                         valid=validity(_day(v["valid_from"]), _day(v["valid_to"])))]
    if v["parent"]:
        lines.append("  " + text("ui", "unit_in", lang,
                                 parent=f"{v['parent_name']} [{v['parent']}]"))
    if v["within"]:
        lines.append("  " + text("ui", "unit_within", lang, n=v["within"]))
    for title, rows in (("unit_successors", v["successors"]),
                        ("unit_predecessors", v["predecessors"])):
        if rows:
            lines.append("  " + label("ui", title, lang))
            lines += [f"    {r['label']}" + (f" ({label('ui', 'unit_default', lang)})"
                                             if r.get("default") else "") for r in rows]
    return "\n".join(lines)


def _day(iso: str | None) -> date | None:
    return date.fromisoformat(iso) if iso else None


@units.command("find")
@click.argument("name")
@click.option("--level", type=click.Choice(LEVELS))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def find(ctx: Context, name: str, level: str | None, as_json: bool) -> None:
    """Every unit a name or code can mean, in both eras, with its key: "Vạn Phúc",
    "Cự Khê, Thanh Oai", "10126". Nothing found is an empty list."""
    with ctx.app.db.connect() as conn:
        found = unit_store.find(conn, name, (level,) if level else LEVELS)
    emit([u.as_dict() for u in found], as_json,
         lambda _: "\n".join(unit_line(u) for u in found)
         or label("ui", "units_none", from_env()))


@units.command("unresolved")
@click.option("--all", "everything", is_flag=True, help="also the rows corrected since")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def unresolved(ctx: Context, everything: bool, as_json: bool) -> None:
    """The producers, cases and users whose unit names the upgrade to units by code could not
    turn into one unit (none, or several): their names are kept, their codes empty."""
    with ctx.app.db.connect() as conn:
        rows = unit_store.unresolved(conn, open_only=not everything)
    emit(rows, as_json, lambda rs: unresolved_text(rs, from_env()))


def unresolved_text(rows: list[dict[str, Any]], lang: str) -> str:
    if not rows:
        return label("ui", "unresolved_none", lang)
    return "\n".join(text("ui", "unresolved_row", lang, table=r["table"], row=r["id"],
                          district=r["district"] or "—", commune=r["commune"] or "—",
                          reason=r["reason"]) for r in rows)
