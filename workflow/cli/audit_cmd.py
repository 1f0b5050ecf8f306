"""``ocop audit verify|export``: the cases' hash-chained audit trail, and the admin log."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import click

from workflow.cli.base import Context, cli, emit, pass_app
from workflow.errors import OcopError
from workflow.i18n import from_env, text
from workflow.store import adminlog, audit, queries


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
    """Check every case's chain and the admin log's; exit 1 naming the first entry that
    breaks one (the cases' first)."""
    with ctx.app.db.connect() as conn:
        result = audit.verify(conn, code)
        log = adminlog.verify(conn)
    brk, log_brk = result.first_break, log.first_break
    report = {"ok": result.ok and log.ok, "cases": result.cases, "entries": result.entries,
              "first_break": None if brk is None else
              {"case": brk.case_code, "seq": brk.seq, "problem": brk.problem,
               "sentence": brk.sentence()},
              "admin_log": {"ok": log.ok, "entries": log.entries, "first_break":
                            None if log_brk is None else
                            {"seq": log_brk.seq, "problem": log_brk.problem,
                             "sentence": log_brk.sentence()}}}
    emit(report, as_json, lambda r: verified_text(r, brk, log_brk, from_env()))
    if brk is not None:
        raise ChainBroken("audit_chain_broken", case=brk.case_code, seq=brk.seq,
                          problem=brk.why)
    if log_brk is not None:
        raise ChainBroken("admin_log_broken", seq=log_brk.seq, problem=log_brk.why)


def verified_text(r: dict[str, Any], brk: audit.Break | None, log_brk: adminlog.Break | None,
                  lang: str) -> str:
    cases = (f"audit chain intact: {r['cases']} cases, {r['entries']} entries"
             if brk is None else brk.sentence(lang))
    log = (text("ui", "admin_log_intact", lang, entries=r["admin_log"]["entries"])
           if log_brk is None else log_brk.sentence(lang))
    return f"{cases}\n{log}"


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
