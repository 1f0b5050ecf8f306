"""``ocop certificates pdf NUMBER``: a certificate as the office's signed PDF."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from workflow.cli.base import Context, emit, pass_app


@click.group("certificates")
def certificates_group() -> None:
    """Certificates as documents."""


@certificates_group.command("pdf")
@click.argument("number")
@click.option("--out", "out", help="the file to write (default: ocop-NUMBER.pdf here; "
                                   "'-' writes the PDF to standard output)")
@click.option("--lang", type=click.Choice(["vi", "en"]), default="vi", show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def pdf(ctx: Context, number: str, out: str | None, lang: str, as_json: bool) -> None:
    """Write the certificate as an A4 PDF signed by the office (its record must be authentic);
    prints the file's path."""
    # Imported here: ReportLab and pyHanko take a third of a second, which no other command
    # should pay.
    from workflow import certificate_pdf
    body = certificate_pdf.render(ctx.app, number, lang)
    if out == "-":
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return
    path = Path(out or "ocop-" + re.sub(r"[^A-Za-z0-9._-]", "_", number) + ".pdf")
    path.write_bytes(body)
    emit({"number": number, "path": str(path), "bytes": len(body)}, as_json,
         lambda v: str(v["path"]))
