"""``ocop report`` and ``ocop targets set|list``: the programme's figures.

``ocop report --by stars,group [filters]`` counts products (the ``counts`` subcommand's
shortcut); ``new`` (or ``new-per-year``), ``stages``, ``compliance`` and ``expiries`` give the
other reports. Every one prints an aligned table by default, or CSV, JSON, an Excel workbook,
or a PNG/SVG chart (``--format``), to ``--out FILE`` or standard output — binary formats only
when standard output is not a terminal. The filters are the register's
(:func:`workflow.register.parse`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from workflow import reports
from workflow.cli.base import Context, emit, pass_app, printable
from workflow.cli.register_cmd import checked, filters
from workflow.clock import local
from workflow.councils import acting
from workflow.errors import InvalidInput
from workflow.i18n import from_env, text
from workflow.store.db import write_transaction
from workflow.store.reports import targets_list, targets_set

BY_HELP = "dimensions to count by, comma-separated: " + ",".join(
    ("stars", "group", "unit", "district", "year", "level", "rules"))


def output(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--format`` and ``--out``, shared by every report."""
    command = click.option("--out", metavar="FILE",
                           help="write to FILE (default: standard output)")(command)
    return click.option("--format", "fmt", type=click.Choice(reports.FORMATS),
                        default="table", show_default=True)(command)


def period(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--since``/``--until`` (days, inclusive) and ``--as``."""
    day = click.DateTime(formats=["%Y-%m-%d"])
    command = click.option("--as", "as_user", metavar="NAME",
                           help="what this staff user may see (default: everything)")(command)
    command = click.option("--until", type=day, help="the last day (YYYY-MM-DD)")(command)
    return click.option("--since", type=day, help="the first day (YYYY-MM-DD)")(command)


def deliver(body: bytes, fmt: str, out: str | None) -> None:
    """Write a report to ``out`` or standard output (binary formats: not to a terminal)."""
    if out:
        Path(out).write_bytes(body)
        click.echo(text("ui", "report_written", from_env(), path=out), err=True)
        return
    if fmt not in reports.BINARY:
        shown = body.decode("utf-8").removeprefix("\ufeff").replace("\r\n", "\n")
        click.echo(printable(shown.rstrip("\n")))
        return
    if sys.stdout.isatty():
        raise InvalidInput("report_binary_to_terminal", fmt=fmt)
    sys.stdout.buffer.write(body)
    sys.stdout.flush()


def run(ctx: Context, kind: str, ask: reports.Ask, fmt: str, out: str | None,
        as_user: str | None = None) -> None:
    app, lang = ctx.app, from_env()
    with app.db.connect() as conn:
        actor = acting(conn, as_user)
        data = reports.figures(conn, kind, ask, local(app.clock.now()).date(), actor)
    deliver(reports.render(kind, data, fmt, lang), fmt, out)


def counts(ctx: Context, by: str | None, fmt: str, out: str | None,
           raw: dict[str, Any]) -> None:
    dims = reports.dimensions(by)
    actor, f = checked(ctx, raw)
    with ctx.app.db.connect() as conn:
        data = reports.figures(conn, "counts", reports.Ask(by=dims, filters=f),
                               local(ctx.app.clock.now()).date(), actor)
    deliver(reports.render("counts", data, fmt, from_env()), fmt, out)


@click.group("report", invoke_without_command=True)
@click.option("--by", metavar="DIMS", help=BY_HELP + " (default: stars)")
@filters
@output
@click.pass_context
def report_group(click_ctx: click.Context, /, by: str | None, fmt: str, out: str | None,
                 **raw: Any) -> None:
    """The programme's figures; without a subcommand, products counted ``--by`` dimensions."""
    if click_ctx.invoked_subcommand is None:
        counts(click_ctx.ensure_object(Context), by, fmt, out, raw)


@report_group.command("counts")
@click.option("--by", metavar="DIMS", help=BY_HELP + " (default: stars)")
@filters
@output
@pass_app
def counts_cmd(ctx: Context, /, by: str | None, fmt: str, out: str | None, **raw: Any) -> None:
    """Products (current certificates) by dimensions, with each one's share of the total."""
    counts(ctx, by, fmt, out, raw)


@click.command("new")
@filters
@output
@pass_app
def new(ctx: Context, /, fmt: str, out: str | None, **raw: Any) -> None:
    """New products per year (a product's first decision) against the year's target."""
    actor, f = checked(ctx, raw)
    with ctx.app.db.connect() as conn:
        data = reports.figures(conn, "new", reports.Ask(filters=f),
                               local(ctx.app.clock.now()).date(), actor)
    deliver(reports.render("new", data, fmt, from_env()), fmt, out)


report_group.add_command(new, "new")
report_group.add_command(new, "new-per-year")


def in_period(since: datetime | None, until: datetime | None) -> reports.Ask:
    """The days typed (inclusive) as a report's period."""
    start, end = reports.period(since and since.date(), until and until.date())
    return reports.Ask(since=start, until=end)


@report_group.command("stages")
@period
@output
@pass_app
def stages(ctx: Context, since: datetime | None, until: datetime | None, as_user: str | None,
           fmt: str, out: str | None) -> None:
    """Days cases stayed in each state (stays that ended in the period): median and p90."""
    run(ctx, "stages", in_period(since, until), fmt, out, as_user)


@report_group.command("compliance")
@period
@output
@pass_app
def compliance(ctx: Context, since: datetime | None, until: datetime | None,
               as_user: str | None, fmt: str, out: str | None) -> None:
    """Stage deadlines (started in the period) kept and missed, and the share kept."""
    run(ctx, "compliance", in_period(since, until), fmt, out, as_user)


@report_group.command("expiries")
@click.option("--quarters", type=int, default=8, show_default=True)
@filters
@output
@pass_app
def expiries(ctx: Context, /, quarters: int, fmt: str, out: str | None, **raw: Any) -> None:
    """Valid certificates by the quarter they end in, from this quarter on."""
    actor, f = checked(ctx, raw)
    with ctx.app.db.connect() as conn:
        data = reports.figures(conn, "expiries", reports.Ask(filters=f, quarters=quarters),
                               local(ctx.app.clock.now()).date(), actor)
    deliver(reports.render("expiries", data, fmt, from_env()), fmt, out)


@click.group("targets")
def targets_group() -> None:
    """The programme's yearly targets of new products (set, list)."""


@targets_group.command("set")
@click.argument("year", type=int)
@click.argument("products", type=int)
@click.option("--as", "as_user", metavar="NAME",
              help="the city officer or administrator setting it (default: the operator)")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def set_target(ctx: Context, year: int, products: int, as_user: str | None,
               as_json: bool) -> None:
    """Set YEAR's target to PRODUCTS new products (setting it again changes it)."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        done = targets_set(conn, year, products, acting(conn, as_user), app.clock.now())
    emit(done, as_json, lambda t: target_line(t, from_env()))


@targets_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_targets(ctx: Context, as_json: bool) -> None:
    """Every year's target, the earliest first."""
    lang = from_env()
    with ctx.app.db.connect() as conn:
        rows = targets_list(conn)
    emit(rows, as_json, lambda ts: "\n".join(target_line(t, lang) for t in ts)
         or text("ui", "report_targets_none", lang))


def target_line(t: dict[str, Any], lang: str) -> str:
    return text("ui", "report_target_line", lang, year=t["year"], products=t["products"],
                name=t["set_by"])
