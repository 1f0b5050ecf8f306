"""The producer's own side of the console: the invitation page where they set up their account
and password (``/console/invite/{secret}``), their applications with what each asks of them
(``/console/applications``) and the form that opens a new one; and, for the office, the form
that makes an invitation link (``/console/invitations``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

import states
from states.model import NEEDS_COMPLETION
from workflow import invitations, registry
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.errors import Forbidden, InvalidInput, NotFound, OcopError, clause
from workflow.store import queries, sessions
from workflow.store.db import write_transaction
from workflow.web.api.problems import http_status
from workflow.web.console.render import request_lang
from workflow.web.console.routes import (
    SESSION,
    client_address,
    config_of,
    cross_site,
    csrf_for,
    failed,
    maybe_signed_in,
    ocop,
    posted,
    refuse_cross_site,
    render,
    secure_cookies,
    signed_in,
)

router = APIRouter(prefix="/console", include_in_schema=False)
log = structlog.get_logger("ocop.console")
SECRET_MAX = 100  # a link's secret is 43 characters; anything much longer is no link of ours


# --- the invitation page ---------------------------------------------------------------------

def private(response: Response) -> Response:
    """A page whose address is a secret: not cached, and its address never sent to another
    site (``same-origin``: with ``no-referrer`` Chromium posts its form with ``Origin: null``,
    which the same-site check must refuse)."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def link_refused(request: Request, error: OcopError) -> Response:
    """An unknown (404), used or expired (410) link: one sentence, nothing changed."""
    status = 410 if isinstance(error, invitations.InvitationGone) else http_status(error)
    return private(render(request, "error.html", status, error=error.text(request_lang(request)),
                          actor=maybe_signed_in(request)))


def opened(request: Request, secret: str) -> dict[str, Any]:
    if len(secret) > SECRET_MAX:
        raise NotFound("invitation_unknown")
    app = ocop(request)
    with app.db.connect() as conn:
        return invitations.opened(conn, app.clock.now(), secret)


def invite_page(request: Request, invitation: dict[str, Any], status: int = 200,
                **context: Any) -> Response:
    return private(render(request, "invite.html", status, invitation=invitation,
                          until=local(invitation["expires_at"]).isoformat(),
                          minimum=invitations.MIN_PASSWORD, **context))


@router.get("/invite/{secret}")
def invitation_page(request: Request, secret: str) -> Response:
    """The producer's page: whose account it sets up, and the password form."""
    try:
        invitation = opened(request, secret)
    except OcopError as error:
        return link_refused(request, error)
    return invite_page(request, invitation)


def set_up(request: Request, secret: str, password: str,
           repeat: str) -> tuple[str, str, datetime]:
    """Make the account and open its first session, in one transaction: the user's name, the
    session's secret and when it ends."""
    if len(secret) > SECRET_MAX:
        raise NotFound("invitation_unknown")
    app, config = ocop(request), config_of(request)
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        user_id, name = invitations.accept(conn, now, secret, password, repeat)
        session = sessions.create(conn, now, user_id, hours=config.session_hours,
                                  address=client_address(request))
    return name, session, now + timedelta(hours=config.session_hours)


@router.post("/invite/{secret}")
async def accept_invitation(request: Request, secret: str) -> Response:
    """Set the password: refused from another site (403); an unknown, used or expired link
    (404/410) or a password that breaks the rules (422, the form again) changes nothing.
    Done: the producer is signed in and sent to their applications."""
    origin = cross_site(request)
    if origin is not None:
        return refuse_cross_site(request, origin)
    form = await request.form()
    password, repeat = str(form.get("password") or ""), str(form.get("repeat") or "")
    try:
        name, session, expires = await run_in_threadpool(set_up, request, secret, password,
                                                         repeat)
    except InvalidInput as error:
        try:
            invitation = await run_in_threadpool(opened, request, secret)
        except OcopError as other:
            return await run_in_threadpool(link_refused, request, other)
        return await run_in_threadpool(invite_page, request, invitation, http_status(error),
                                       error=error.text(request_lang(request)))
    except OcopError as error:
        return await run_in_threadpool(link_refused, request, error)
    log.info("console_invitation_accepted", user=name, address=client_address(request))
    response = RedirectResponse("/console/applications", 303)
    lasts = expires - ocop(request).clock.now()
    response.set_cookie(SESSION, session, httponly=True, samesite="strict", path="/",
                        secure=secure_cookies(request),
                        max_age=max(1, int(lasts.total_seconds())))
    return private(response)


# --- the producer's applications -------------------------------------------------------------

def require_producer(actor: Actor) -> None:
    if actor.role != "producer":
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_apply_online"),
                        roles=["producer"])


def completion_request(view: dict[str, Any]) -> dict[str, Any] | None:
    """What the office asked when the case is waiting for the producer to complete it: the
    reason of the last ``request_completion`` and the completion deadline."""
    if view["state"] != NEEDS_COMPLETION:
        return None
    asked = [h for h in view["history"] if h["trigger"] == "request_completion"]
    due = [d for d in view["deadlines"] if d["kind"] == "completion"]
    return {"reason": asked[-1]["reason"] if asked else "",
            "due_at": due[0]["due_at"] if due else None,
            "paused": bool(due and due[0]["paused"])}


def my_cases(request: Request, actor: Actor) -> list[dict[str, Any]]:
    """The producer's cases, most urgent first, each with what it asks of them."""
    app = ocop(request)
    with app.db.connect() as conn:
        rows = queries.list_cases(conn, app.clock.now(), actor=actor)
        views = [queries.case_view(conn, row["code"]) for row in rows]
    return [{"code": v["code"], "product": v["product"], "state": v["state"],
             "group": v["group"], "certificate": v["certificate"],
             "completion": completion_request(v)} for v in views]


@router.get("/applications")
def applications(request: Request) -> Response:
    """The signed-in producer's applications; other roles are shown a 403 page."""
    try:
        actor, _ = signed_in(request)
        require_producer(actor)
        rows = my_cases(request, actor)
    except OcopError as error:
        return failed(request, error)
    return render(request, "applications.html", actor=actor, rows=rows)


def current_groups(request: Request) -> tuple[str, ...]:
    """The product groups of the rule version in force today (the one a new case gets)."""
    day = local(ocop(request).clock.now()).date()
    return states.lifecycle(states.rule_version_for(day)).groups


def new_form(request: Request, actor: Actor, secret: str, status: int = 200,
             **context: Any) -> Response:
    return render(request, "application_new.html", status, actor=actor, csrf=csrf_for(secret),
                  groups=current_groups(request), form=context.pop("form", {}), **context)


@router.get("/applications/new")
def new_application_form(request: Request) -> Response:
    try:
        actor, secret = signed_in(request)
        require_producer(actor)
    except OcopError as error:
        return failed(request, error)
    return new_form(request, actor, secret)


def register(request: Request, actor: Actor, form: dict[str, str]) -> str:
    app = ocop(request)
    reg = registry.Registration(actor.producer_id or 0, form.get("product", ""),
                                form.get("group", ""), form.get("subgroup") or None)
    with write_transaction(app.db) as conn:
        return registry.register_case(conn, app.clock.now(), actor, reg,
                                      public_url=app.settings.public_url)


@router.post("/applications/new")
async def new_application(request: Request) -> Response:
    """Open a case in draft for the signed-in producer and go to its page, where the dossier
    is uploaded and submitted. A refusal shows the form again with the sentence."""
    got = await posted(request, require_producer)
    if isinstance(got, Response):
        return got
    form, actor, secret = got.form, got.actor, got.secret
    try:
        if not got.fresh():
            raise InvalidInput("application_form_expired")
        code = await run_in_threadpool(register, request, actor, form)
    except OcopError as error:
        return await run_in_threadpool(new_form, request, actor, secret, http_status(error),
                                       error=error.text(request_lang(request)), form=form)
    return RedirectResponse(f"/console/cases/{code}", 303)


# --- the office's invitation form ------------------------------------------------------------

def invitations_form(request: Request, actor: Actor, secret: str, status: int = 200,
                     **context: Any) -> Response:
    return private(render(request, "invite.html", status, actor=actor, csrf=csrf_for(secret),
                          staff=True, form=context.pop("form", {}),
                          default_days=ocop(request).settings.invitation_days, **context))


def require_inviter(actor: Actor) -> None:
    if actor.role not in invitations.INVITERS:
        raise Forbidden("role_may_not_do", role=actor.role,
                        action=clause("do_invite_producers"), roles=list(invitations.INVITERS))


@router.get("/invitations")
def invitations_page(request: Request) -> Response:
    """The form: the producer (id or name), the account name, how many days."""
    try:
        actor, secret = signed_in(request)
        require_inviter(actor)
    except OcopError as error:
        return failed(request, error)
    return invitations_form(request, actor, secret)


def make_invitation(request: Request, actor: Actor,
                    form: dict[str, str]) -> invitations.Invitation:
    app = ocop(request)
    days_text = form.get("days", "").strip()
    if days_text and not days_text.isdigit():
        raise InvalidInput("invitation_days_invalid", got=days_text,
                           maximum=invitations.MAX_DAYS)
    with write_transaction(app.db) as conn:
        return invitations.invite(conn, app.clock.now(), actor, form.get("producer", ""),
                                  form.get("account", ""),
                                  int(days_text) if days_text else None,
                                  public_url=app.settings.public_url,
                                  default_days=app.settings.invitation_days)


@router.post("/invitations")
async def create_invitation(request: Request) -> Response:
    """Make the link and show it once, on the page that answers (never in an address)."""
    got = await posted(request, require_inviter)
    if isinstance(got, Response):
        return got
    form, actor, secret = got.form, got.actor, got.secret
    try:
        if not got.fresh():
            raise InvalidInput("invitation_form_expired")
        made = await run_in_threadpool(make_invitation, request, actor, form)
    except OcopError as error:
        return await run_in_threadpool(invitations_form, request, actor, secret,
                                       http_status(error),
                                       error=error.text(request_lang(request)), form=form)
    return await run_in_threadpool(invitations_form, request, actor, secret, made=made,
                                   expires=local(made.expires_at).isoformat())
