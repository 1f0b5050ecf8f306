"""Pages anyone may open: health, metrics, certificate verification (by QR code) and the
producer's status page (by the unguessable per-case link)."""

from __future__ import annotations

import io
import secrets
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select, text

from workflow import queries
from workflow.api.auth import AppDep
from workflow.api.models import CertificateCheck
from workflow.api.problems import documented
from workflow.bootstrap import App
from workflow.clock import local
from workflow.console.render import pages_of, request_lang
from workflow.errors import NotFound
from workflow.schema import cases, producers

router = APIRouter(tags=["public"])


@router.get("/healthz", responses={503: {"description": "The database does not answer"}})
def healthz(app: AppDep) -> JSONResponse:
    """Liveness and the database's answer."""
    try:
        with app.db.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # any driver failure means "not ready"
        return JSONResponse({"status": "unavailable", "database": type(error).__name__}, 503)
    return JSONResponse({"status": "ok", "database": "ok"})


@router.get("/metrics", response_class=Response,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition"}})
def metrics(request: Request) -> Response:
    """Transitions, refusals, outbox backlog and overdue cases, for Prometheus."""
    body = request.app.state.metrics.exposition()
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")


def wants_json(request: Request, format: str | None) -> bool:
    if format:
        return format == "json"
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def certificate_check(app: App, number: str) -> dict[str, Any]:
    with app.db.connect() as conn:
        cert = queries.certificate_by_number(conn, number)
    today = local(app.clock.now()).date()
    valid = cert["status"] == "valid" and cert["issued_on"] <= today <= cert["valid_to"]
    return {"number": cert["number"], "valid_today": valid,
            "status": cert["status"] if cert["status"] != "valid" or valid else "expired",
            "stars": cert["stars"], "level": cert["level"], "rule_version": cert["rule_version"],
            "issued_on": cert["issued_on"].isoformat(), "valid_to": cert["valid_to"].isoformat(),
            "product": cert["product"], "producer": cert["producer"],
            "checked_on": today.isoformat()}


@router.get("/verify/{certificate_no}", response_model=CertificateCheck,
            responses={**documented(404, 422),
                       200: {"content": {"text/html": {"schema": {"type": "string"}}},
                             "description": "Is this certificate valid today (HTML or JSON)"}})
def verify_certificate(certificate_no: str, request: Request, app: AppDep,
                       format: Annotated[str | None, Query(pattern="^(json|html)$")] = None
                       ) -> Response:
    """Is the certificate valid today? JSON with ``Accept: application/json`` or
    ``?format=json``; otherwise a page in Vietnamese (``?lang=en`` for English)."""
    check = certificate_check(app, certificate_no)
    if wants_json(request, format):
        return JSONResponse(check)
    return pages_of(request).page(request, "verify.html", cert=check)


@router.get("/verify/{certificate_no}/qr.svg", response_class=Response,
            responses={**documented(404),
                       200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}},
                             "description": "A QR code of the verification page's address"}})
def certificate_qr(certificate_no: str, app: AppDep) -> Response:
    """A QR code that opens this certificate's verification page."""
    check = certificate_check(app, certificate_no)
    url = f"{app.settings.public_url.rstrip('/')}/verify/{check['number']}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2,
                                    title=f"OCOP {check['number']}")
    return Response(buffer.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/status/{code}", response_class=HTMLResponse,
            responses={**documented(404),
                       200: {"content": {"text/html": {"schema": {"type": "string"}}},
                             "description": "The producer's status page"}})
def status_page(code: str, request: Request, app: AppDep,
                t: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    """The producer's timeline and notifications, in their language; ``t`` is the case's
    status token (unguessable, per case) from the link the producer received."""
    with app.db.connect() as conn:
        row = conn.execute(select(cases.c.status_token, producers.c.lang)
                           .join(producers, producers.c.id == cases.c.producer_id)
                           .where(cases.c.code == code)).first()
        if row is None or not t or not secrets.compare_digest(
                row.status_token.encode(), t.encode()):
            raise NotFound(f"No case status page is at /status/{code} with that link; check "
                           "the link in your notification.")
        view = queries.case_view(conn, code)
        notices = queries.inapp_notices(conn, code)
    lang = request_lang(request, row.lang)
    return pages_of(request).page(request, "status.html", lang, case=view, notices=notices)
