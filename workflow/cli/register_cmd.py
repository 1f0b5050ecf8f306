"""``ocop register list|export``: the programme register, the products with their current
certificate, filtered as :func:`workflow.register.parse` reads the options (multi-valued ones
take repeats and comma lists).

Without ``--as`` the operator at the machine sees everything, as the other commands do;
``--as NAME`` shows what that staff user's reach holds."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from workflow import register
from workflow.cli.base import Context, emit, pass_app
from workflow.clock import local
from workflow.councils import acting
from workflow.errors import InvalidInput
from workflow.i18n import from_env, text


def filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """The register's filter options, shared by ``list`` and ``export``."""
    options = [
        click.option("--stars", multiple=True, metavar="3,4,4+,5",
                     help="stars (4+ is 4★ proposed for 5★); repeat or comma-separate"),
        click.option("--group", multiple=True, metavar="GROUP",
                     help="a product group's key or name (either rule set, vi or en)"),
        click.option("--unit", metavar="UNIT",
                     help="a district or commune, old or new: a key, a code or a name"),
        click.option("--level", multiple=True, metavar="LEVEL", help="district, city, central"),
        click.option("--rules", multiple=True, metavar="VERSION", help="a rule version"),
        click.option("--year", metavar="YEAR", help="a decision year, or a range 2019-2020"),
        click.option("--trademark", metavar="yes|no", help="with or without a trademark"),
        click.option("--expiring", metavar="DAYS",
                     help="valid certificates ending within DAYS days of today"),
        click.option("--status", multiple=True, metavar="STATUS",
                     help="valid (default), pending, expired, revoked, superseded or any"),
        click.option("--as", "as_user", metavar="NAME",
                     help="see what this staff user may see (default: everything)"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def checked(ctx: Context, raw: dict[str, Any]) -> tuple[Any, Any]:
    """The acting user and the checked filters, read in one connection."""
    app = ctx.app
    with app.db.connect() as conn:
        actor = acting(conn, raw.pop("as_user"))
        return actor, register.parse(conn, raw, local(app.clock.now()).date())


@click.group("register")
def register_group() -> None:
    """The programme register: certified products with their current certificate."""


@register_group.command("list")
@filters
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--offset", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(ctx: Context, /, limit: int, offset: int, as_json: bool, **raw: Any) -> None:
    """One page of the register, the newest decisions first, then "N of TOTAL"."""
    lang = from_env()
    actor, f = checked(ctx, raw)
    with ctx.app.db.connect() as conn:
        found = register.page(conn, f, actor, limit, offset, lang=lang)
    emit({**found, "limit": limit, "offset": offset}, as_json, lambda p: shown(p, lang))


@register_group.command("export")
@filters
@click.option("--out", "out", required=True, metavar="FILE",
              help="FILE.xlsx or FILE.csv (the format follows the suffix); - for CSV on stdout")
@pass_app
def export(ctx: Context, /, out: str, **raw: Any) -> None:
    """The whole filtered register as a spreadsheet, header row in the user's language."""
    lang = from_env()
    fmt = "csv" if out == "-" else Path(out).suffix.lower().lstrip(".")
    if fmt not in register.FORMATS:
        raise InvalidInput("register_format_unknown", got=out, formats=list(register.FORMATS))
    actor, f = checked(ctx, raw)
    with ctx.app.db.connect() as conn:
        if out == "-":
            register.export(conn, f, actor, fmt, sys.stdout.buffer, lang)
            sys.stdout.flush()
            return
        with Path(out).open("wb") as file:
            rows = register.export(conn, f, actor, fmt, file, lang)
    click.echo(text("ui", "register_written", lang, rows=rows, path=out))


def line(item: dict[str, Any]) -> str:
    units = item["units"]
    place = units["commune_now"] or units["commune"] or "—"
    return (f"{item['number']:<18} {item['year'] or '—'}  {item['stars_label']:<22} "
            f"{item['group']['label']:<24} {item['product']} — {item['producer']} ({place})")


def shown(found: dict[str, Any], lang: str) -> str:
    lines = [line(i) for i in found["items"]]
    if not lines:
        lines.append(text("ui", "register_none", lang))
    lines.append(text("ui", "page_of", lang, shown=len(found["items"]), total=found["total"]))
    return "\n".join(lines)
