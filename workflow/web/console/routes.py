"""The staff console: sign in with a user name and token, the inbox, a case with its timeline,
diagram and action forms, and the supervisor's audit view. Plain forms; a server-side session
(``workflow/store/sessions.py``) whose secret the ``ocop_session`` cookie holds."""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from limits.errors import StorageError
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

import states
from workflow import diagram, registry
from workflow.bootstrap import App
from workflow.clock import aware, local
from workflow.domain import explain
from workflow.domain.facts import Actor, Event, norm
from workflow.domain.guards import PRESCORE_CRITERIA
from workflow.errors import Forbidden, InvalidInput, OcopError, Unauthenticated
from workflow.store import inbox as work
from workflow.store import queries, sessions
from workflow.store.db import write_transaction
from workflow.store.schema import users
from workflow.web.api.admin import audit_csv
from workflow.web.api.auth import AUDITORS, require_role
from workflow.web.api.cases import check_case_read
from workflow.web.api.config import ApiConfig
from workflow.web.api.problems import from_error, http_status
from workflow.web.console import councils as console_councils
from workflow.web.console import documents as console_documents
from workflow.web.console import forms, views
from workflow.web.console.render import pages_of, request_lang
from workflow.web.throttle import SignInThrottle

router = APIRouter(prefix="/console", include_in_schema=False)
SESSION = "ocop_session"
SIGNIN_CSRF = "ocop_csrf"  # the signed-out sign-in form's double-submit cookie
SIGNIN_CSRF_MINUTES = 60  # how long a sign-in form may be left open before it must be reloaded
CSV_LIMIT = 50_000
log = structlog.get_logger("ocop.console")
UNAVAILABLE_RETRY = 30  # seconds: Retry-After while the sign-in counts cannot be read
# Why a sign-in was refused, as /metrics counts it.
REFUSAL = {"signin_failed": "unknown", "signin_disabled": "disabled",
           "signin_token_expired": "expired", "signin_fields_missing": "missing"}


def csrf_for(secret: str) -> str:
    """The forms' anti-forgery value: derived from the session's secret."""
    return hmac.new(secret.encode(), b"ocop-console-form", hashlib.sha256).hexdigest()[:32]


def signin_form_value(nonce: str, key: bytes) -> str:
    """The sign-in form's hidden value for the ``ocop_csrf`` cookie ``nonce``: its HMAC under
    the server's key (``signin_key``), so nobody can make a matching pair — not even someone
    able to plant a cookie from a sibling site — without this server's sign-in page."""
    return hmac.new(key, nonce.encode(), hashlib.sha256).hexdigest()[:32]


def signin_key(request: Request) -> bytes:
    """The sign-in form's HMAC key, derived from the office's signing key."""
    return ocop(request).keys.derived(b"ocop-console-sign-in")


def new_signin_nonce(now: datetime) -> str:
    """A fresh ``ocop_csrf`` cookie value: when it was issued and 24 random bytes."""
    return f"{int(now.timestamp())}.{secrets.token_urlsafe(24)}"


def signin_form_valid(nonce: str | None, sent: str, now: datetime, key: bytes) -> bool:
    """Whether the posted hidden value ``sent`` matches the cookie ``nonce`` and the cookie
    was issued less than :data:`SIGNIN_CSRF_MINUTES` ago."""
    if not nonce or not sent:
        return False
    issued, _, _ = nonce.partition(".")
    if not issued.isdigit() or len(issued) > 12:
        return False
    if abs(now.timestamp() - int(issued)) > SIGNIN_CSRF_MINUTES * 60:
        return False
    return hmac.compare_digest(sent.encode(), signin_form_value(nonce, key).encode())


def ocop(request: Request) -> App:
    app: App = request.app.state.ocop
    return app


def config_of(request: Request) -> ApiConfig:
    config: ApiConfig = request.app.state.config
    return config


def signed_in(request: Request) -> tuple[Actor, str]:
    """The signed-in actor and the session's secret (the key of the forms' CSRF value);
    ``Unauthenticated`` without a live session (none, signed out, idle, expired, the user
    disabled or deleted). Reads the database: call it from a thread, not the event loop."""
    secret = request.cookies.get(SESSION)
    if not secret:
        raise Unauthenticated("session_missing")
    app, config = ocop(request), config_of(request)
    now = app.clock.now()
    with app.db.connect() as conn:
        found = sessions.look_up(conn, secret, now, users_query=registry.user_query(),
                                 idle=timedelta(minutes=config.session_idle_minutes))
    if found is None:
        raise Unauthenticated("session_ended", idle_minutes=config.session_idle_minutes,
                              hours=config.session_hours)
    row, due = found
    if due:
        with write_transaction(app.db) as conn:
            sessions.touch(conn, secret, now)
    return registry.actor_from_row(row), secret


def render(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    """A console page; with a signed-in actor, the header's sign-out form carries the
    session's anti-forgery value."""
    secret = request.cookies.get(SESSION)
    if context.get("actor") is not None and secret:
        context.setdefault("signout_csrf", csrf_for(secret))
    return pages_of(request).page(request, name, status=status, **context)


def signin_page(request: Request, status: int = 200, **context: Any) -> Response:
    """The sign-in page with a fresh double-submit pair: a short-lived random ``ocop_csrf``
    cookie (HttpOnly, SameSite=Strict) and its HMAC-bound value in the form."""
    nonce = new_signin_nonce(ocop(request).clock.now())
    page = render(request, "signin.html", status,
                  csrf=signin_form_value(nonce, signin_key(request)), **context)
    page.set_cookie(SIGNIN_CSRF, nonce, httponly=True, samesite="strict",
                    path="/console/sign-in", secure=secure_cookies(request),
                    max_age=SIGNIN_CSRF_MINUTES * 60)
    return page


def signin_url(request: Request) -> str:
    return f"{ocop(request).settings.public_url.rstrip('/')}/console/sign-in"


def refuse_forged_form(request: Request, error: Forbidden, user: str = "") -> Response:
    """403: a sign-in or sign-out form without its anti-forgery value (or a stale one);
    nothing was done. Reads the database (the page's header): call it from a thread."""
    request.app.state.metrics.signin_failed("cross_site")
    log.warning("console_form_refused", reason=error.code, path=request.url.path, user=user,
                address=client_address(request))
    return render(request, "error.html", 403, error=error.text(request_lang(request)),
                  actor=maybe_signed_in(request))


def maybe_signed_in(request: Request) -> Actor | None:
    try:
        return signed_in(request)[0]
    except OcopError:
        return None


def wants_page(request: Request) -> bool:
    """A browser opening a page (sent to the sign-in page when signed out) rather than a
    script fetching (answered 401): ``Sec-Fetch-Mode`` other than ``navigate``, or an
    ``Accept`` asking for JSON and not HTML, is a script."""
    mode = request.headers.get("sec-fetch-mode")
    accept = request.headers.get("accept", "")
    json_only = "json" in accept and "text/html" not in accept
    return (mode is None or mode == "navigate") and not json_only


def failed(request: Request, error: OcopError, actor: Actor | None = None) -> Response:
    """The error page in the reader's language, with the header and navigation of the user;
    signed out: the sign-in page for a browser, a 401 problem document for a script."""
    if isinstance(error, Unauthenticated):
        if wants_page(request):
            return RedirectResponse("/console/sign-in", 303)
        return from_error(error, request.url.path, request_lang(request))
    actor = actor or maybe_signed_in(request)
    return render(request, "error.html", http_status(error),
                  error=error.text(request_lang(request)), actor=actor)


def cross_site(request: Request) -> str | None:
    """The other site a form was posted from, or ``None`` when it came from this one: an
    ``Origin`` header that is neither this request's origin nor ``OCOP_PUBLIC_URL``'s (or, with
    no ``Origin``, ``Sec-Fetch-Site: cross-site``)."""
    origin = request.headers.get("origin")
    if origin is None:
        return "cross-site" if request.headers.get("sec-fetch-site") == "cross-site" else None
    public = urlsplit(ocop(request).settings.public_url)
    own = {f"{request.url.scheme}://{request.url.netloc}".lower(),
           f"{public.scheme}://{public.netloc}".lower()}
    return None if origin.strip().lower() in own else origin


def refuse_cross_site(request: Request, origin: str) -> Response:
    request.app.state.metrics.signin_failed("cross_site")
    log.warning("console_cross_site_post", path=request.url.path, origin=origin[:200],
                address=client_address(request))
    error = Forbidden("cross_site_form", origin=origin[:200],
                      url=signin_url(request))
    return render(request, "error.html", 403, error=error.text(request_lang(request)))


@dataclass(frozen=True)
class Posted:
    """A console form post that may go on: its fields, who sent it, the session's secret."""

    form: dict[str, str]
    actor: Actor
    secret: str

    def fresh(self) -> bool:
        """Whether the form carries this session's CSRF value (else it is refused as expired:
        each form says so in its own words)."""
        return hmac.compare_digest(self.form.get("csrf", "").encode(),
                                   csrf_for(self.secret).encode())


async def posted(request: Request,
                 require: Callable[[Actor], None] | None = None) -> Posted | Response:
    """A console form post from this site by a signed-in user (whom ``require`` allows), or
    the page that refuses it (403 from another site, sign-in, not allowed)."""
    origin = cross_site(request)
    if origin is not None:
        return refuse_cross_site(request, origin)
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        actor, secret = await run_in_threadpool(signed_in, request)
        if require is not None:
            require(actor)
    except OcopError as error:
        return await run_in_threadpool(failed, request, error)
    return Posted(form, actor, secret)


def client_address(request: Request) -> str:
    """The connection's peer; ``X-Forwarded-For`` is not trusted (anyone can send it)."""
    return request.client.host if request.client else ""


def secure_cookies(request: Request) -> bool:
    """``Secure`` cookies when asked (``OCOP_SECURE_COOKIES=1``) or served over https."""
    public_url = ocop(request).settings.public_url
    return config_of(request).secure_cookies or public_url.lower().startswith("https:")


@router.get("")
def home(request: Request) -> Response:
    target = "/console/inbox" if request.cookies.get(SESSION) else "/console/sign-in"
    return RedirectResponse(target, 303)


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return signin_page(request)


def open_session(request: Request, name: str, token: str) -> tuple[str, datetime]:
    """Check that ``token`` is the API token of user ``name``, or the password of a producer
    who set one up through an invitation, and open a session for them: the secret for the
    cookie and when the session expires. Refused (``Unauthenticated``) for an unknown name or
    a secret not theirs with one sentence for both (which was wrong is not said, and a wrong
    name costs the same password check as a wrong password); a disabled account or an expired
    token only once the right secret was given."""
    app, config = ocop(request), config_of(request)
    with app.db.connect() as conn:
        row = conn.execute(registry.user_query().where(users.c.name == name)).first()
    # The password check is slow by design: outside the write transaction.
    token_right = row is not None and hmac.compare_digest(row.token_hash,
                                                          registry.token_hash(token))
    password_right = not token_right and registry.password_matches(
        row.password_hash if row is not None else None, token)
    if row is None or not (token_right or password_right):
        raise Unauthenticated("signin_failed")
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        # read again in the write: disabled or deleted since, it is refused as it is now
        row = conn.execute(select(users).where(users.c.id == row.id)).first()
        if row is None:
            raise Unauthenticated("signin_failed")
        if row.disabled_at is not None:
            raise Unauthenticated("signin_disabled", user=name)
        token_ends = row.token_expires_at
        if token_ends is not None and token_ends <= now:
            raise Unauthenticated("signin_token_expired", user=name,
                                  expired=local(token_ends).date())
        secret = sessions.create(conn, now, row.id, hours=config.session_hours,
                                 address=client_address(request), not_after=token_ends)
    expires = now + timedelta(hours=config.session_hours)
    return secret, min(expires, token_ends) if token_ends else expires


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    """Check the user name and token and open a session. Refused from another site (403);
    after too many failures for the account or from the address, refused (429 with
    ``Retry-After``) even with the right token; while the failure counts cannot be read (the
    shared store is down), refused (503). Without the form's anti-forgery pair (the
    ``ocop_csrf`` cookie the sign-in page set and its value in the form), refused (403) before
    anything is checked or counted. Every refusal is logged (without the token) and counted
    in /metrics."""
    origin = cross_site(request)
    if origin is not None:
        return refuse_cross_site(request, origin)
    form = await request.form()
    name = norm(str(form.get("name") or ""))[:200]
    token = str(form.get("token") or "").strip()
    if not signin_form_valid(request.cookies.get(SIGNIN_CSRF), str(form.get("csrf") or ""),
                             ocop(request).clock.now(), signin_key(request)):
        forged = Forbidden("signin_form_expired", url=signin_url(request))
        return await run_in_threadpool(refuse_forged_form, request, forged, name)
    address, lang = client_address(request), request_lang(request)
    throttle: SignInThrottle = request.app.state.throttle
    metrics = request.app.state.metrics
    try:
        wait = await run_in_threadpool(throttle.wait, name, address)
    except StorageError as trouble:
        metrics.signin_failed("unavailable")
        log.error("console_signin_refused", reason="unavailable", user=name, address=address,
                  error=str(trouble.storage_error))
        page = signin_page(request, 503, user_name=name,
                           error=OcopError("signin_unavailable").text(lang))
        page.headers["Retry-After"] = str(UNAVAILABLE_RETRY)
        return page
    if wait:
        metrics.signin_failed("throttled")
        log.warning("console_signin_refused", reason="throttled", user=name, address=address,
                    retry_after=wait)
        error = Unauthenticated("signin_throttled", minutes=math.ceil(wait / 60))
        page = signin_page(request, 429, error=error.text(lang), user_name=name)
        page.headers["Retry-After"] = str(wait)
        return page
    try:
        if not name or not token:
            raise InvalidInput("signin_fields_missing")
        secret, expires = await run_in_threadpool(open_session, request, name, token)
    except (Unauthenticated, InvalidInput) as error:
        reason = REFUSAL.get(error.code, "unknown")
        metrics.signin_failed(reason)
        log.warning("console_signin_refused", reason=reason, user=name, address=address)
        try:
            await run_in_threadpool(throttle.failed, name, address)
        except StorageError as trouble:
            log.error("console_signin_not_counted", user=name, address=address,
                      error=str(trouble.storage_error))
        return signin_page(request, http_status(error), error=error.text(lang),
                           user_name=name)
    log.info("console_signed_in", user=name, address=address)
    response = RedirectResponse("/console/inbox", 303)
    lasts = expires - ocop(request).clock.now()
    response.set_cookie(SESSION, secret, httponly=True, samesite="strict", path="/",
                        secure=secure_cookies(request),
                        max_age=max(1, int(lasts.total_seconds())))
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    """End the session on the server (its cookie no longer signs anyone in) and forget it.
    Refused (403, the session kept) from another site or without the session's anti-forgery
    value in the form (the one every signed-in page's sign-out form carries)."""
    origin = cross_site(request)
    if origin is not None:
        return refuse_cross_site(request, origin)
    form = await request.form()
    secret = request.cookies.get(SESSION)
    if secret:
        sent = str(form.get("csrf") or "")
        if not hmac.compare_digest(sent.encode(), csrf_for(secret).encode()):
            forged = Forbidden("signout_form_expired")
            return await run_in_threadpool(refuse_forged_form, request, forged)
        await run_in_threadpool(end_session, request, secret)
    response = RedirectResponse("/console/sign-in", 303)
    response.delete_cookie(SESSION, path="/", httponly=True, samesite="strict",
                           secure=secure_cookies(request))
    return response


def end_session(request: Request, secret: str) -> None:
    app = ocop(request)
    with write_transaction(app.db) as conn:
        sessions.end(conn, secret, app.clock.now())


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


def case_context(request: Request, actor: Actor, secret: str, code: str) -> dict[str, Any]:
    app = ocop(request)
    with app.db.connect() as conn:
        check_case_read(actor, queries.case_row(conn, code))
        view = queries.case_view(conn, code, app.settings.public_url)
        allowed = queries.allowed(conn, code, actor, app.clock.now(), settings=app.settings)
        dossier = console_documents.panel(conn, app, actor, view, request_lang(request))
        council_choices = console_councils.choices(conn, view)
    lc = states.lifecycle(view["rule_version"])
    path = [(h["from"], h["to"]) for h in view["history"] if h["from"] and h["from"] != h["to"]]
    lang = request_lang(request)
    # the drawing's rules come from /console/diagram.css: no inline style under the CSP
    svg = diagram.case_svg(lc.version, lang, path, view["state"]).replace(diagram.STYLE, "", 1)
    actions = [a["trigger"] for a in allowed if a["allowed"]
               and a["trigger"] not in forms.SYSTEM_ONLY]
    for entry in view["history"]:
        entry["details"] = views.details(entry["trigger"], entry["data"], lang)
        entry["who"] = views.who(entry["actor"], entry["role"], lang)
        entry["reason"] = views.reason_words(entry["reason"], entry["role"], lang)
    return {"actor": actor, "case": view, "actions": actions, "diagram": svg,
            "why": explain.latest(view["history"], lang),
            "maxima": dict(zip("abc", lc.part_maxima, strict=True)),
            "dossier": dossier, "councils": council_choices, "csrf": csrf_for(secret),
            "form_key": uuid.uuid4().hex, "forms": forms, "criteria": PRESCORE_CRITERIA}


@router.get("/diagram.css")
def diagram_css() -> Response:
    """The case drawing's rules (the ones ``diagram.case_svg`` would inline) as a stylesheet."""
    css = diagram.STYLE.removeprefix("<style>\n").removesuffix("</style>")
    return Response(css, media_type="text/css; charset=utf-8",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/cases/{code}")
def case_page(request: Request, code: str, done: str | None = None) -> Response:
    try:
        actor, secret = signed_in(request)
        context = case_context(request, actor, secret, code)
    except OcopError as error:
        return failed(request, error)
    return render(request, "case.html", done=done if done in forms.TRIGGERS else None,
                  **context)


@router.post("/cases/{code}/events")
async def fire(request: Request, code: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        actor, secret = await run_in_threadpool(signed_in, request)
    except OcopError as error:
        return failed(request, error)
    trigger = form.get("trigger", "")
    try:
        if not hmac.compare_digest(form.get("csrf", "").encode(), csrf_for(secret).encode()):
            raise InvalidInput("form_expired")
        data, reason = forms.event_from(trigger, form)
        version = int(form["version"]) if form.get("version", "").isdigit() else None
        event = Event(code, trigger, actor, data, reason, form.get("form_key") or None, version)
        await run_in_threadpool(ocop(request).engine.apply, event)
    except OcopError as error:
        request.app.state.metrics.refused(trigger, error)
        try:
            context = await run_in_threadpool(case_context, request, actor, secret, code)
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
