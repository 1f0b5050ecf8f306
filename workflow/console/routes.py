"""The staff console: sign in with a token, the inbox, a case with its timeline, diagram and
action forms, and the supervisor's audit view. Plain forms; a cookie holds the token."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

import states
from workflow import diagram, queries
from workflow.api.admin import audit_csv
from workflow.api.auth import AUDITORS, actor_for_token, check_read, require_role
from workflow.api.problems import http_status
from workflow.bootstrap import App
from workflow.clock import aware
from workflow.console import drawing, forms
from workflow.console.i18n import state_names
from workflow.console.render import pages_of, request_lang
from workflow.errors import InvalidInput, OcopError, Unauthenticated
from workflow.facts import Actor, Event
from workflow.guards import PRESCORE_CRITERIA

router = APIRouter(prefix="/console", include_in_schema=False)
SESSION = "ocop_session"


def csrf_for(token: str) -> str:
    return hmac.new(token.encode(), b"ocop-console-form", hashlib.sha256).hexdigest()[:32]


def ocop(request: Request) -> App:
    app: App = request.app.state.ocop
    return app


def signed_in(request: Request) -> tuple[Actor, str]:
    token = request.cookies.get(SESSION)
    return actor_for_token(request, token), token or ""


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    return pages_of(request).page(request, name, status=status, **context)


def failed(request: Request, error: OcopError, actor: Actor | None = None) -> Response:
    if isinstance(error, Unauthenticated):
        return RedirectResponse("/console/sign-in", 303)
    return render(request, "error.html", http_status(error), error=error.message, actor=actor)


@router.get("")
def home(request: Request) -> Response:
    target = "/console/inbox" if request.cookies.get(SESSION) else "/console/sign-in"
    return RedirectResponse(target, 303)


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return render(request, "signin.html")


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    form = await request.form()
    token = str(form.get("token") or "").strip()
    try:
        await run_in_threadpool(actor_for_token, request, token)
    except Unauthenticated:
        return render(request, "signin.html", 401, bad_token=True)
    response = RedirectResponse("/console/inbox", 303)
    response.set_cookie(SESSION, token, httponly=True, samesite="strict",
                        secure=request.app.state.config.secure_cookies, max_age=12 * 3600)
    return response


@router.post("/sign-out")
def sign_out() -> Response:
    response = RedirectResponse("/console/sign-in", 303)
    response.delete_cookie(SESSION)
    return response


@router.get("/inbox")
def inbox(request: Request, state: str | None = None, overdue: bool = False) -> Response:
    try:
        actor, _ = signed_in(request)
    except OcopError as error:
        return failed(request, error)
    app = ocop(request)
    with app.db.connect() as conn:
        rows = queries.list_cases(conn, app.clock.now(), state or None, None, overdue, actor,
                                  request.app.state.config.page_limit)
    return render(request, "inbox.html", actor=actor, rows=rows, state=state or "",
                  overdue=overdue, states=list(states.ALL_STATES))


def case_context(request: Request, actor: Actor, token: str, code: str) -> dict[str, Any]:
    app = ocop(request)
    with app.db.connect() as conn:
        check_read(actor, queries.case_row(conn, code))
        view = queries.case_view(conn, code)
        allowed = queries.allowed(conn, code, actor, app.clock.now())
    lc = states.lifecycle(view["rule_version"])
    path = [(h["from"], h["to"]) for h in view["history"] if h["from"] and h["from"] != h["to"]]
    lang = request_lang(request)
    svg = drawing.svg(diagram.mermaid(lc, path), path, view["state"],
                      state_names(lang, lc.states))
    actions = [a["trigger"] for a in allowed if a["allowed"]
               and a["trigger"] not in forms.SYSTEM_ONLY]
    return {"actor": actor, "case": view, "actions": actions, "diagram": svg,
            "maxima": dict(zip("abc", lc.part_maxima, strict=True)),
            "documents": app.settings.required_documents, "csrf": csrf_for(token),
            "form_key": uuid.uuid4().hex, "forms": forms, "criteria": PRESCORE_CRITERIA}


@router.get("/cases/{code}")
def case_page(request: Request, code: str, done: str | None = None) -> Response:
    try:
        actor, token = signed_in(request)
        context = case_context(request, actor, token, code)
    except OcopError as error:
        return failed(request, error)
    return render(request, "case.html", done=done, **context)


@router.post("/cases/{code}/events")
async def fire(request: Request, code: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        actor, token = await run_in_threadpool(signed_in, request)
    except OcopError as error:
        return failed(request, error)
    trigger = form.get("trigger", "")
    try:
        if not hmac.compare_digest(form.get("csrf", "").encode(), csrf_for(token).encode()):
            raise InvalidInput("This form has expired; reload the case page and try again.")
        data, reason = forms.event_from(trigger, form)
        version = int(form["version"]) if form.get("version", "").isdigit() else None
        event = Event(code, trigger, actor, data, reason, form.get("form_key") or None, version)
        await run_in_threadpool(ocop(request).engine.apply, event)
    except OcopError as error:
        request.app.state.metrics.refused(trigger, error)
        try:
            context = await run_in_threadpool(case_context, request, actor, token, code)
        except OcopError as other:
            return failed(request, other, actor)
        return render(request, "case.html", http_status(error), error=error.message,
                      failed_trigger=trigger, form=form, **context)
    return RedirectResponse(f"/console/cases/{code}?{urlencode({'done': trigger})}", 303)


def audit_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {k: (q.get(k) or "").strip() or None
                           for k in ("case", "actor", "trigger", "since", "until")}
    for key in ("since", "until"):
        if out[key]:
            try:
                out[key] = aware(datetime.fromisoformat(out[key]))
            except ValueError:
                raise InvalidInput(f"{key} must be a date or time such as 2025-09-01; "
                                   f"got {out[key]!r}.") from None
    return out


def audit_rows(request: Request) -> tuple[Actor, list[dict[str, Any]]]:
    actor, _ = signed_in(request)
    require_role(actor, AUDITORS, "read the audit trail")
    f = audit_filters(request)
    with ocop(request).db.connect() as conn:
        rows = queries.audit_filtered(conn, f["case"], f["actor"], f["trigger"], f["since"],
                                      f["until"], 5000)
    return actor, rows


@router.get("/audit")
def audit_page(request: Request) -> Response:
    try:
        actor, rows = audit_rows(request)
    except OcopError as error:
        return failed(request, error)
    query = urlencode({k: v for k, v in request.query_params.items() if k != "lang"})
    return render(request, "audit.html", actor=actor, rows=rows, q=request.query_params,
                  csv_url=f"/console/audit.csv?{query}",
                  triggers=["register", *sorted({t for lc in states.LIFECYCLES.values()
                                                 for t in lc.triggers()})])


@router.get("/audit.csv")
def audit_download(request: Request) -> Response:
    try:
        _, rows = audit_rows(request)
    except OcopError as error:
        return failed(request, error)
    return Response(audit_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="ocop-audit.csv"'})
