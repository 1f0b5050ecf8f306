"""Console pages: the case page's documents panel, the upload form's target and downloads.

The panel lists every kind the case's rule version takes (the required ones marked, in the
reader's language), the latest version of each kind uploaded with the earlier ones under it, and
— for someone who may upload to the case now — a form posting the file to
``/console/cases/{code}/documents``; the answer goes back to the case page."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection
from starlette.datastructures import UploadFile

from workflow import documents
from workflow.bootstrap import App
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput, NotFound, OcopError
from workflow.store import queries
from workflow.web.api.documents import disposition
from workflow.web.api.problems import http_status
from workflow.web.console.i18n import when
from workflow.web.console.render import request_lang

router = APIRouter(prefix="/console", include_in_schema=False)


def size_words(size: int) -> str:
    """A file size as people read it: 812 B, 14.2 KB, 3.1 MB."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


def _version(row: dict[str, Any], lang: str) -> dict[str, Any]:
    href = (f"/console/cases/{quote(row['case'], safe='')}/documents/"
            f"{quote(row['kind'], safe='')}?{urlencode({'version': row['version']})}")
    return {**row, "href": href, "size_words": size_words(row["size"]),
            "when": when(row["uploaded_at"], lang)}


def panel(conn: Connection, app: App, actor: Actor, view: dict[str, Any],
          lang: str) -> dict[str, Any] | None:
    """The case page's documents panel context (None: no panel): the rule version's kinds in
    the catalogue's order, each with its versions (newest first), and whether ``actor`` may
    upload now. The caller has checked that ``actor`` may read the case."""
    case = queries.case_row(conn, view["code"])
    found: dict[str, list[dict[str, Any]]] = {}
    for row in documents.versions_of(conn, case):
        found.setdefault(row["kind"], []).append(_version(row, lang))
    kinds = [{"code": k.code, "label": k.words(lang), "required": k.required,
              "versions": found.get(k.code, [])}
             for k in documents.kinds_of(app, case["rule_version"])]
    return {"code": case["code"], "kinds": kinds,
            "may_upload": documents.may_upload(app, actor, case),
            "max_mb": app.settings.document_max_mb,
            "labels": {k["code"]: k["label"] for k in kinds}}


@router.post("/cases/{code}/documents")
async def upload(request: Request, code: str) -> Response:
    """The panel's form: upload, then back to the case page with a banner; refused, the case
    page again with the sentence, nothing stored."""
    # The console's own helpers, imported here: ``routes`` imports this module for ``panel``.
    from workflow.web.console.routes import case_context, csrf_for, failed, ocop, render, signed_in

    try:
        actor, secret = await run_in_threadpool(signed_in, request)
    except OcopError as error:
        return failed(request, error)
    app = ocop(request)
    data, filename = b"", None
    async with request.form() as form:  # closes the spooled file when done
        kind, csrf, sent = str(form.get("kind") or ""), str(form.get("csrf") or ""), \
            form.get("file")
        if isinstance(sent, UploadFile):
            data = await sent.read(app.settings.document_max_mb * 1024 * 1024 + 1)
            filename = sent.filename
    try:
        if not _same(csrf, csrf_for(secret)):
            raise InvalidInput("form_expired")
        row = await run_in_threadpool(documents.add, app, actor, code, kind, filename, data)
    except OcopError as error:
        try:
            context = await run_in_threadpool(case_context, request, actor, secret, code)
        except OcopError as other:
            return failed(request, other, actor)
        return render(request, "case.html", http_status(error),
                      error=error.text(request_lang(request)), upload_kind=kind, **context)
    query = urlencode({"uploaded": row["kind"], "version": row["version"]})
    return RedirectResponse(f"/console/cases/{quote(code, safe='')}?{query}", 303)


def _same(sent: str, expected: str) -> bool:
    return hmac.compare_digest(sent.encode(), expected.encode())


@router.get("/cases/{code}/documents/{kind}")
def download(request: Request, code: str, kind: str, version: str | None = None) -> Response:
    """One version's bytes (the latest unless ``?version=N``) for a signed-in reader of the
    case, once their SHA-256 matches the record."""
    from workflow.web.console.routes import failed, ocop, signed_in

    try:
        actor, _ = signed_in(request)
        number = int(version) if version and version.isdigit() and len(version) < 7 else None
        if version is not None and number is None:
            raise NotFound("document_not_found", case=code, documents=kind, number=version)
        row, data = documents.open(ocop(request), actor, code, kind, number)
    except OcopError as error:
        return failed(request, error)
    return Response(data, media_type=row["media_type"], headers={
        "Content-Disposition": disposition(row["filename"]), "Cache-Control": "no-store"})

