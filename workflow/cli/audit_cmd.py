"""``ocop audit verify|export``: the cases' hash-chained audit trail, and the admin log."""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Any

import click

from workflow import record
from workflow.cli.base import ChainBroken, Context, emit, pass_app
from workflow.i18n import from_env, text
from workflow.store import adminlog, integrity, queries


@click.group("audit")
def audit_group() -> None:
    """The hash-chained audit trail."""


@audit_group.command("verify")
@click.option("--case", "code")
@click.option("--signatures", is_flag=True,
              help="also verify every certificate's Ed25519 signature with the public key, as "
                   "an outside auditor would (slow: about 0.2 ms per certificate)")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def verify(ctx: Context, code: str | None, signatures: bool, as_json: bool) -> None:
    """Check every case against what a database writer cannot forge: its hash chain, the seal
    of its head, the latest signed checkpoint, the state and certificates replayed from its
    entries, each certificate's signature; then the admin log. Exit 1 naming the first
    problem; say what could not be checked."""
    result, log = record.verify(ctx.app, code, signatures)
    lang = from_env()
    brk, log_brk = result.first_break, log.first_break if log is not None else None
    cp = result.checkpoint
    report = {"ok": result.ok and log_brk is None, "cases": result.cases,
              "entries": result.entries,
              "first_break": None if brk is None else
              {"case": brk.case_code or None, "seq": brk.seq, "problem": brk.problem,
               "code": brk.why["code"], "sentence": brk.sentence()},
              "checkpoint": None if cp is None else
              {"number": cp.number, "at": cp.at, "file": str(cp.path),
               "cases": len(cp.doc["cases"])},
              "unchecked": [text("ui", label, lang, **params)
                            for label, params in result.unchecked],
              "admin_log": None if log is None else
              {"ok": log.ok, "entries": log.entries, "first_break":
               None if log_brk is None else
               {"seq": log_brk.seq, "problem": log_brk.problem,
                "sentence": log_brk.sentence()}}}
    emit(report, as_json, lambda r: verified_text(r, result, log, lang))
    if brk is not None and brk.top == "checkpoint_broken":
        raise ChainBroken("checkpoint_broken", problem=brk.why)
    if brk is not None and brk.top == "admin_log_broken":
        raise ChainBroken("admin_log_broken", seq=brk.seq, problem=brk.why)
    if brk is not None:
        raise ChainBroken("audit_chain_broken", case=brk.case_code, seq=brk.seq,
                          problem=brk.why)
    if log_brk is not None:
        raise ChainBroken("admin_log_broken", seq=log_brk.seq, problem=log_brk.why)


def verified_text(r: dict[str, Any], result: integrity.Report,
                  log: adminlog.Verification | None, lang: str) -> str:
    brk = result.first_break
    lines = [text("ui", "verify_intact", lang, cases=r["cases"], entries=r["entries"])
             if brk is None else brk.sentence(lang)]
    if brk is None and r["checkpoint"] is not None:
        lines.append(text("ui", "verify_checkpoint", lang, **{
            k: r["checkpoint"][k] for k in ("number", "at", "cases")}))
    if log is not None:
        lines.append(text("ui", "admin_log_intact", lang, entries=log.entries)
                     if log.first_break is None else log.first_break.sentence(lang))
    if brk is None:
        lines.extend(r["unchecked"])
    return "\n".join(lines)


@audit_group.command("checkpoint")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def checkpoint_cmd(ctx: Context, as_json: bool) -> None:
    """Sign every case chain's length and head, the list of cases and a digest of each
    case's state and certificates into a new file of OCOP_CHECKPOINT_DIR (and POST it to
    OCOP_CHECKPOINT_URL when set). Beat does this every OCOP_CHECKPOINT_INTERVAL seconds."""
    result = record.take_checkpoint(ctx.app)
    emit(result, as_json, lambda r: checkpoint_text(r, from_env()))


def checkpoint_text(r: dict[str, Any], lang: str) -> str:
    lines = [text("ui", "checkpoint_written", lang, **{
        k: r[k] for k in ("number", "cases", "entries", "path")})]
    if "posted" in r:
        lines.append(text("ui", "checkpoint_posted", lang, url=r["posted"]))
    if "post_failed" in r:
        lines.append(text("ui", "checkpoint_post_failed", lang, **r["post_failed"]))
    return "\n".join(lines)


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
