"""``ocop audit verify|export``."""

from __future__ import annotations

import csv
import io
import json
import sys

import click

from workflow.cli.base import Context, cli, emit, pass_app
from workflow.errors import OcopError
from workflow.i18n import from_env
from workflow.store import audit, queries


class ChainBroken(OcopError):
    kind = "chain_broken"


@cli.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
@click.option("--case", "code")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def verify(ctx: Context, code: str | None, as_json: bool) -> None:
    """Check every case's chain; exit 1 naming the first entry that breaks it."""
    with ctx.app.db.connect() as conn:
        result = audit.verify(conn, code)
    brk = result.first_break
    report = {"ok": result.ok, "cases": result.cases, "entries": result.entries,
              "first_break": None if brk is None else
              {"case": brk.case_code, "seq": brk.seq, "problem": brk.problem,
               "sentence": brk.sentence()}}
    emit(report, as_json, lambda r: f"audit chain intact: {r['cases']} cases, "
         f"{r['entries']} entries" if r["ok"] else brk.sentence(from_env()) if brk else "")
    if brk is not None:
        raise ChainBroken("audit_chain_broken", case=brk.case_code, seq=brk.seq,
                          problem=brk.why)


@audit_group.command("export")
@click.option("--case", "code")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="jsonl",
              show_default=True)
@pass_app
def export(ctx: Context, code: str | None, fmt: str) -> None:
    """Every audit entry (of one case, or all), with its hashes."""
    with ctx.app.db.connect() as conn:
        rows = queries.audit_rows(conn, code)
    if fmt == "jsonl":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["case"])
    writer.writeheader()
    writer.writerows(rows)
    sys.stdout.write(buffer.getvalue())
