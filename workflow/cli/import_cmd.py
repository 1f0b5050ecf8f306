"""``ocop import``: the programme's historic certificates from a spreadsheet, and its template."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from click._termui_impl import ProgressBar

from workflow import importer
from workflow.cli.base import Context, emit, pass_app, printable
from workflow.i18n import from_env, label, text
from workflow.registry import actor_named
from workflow.store.db import read_snapshot


@click.group("import")
def import_group() -> None:
    """Load the programme's history (certified products) from .xlsx or .csv."""


@import_group.command("template")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("ocop-import.xlsx"), show_default=True,
              help="where to write the template (.xlsx or .csv)")
def template(out: Path) -> None:
    """Write the empty template: Vietnamese headers on row 1, the column keys on row 2."""
    importer.template(out)
    click.echo(text("ui", "import_template_written", from_env(), path=str(out)))


@import_group.command("certified")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="check the file and say what it would change")
@click.option("--as", "operator", default="system", show_default=True,
              help="the importing user (a city officer or an admin), named in every entry")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def certified(ctx: Context, file: Path, dry_run: bool, operator: str, as_json: bool) -> None:
    """Import certified products: every row checked first, a file with any bad row refused
    whole (each problem one line on stderr); then one transaction, each row a case with its
    ``imported`` audit entry and signed certificate. Re-importing changes nothing; changed
    rows become audited corrections (``--dry-run`` lists them field by field)."""
    app, lang = ctx.app, from_env()
    with read_snapshot(app.db) as conn:
        actor = actor_named(conn, operator)
    bar: list[ProgressBar[int]] = []

    def started(total: int) -> None:
        if total and sys.stderr.isatty() and not as_json:
            bar.append(click.progressbar(length=total, file=sys.stderr,
                                         label=label("ui", "import_progress", lang)))
            bar[0].__enter__()

    def progress(n: int) -> None:
        if bar:
            bar[0].update(n)

    try:
        plan = importer.run(app.db, file, actor, app.clock.now(), dry_run=dry_run,
                            progress=progress, started=started)
    except importer.ImportRefused as refused:
        for problem in refused.problems:
            click.echo(printable(problem.text(lang)), err=True)
        raise
    finally:
        if bar:
            bar[0].__exit__(None, None, None)
    emit({**plan.counts(), "dry_run": dry_run,
          "changes": [{"row": c.row.number, "certificate": c.row.values["certificate_no"],
                       "fields": {k: [str(old), str(new)] for k, (old, new) in c.fields.items()}}
                      for c in plan.changed]},
         as_json, lambda _: summary(plan, dry_run, lang))


def summary(plan: importer.Plan, dry_run: bool, lang: str) -> str:
    """What the import did (or would do): the counts, then each correction field by field."""
    lines = []
    for change in plan.changed:
        for name, (old, new) in change.fields.items():
            lines.append(text("ui", "import_change_line", lang, row=change.row.number,
                              certificate=change.row.values["certificate_no"], column=name,
                              old="—" if old is None else str(old),
                              new="—" if new is None else str(new)))
    lines.append(text("ui", "import_summary", lang, **plan.counts()))
    if dry_run:
        lines.append(label("ui", "import_dry_run", lang))
    return "\n".join(lines)
