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
from workflow import diagram
from workflow.bootstrap import App
from workflow.clock import aware
from workflow.domain import explain
from workflow.domain.facts import Actor, Event
from workflow.domain.guards import PRESCORE_CRITERIA
from workflow.errors import InvalidInput, OcopError, Unauthenticated
from workflow.store import inbox as work
from workflow.store import queries
from workflow.web.api.admin import audit_csv
from workflow.web.api.auth import AUDITORS, actor_for_token, check_read, require_role
from workflow.web.api.problems import http_status
from workflow.web.console import forms, views
from workflow.web.console.render import pages_of, request_lang

router = APIRouter(prefix="/console", include_in_schema=False)
SESSION = "ocop_session"
CSV_LIMIT = 50_000


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


def maybe_signed_in(request: Request) -> Actor | None:
    try:
        return signed_in(request)[0]
    except OcopError:
        return None


def failed(request: Request, error: OcopError, actor: Actor | None = None) -> Response:
    """The error page in the reader's language, with the header and navigation of the user."""
    if isinstance(error, Unauthenticated):
        return RedirectResponse("/console/sign-in", 303)
    actor = actor or maybe_signed_in(request)
    return render(request, "error.html", http_status(error),
                  error=error.text(request_lang(request)), actor=actor)


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
def inbox(request: Request, view: str | None = None, state: str | None = None,
          overdue: str | None = None, page: str | None = None) -> Response:
    """My work by default (cases with an action for me, most urgent first); all cases in my
    scope, the overdue ones, or those in one state one click away; a page at a time, with
    "N–M of T" and links to the pages either side."""
    try:
        actor, _ = signed_in(request)
    except OcopError as error:
        return failed(request, error)
    app = ocop(request)
    shown = work.view_of(actor.role, "overdue" if overdue and not view else view, state)
    now, size = app.clock.now(), request.app.state.config.page_limit
    number = int(page) if page and page.isdigit() and 0 < int(page) < 10**6 else 1
    mine = (work.work_condition(actor, now, app.settings.district_successor)
            if shown == "mine" else None)
    filters = work.view_filters(shown, state)
    with app.db.connect() as conn:
        rows = queries.list_cases(conn, now, actor=actor, where=mine, limit=size,
                                  offset=(number - 1) * size, **filters)
        total = queries.count_cases(conn, now, actor=actor, where=mine, **filters)
    first = (number - 1) * size + 1
    return render(request, "inbox.html", actor=actor, rows=rows, view=shown,
                  state=state if state in states.ALL_STATES else "",
                  states=list(states.ALL_STATES), can_work=work.has_work(actor.role),
                  total=total, first=first, last=first + len(rows) - 1,
                  links=_page_links(request, number, first + len(rows) - 1 < total))


def _page_links(request: Request, number: int, more: bool) -> dict[str, str | None]:
    """The previous and next pages' addresses, keeping the view and its filters."""
    def at(n: int) -> str:
        query = {k: v for k, v in request.query_params.items() if k not in ("page", "lang")}
        return f"/console/inbox?{urlencode({**query, 'page': n})}"
    return {"previous": at(number - 1) if number > 1 else None,
            "next": at(number + 1) if more else None}


def case_context(request: Request, actor: Actor, token: str, code: str) -> dict[str, Any]:
    app = ocop(request)
    with app.db.connect() as conn:
        check_read(actor, queries.case_row(conn, code))
        view = queries.case_view(conn, code, app.settings.public_url)
        allowed = queries.allowed(conn, code, actor, app.clock.now(), settings=app.settings)
    lc = states.lifecycle(view["rule_version"])
    path = [(h["from"], h["to"]) for h in view["history"] if h["from"] and h["from"] != h["to"]]
    lang = request_lang(request)
    svg = diagram.case_svg(lc.version, lang, path, view["state"])
    actions = [a["trigger"] for a in allowed if a["allowed"]
               and a["trigger"] not in forms.SYSTEM_ONLY]
    for entry in view["history"]:
        entry["details"] = views.details(entry["trigger"], entry["data"], lang)
        entry["who"] = views.who(entry["actor"], entry["role"], lang)
        entry["reason"] = views.reason_words(entry["reason"], entry["role"], lang)
    return {"actor": actor, "case": view, "actions": actions, "diagram": svg,
            "why": explain.latest(view["history"], lang),
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
    return render(request, "case.html", done=done if done in forms.TRIGGERS else None,
                  **context)


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
            raise InvalidInput("form_expired")
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
        return render(request, "case.html", http_status(error),
                      error=error.text(request_lang(request)),
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
                raise InvalidInput("date_filter_invalid", form_field=key, got=out[key]) from None
    return out


def audit_rows(request: Request, limit: int, offset: int = 0
               ) -> tuple[Actor, list[dict[str, Any]]]:
    """The filtered audit entries, newest first."""
    actor, _ = signed_in(request)
    require_role(actor, AUDITORS, "do_read_audit")
    f = audit_filters(request)
    with ocop(request).db.connect() as conn:
        rows = queries.audit_filtered(conn, f["case"], f["actor"], f["trigger"], f["since"],
                                      f["until"], limit, offset, newest_first=True)
    return actor, rows


@router.get("/audit")
def audit_page(request: Request) -> Response:
    page = views.page_number(request.query_params.get("page"))
    try:
        actor, rows = audit_rows(request, views.AUDIT_PAGE + 1, (page - 1) * views.AUDIT_PAGE)
    except OcopError as error:
        return failed(request, error)
    lang = request_lang(request)
    more, rows = len(rows) > views.AUDIT_PAGE, rows[:views.AUDIT_PAGE]
    for row in rows:
        row["details"] = views.details(row["trigger"], row["data"], lang)
        row["who"] = views.who(row["actor"], row["role"], lang)
        row["reason"] = views.reason_words(row["reason"], row["role"], lang)
    query = urlencode({k: v for k, v in request.query_params.items()
                       if k not in ("lang", "page")})
    return render(request, "audit.html", actor=actor, rows=rows, q=request.query_params,
                  csv_url=f"/console/audit.csv?{query}", page=page,
                  links=views.page_links(request.query_params, page, more),
                  triggers=forms.TRIGGERS)


@router.get("/audit.csv")
def audit_download(request: Request) -> Response:
    try:
        _, rows = audit_rows(request, CSV_LIMIT)
    except OcopError as error:
        return failed(request, error)
    return Response(audit_csv(rows, request_lang(request)), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="ocop-audit.csv"'})
