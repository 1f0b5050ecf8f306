"""``ocop documents add|list|get|kinds``: a case's dossier documents.

Each command acts as the user ``--as`` names, within that user's reach, as the API would; without
``--as`` as the operator at the machine (the ``system`` actor, which reaches every case)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

import states
from workflow import documents, registry
from workflow.cli.base import Context, emit, pass_app
from workflow.clock import local
from workflow.domain.facts import SYSTEM_ACTOR, Actor
from workflow.errors import InvalidInput

AS_USER = click.option("--as", "as_user", metavar="NAME",
                       help="act as this user, within their reach (default: the operator)")


@click.group("documents")
def documents_group() -> None:
    """The dossier's documents: upload, list, download, and the kinds each rule version takes."""


def acting(ctx: Context, as_user: str | None) -> Actor:
    if as_user is None:
        return SYSTEM_ACTOR
    with ctx.app.db.connect() as conn:
        return registry.actor_named(conn, as_user)


@documents_group.command("add")
@click.argument("code")
@click.argument("kind")
@click.argument("file", metavar="FILE")
@AS_USER
@click.option("--json", "as_json", is_flag=True)
@pass_app
def add(ctx: Context, code: str, kind: str, file: str, as_user: str | None,
        as_json: bool) -> None:
    """Upload FILE (PDF, JPEG or PNG) as case CODE's document of KIND; a kind uploaded before
    gets a new version. Prints the version and the file's SHA-256."""
    app = ctx.app
    limit = app.settings.document_max_mb * 1024 * 1024
    try:
        with Path(file).open("rb") as fh:
            data = fh.read(limit + 1)  # one byte past the limit is enough to refuse
    except OSError as error:
        raise InvalidInput("document_file_unreadable", got=file,
                           why=error.strerror or type(error).__name__) from None
    row = documents.add(app, acting(ctx, as_user), code, kind, Path(file).name, data)
    emit(row, as_json, lambda r: f"{r['case']} {r['kind']} version {r['version']} "
                                 f"{r['sha256']}")


@documents_group.command("list")
@click.argument("code")
@AS_USER
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(ctx: Context, code: str, as_user: str | None, as_json: bool) -> None:
    """Every uploaded version of case CODE's documents, newest version first per kind."""
    rows = [*documents.list(ctx.app, acting(ctx, as_user), code)]
    emit(rows, as_json, lambda rs: "\n".join(_line(r) for r in rs) or "-")


def _line(r: dict[str, Any]) -> str:
    return (f"{r['kind']:<22} v{r['version']:<3} {r['size']:>10} B  {r['media_type']:<16} "
            f"{r['uploaded_at']}  {r['uploaded_by']}  {r['filename']}  {r['sha256']}")


@documents_group.command("get")
@click.argument("code")
@click.argument("kind")
@click.option("--version", type=click.IntRange(1, 10**6), help="this version (default: latest)")
@click.option("--out", help="the file to write (default: the uploaded file's name, here; "
                            "'-' writes the bytes to standard output)")
@AS_USER
@click.option("--json", "as_json", is_flag=True)
@pass_app
def get(ctx: Context, code: str, kind: str, version: int | None, out: str | None,
        as_user: str | None, as_json: bool) -> None:
    """Write a document's bytes once their SHA-256 is checked against its record; prints the
    file's path."""
    row, data = documents.open(ctx.app, acting(ctx, as_user), code, kind, version)
    if out == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    path = Path(out or row["filename"])
    path.write_bytes(data)
    emit({**row, "path": str(path)}, as_json, lambda r: str(r["path"]))


@documents_group.command("kinds")
@click.option("--rules", type=click.Choice(states.RULE_VERSIONS),
              help="the rule version (default: the one in force today)")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def kinds(ctx: Context, rules: str | None, as_json: bool) -> None:
    """The kinds a rule version's dossier takes, the required ones marked, in Vietnamese and
    English."""
    app = ctx.app
    version = rules or states.rule_version_for(local(app.clock.now()).date())
    found = [{"kind": k.code, "required": k.required, "vi": k.vi, "en": k.en}
             for k in documents.kinds_of(app, version)]
    emit(found, as_json, lambda ks: "\n".join(
        f"{k['kind']:<22} {'*' if k['required'] else ' '} {k['vi']} / {k['en']}" for k in ks))
