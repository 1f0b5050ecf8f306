"""``ocop units remap``: producers and open cases from retired units to their successors;
``ocop units rollup``: case counts per commune, by the old units or the new."""

from __future__ import annotations

import click

from workflow import remap as remapping
from workflow.cli.base import Context, emit, pass_app
from workflow.clock import local
from workflow.i18n import from_env, label, text


@click.command("remap")
@click.option("--dry-run", is_flag=True, help="print what the remap would do; change nothing")
@click.option("--json", "as_json", is_flag=True)
@click.option("--as", "operator", default="cli", show_default=True,
              help="the operator's name, recorded in the audit entries and the admin log")
@pass_app
def remap(ctx: Context, dry_run: bool, as_json: bool, operator: str) -> None:
    """Move producers and open cases of retired communes to the mapping's successor, each move
    audited; transfer open cases at a district stage to the level that owns them now
    (OCOP_DISTRICT_SUCCESSOR) and tell their producers. A second run changes nothing."""
    app = ctx.app
    report = remapping.run(app.db, app.clock.now(), app.settings, operator, dry_run=dry_run)
    emit(report.as_dict(), as_json, lambda _: remap_text(report, from_env()))


def remap_text(report: remapping.Report, lang: str) -> str:
    """The report as lines: what moved, what was transferred, what could not be mapped."""
    counts = report.counts()
    out = [text("ui", "remap_producers", lang, n=counts["producers_moved"])]
    out += [f"  #{p.id} {p.name}: {p.old.words()} → {p.new.words()}" for p in report.producers]
    out.append(text("ui", "remap_cases", lang, moved=counts["cases_moved"],
                    transferred=counts["cases_transferred"]))
    for c in report.cases:
        line = f"  {c.code} ({label('state', c.state, lang)}): "
        line += f"{c.old.words()} → {c.new.words()}" if c.new else c.old.words()
        if c.transfer_to:
            line += "; " + text("ui", "remap_transferred_to", lang,
                                role=label("role", c.transfer_to, lang))
        out.append(line)
    out.append(text("ui", "remap_unmapped", lang, n=counts["unmapped"]))
    out += [f"  {label('ui', 'remap_' + u.what, lang)} {u.target} ({u.name}), {u.old.words()}: "
            f"{label('ui', 'remap_' + u.reason, lang)}" for u in report.unmapped]
    if report.dry_run:
        out.append(label("ui", "remap_dry_run", lang))
    return "\n".join(out)


@click.command("rollup")
@click.option("--by", type=click.Choice(remapping.BY), default="new", show_default=True,
              help="new: retired communes counted under their successor; old: as recorded")
@click.option("--year", type=int, help="only cases opened this year")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def rollup(ctx: Context, by: str, year: int | None, as_json: bool) -> None:
    """Case counts per commune (all, under way, certified), by the old or the new units."""
    app = ctx.app
    with app.db.connect() as conn:
        rows = remapping.rollup(conn, by, local(app.clock.now()).date(), year)
    emit([r.as_dict() for r in rows], as_json, lambda _: rollup_text(rows, from_env()))


def rollup_text(rows: list[remapping.Tally], lang: str) -> str:
    head = [label("ui", "rollup_" + w, lang) for w in ("unit", "all", "open", "certified")]
    width = max([len(head[0]), *(len(r.label) for r in rows)])
    lines = [f"{head[0]:<{width}}  {head[1]:>8}  {head[2]:>8}  {head[3]:>8}"]
    lines += [f"{r.label:<{width}}  {r.all:>8}  {r.open:>8}  {r.certified:>8}" for r in rows]
    total = [sum(getattr(r, k) for r in rows) for k in ("all", "open", "certified")]
    lines.append(f"{label('ui', 'rollup_total', lang):<{width}}  {total[0]:>8}  {total[1]:>8}  "
                 f"{total[2]:>8}")
    return "\n".join(lines)
