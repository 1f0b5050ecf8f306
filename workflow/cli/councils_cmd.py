"""``ocop councils add|list|show``: the scoring councils a scoring event names (DOMAIN.md §9).

``add`` runs as the operator at the machine (an administrator, logged as ``cli``) or as the
staff user ``--as`` names, within their reach; each council made is in the admin log."""

from __future__ import annotations

from typing import Any

import click

from workflow import councils
from workflow.cli.base import Context, emit, pass_app
from workflow.domain.councils import LEVELS
from workflow.i18n import from_env, label, text
from workflow.store.db import write_transaction


@click.group("councils")
def councils_group() -> None:
    """Scoring councils: a level, a unit, a year and its members (add, list, show)."""


@councils_group.command("add")
@click.option("--level", required=True, type=click.Choice(LEVELS))
@click.option("--unit", required=True, metavar="CODE",
              help="the commune, district or province it sits for: a key, a code or a name")
@click.option("--year", required=True, type=int)
@click.option("--member", "members", multiple=True, required=True, metavar="NAME",
              help="a member's name; repeat for each member")
@click.option("--as", "as_user", metavar="NAME",
              help="the staff user making it (default: the operator, logged as 'cli')")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def add(ctx: Context, level: str, unit: str, year: int, members: tuple[str, ...],
        as_user: str | None, as_json: bool) -> None:
    """Make a council and print its id (scoring events name it as "council")."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        actor = councils.acting(conn, as_user)
        made = councils.add(conn, app.clock.now(), actor, level, unit, year, list(members),
                            settings=app.settings)
    emit(made, as_json, lambda c: str(c["id"]))


@councils_group.command("list")
@click.option("--level", type=click.Choice(LEVELS))
@click.option("--unit", metavar="CODE", help="only the councils of this unit (key, code, name)")
@click.option("--year", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(ctx: Context, level: str | None, unit: str | None, year: int | None,
          as_json: bool) -> None:
    """Councils, the newest year first."""
    lang = from_env()
    with ctx.app.db.connect() as conn:
        rows = councils.list(conn, level, unit, year)
    emit(rows, as_json, lambda rs: "\n".join(line(r, lang) for r in rs)
         or label("ui", "councils_none", lang))


@councils_group.command("show")
@click.argument("council_id", metavar="ID", type=int)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(ctx: Context, council_id: int, as_json: bool) -> None:
    """One council: its members and the rounds it sat (each sheet: case, member, total)."""
    with ctx.app.db.connect() as conn:
        found = councils.show(conn, council_id)
    emit(found, as_json, lambda c: shown(c, from_env()))


def line(c: dict[str, Any], lang: str) -> str:
    unit = f"{c['unit']['name'] or '—'} [{c['unit']['key']}]"
    return (f"{c['id']:>5}  {c['year']}  {label('level', c['level'], lang):<16} {unit:<40} "
            f"{', '.join(c['members'])}")


def shown(c: dict[str, Any], lang: str) -> str:
    lines = [line(c, lang), "  " + text("ui", "council_made_by", lang, name=c["created_by"],
                                        at=c["created_at"][:16])]
    for r in c["rounds"]:
        lines.append(f"  {r['recorded_at'][:16]}  {r['case']}  {r['member']}: {r['total']}"
                     f"  ({r['entered_by'] or '—'})")
    if not c["rounds"]:
        lines.append("  " + label("ui", "council_no_rounds", lang))
    return "\n".join(lines)
