"""Pages anyone may open: health, metrics, certificate verification (by QR code) and the
producer's status page (by the unguessable per-case link)."""

from __future__ import annotations

import io
import secrets
from typing import Annotated, Any
from urllib.parse import quote

import segno
import structlog
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select, text

from workflow.bootstrap import App
from workflow.clock import local
from workflow.errors import NotFound, OcopError
from workflow.i18n import from_accept
from workflow.store import integrity, queries
from workflow.store.db import read_snapshot
from workflow.store.schema import cases, producers
from workflow.web.api import status_view
from workflow.web.api.auth import AppDep
from workflow.web.api.models import CertificateCheck
from workflow.web.api.problems import documented
from workflow.web.console.render import pages_of, request_lang

router = APIRouter(tags=["public"])
log = structlog.get_logger("ocop.public")


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


def wants_json(request: Request, format: str | None = None) -> bool:
    """JSON (``?format=json``, or an ``Accept`` naming JSON and not HTML); otherwise a page."""
    if format:
        return format == "json"
    accept = request.headers.get("accept", "")
    return ("application/json" in accept or "+json" in accept) and "text/html" not in accept


def visitor_lang(request: Request, default: str | None = None) -> str:
    """``?lang=``, the language cookie, then ``default``, then ``Accept-Language``."""
    return request_lang(request, default or from_accept(request.headers.get("accept-language")))


def missing_page(request: Request, error: OcopError, lang: str | None = None) -> Response:
    """A 404 for a person: the error's sentence in their language, in the site's frame."""
    lang = lang or visitor_lang(request)
    return pages_of(request).page(request, "missing.html", lang, status=404,
                                  message=error.text(lang))


def certificate_check(app: App, number: str) -> dict[str, Any]:
    with read_snapshot(app.db) as conn:
        cert = queries.certificate_by_number(conn, number)
        problem = integrity.check_one(conn, app.keys, cert["case_id"])
    if problem is not None:
        log.warning("certificate_not_authentic", number=number, case=problem.case_code,
                    seq=problem.seq, problem=problem.problem)
    today = local(app.clock.now()).date()
    # Pending (no decision yet) is never valid; valid from the decision's date (DOMAIN.md §9).
    start = cert["decision_date"] or cert["issued_on"]
    valid = (problem is None and cert["status"] == "valid" and cert["valid_to"] is not None
             and start <= today <= cert["valid_to"])
    return {"number": cert["number"], "valid_today": valid, "authentic": problem is None,
            "status": cert["status"] if cert["status"] != "valid" or valid else "expired",
            "stars": cert["stars"], "level": cert["level"], "rule_version": cert["rule_version"],
            "issued_on": cert["issued_on"].isoformat(),
            "valid_to": cert["valid_to"].isoformat() if cert["valid_to"] else None,
            "decision": queries.decision_json(cert),
            "product": cert["product"], "producer": cert["producer"],
            "checked_on": today.isoformat()}


def page_or_problem(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The error responses of a page: problem+json for JSON clients, a page for browsers."""
    answers = documented(*statuses)
    for answer in answers.values():
        answer["content"] = {**answer["content"],
                             "text/html": {"schema": {"type": "string"}}}
    return answers


@router.get("/verify/{certificate_no:path}/qr.svg", response_class=Response,
            responses={**documented(404),
                       200: {"content": {"image/svg+xml": {"schema": {"type": "string"}}},
                             "description": "A QR code of the verification page's address"}})
def certificate_qr(certificate_no: str, app: AppDep) -> Response:
    """A QR code that opens this certificate's verification page."""
    check = certificate_check(app, certificate_no)
    url = f"{app.settings.public_url.rstrip('/')}/verify/{quote(check['number'])}"
    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="svg", scale=6, border=2,
                                    title=f"OCOP {check['number']}")
    return Response(buffer.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/verify/{certificate_no:path}", response_model=CertificateCheck,
            responses={**documented(422), **page_or_problem(404),
                       200: {"content": {"text/html": {"schema": {"type": "string"}}},
                             "description": "Is this certificate valid today (HTML or JSON)"}})
def verify_certificate(certificate_no: str, request: Request, app: AppDep,
                       format: Annotated[str | None, Query(pattern="^(json|html)$")] = None
                       ) -> Response:
    """Is the certificate valid today? JSON with ``Accept: application/json`` or
    ``?format=json`` (an unknown number: problem+json 404); otherwise a page in the visitor's
    language (``?lang=en``, ``Accept-Language``; Vietnamese by default), a 404 page if unknown."""
    try:
        check = certificate_check(app, certificate_no)
    except NotFound as error:
        if wants_json(request, format):
            raise
        return missing_page(request, error)
    if wants_json(request, format):
        return JSONResponse(check)
    return pages_of(request).page(request, "verify.html", visitor_lang(request), cert=check)


@router.get("/status/{code}", response_class=HTMLResponse,
            responses={**page_or_problem(404),
                       200: {"content": {"text/html": {"schema": {"type": "string"}}},
                             "description": "The producer's status page"}})
def status_page(code: str, request: Request, app: AppDep, t: str | None = None) -> Response:
    """The producer's timeline and notifications, in their language; ``t`` is the case's
    status token (unguessable, per case) from the link the producer received. A wrong link is
    a 404 page (problem+json for a client asking for JSON)."""
    try:
        with app.db.connect() as conn:
            row = conn.execute(select(cases.c.status_token, producers.c.lang)
                               .join(producers, producers.c.id == cases.c.producer_id)
                               .where(cases.c.code == code)).first()
            if row is None or not t or len(t) > 100 or not secrets.compare_digest(
                    row.status_token.encode(), t.encode()):
                raise NotFound("status_page_not_found", case=code)
            view = queries.case_view(conn, code)
            notices = queries.inapp_notices(conn, code)
    except NotFound as error:
        if wants_json(request):
            raise
        return missing_page(request, error)
    lang = request_lang(request, row.lang)
    return pages_of(request).page(request, "status.html", lang, case=view,
                                  dates=status_view.dates(view, lang),
                                  timeline=status_view.timeline(view, lang),
                                  notices=status_view.notices(notices, lang))
