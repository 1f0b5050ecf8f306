"""The administrators' accounts page in the console (``/console/accounts``): every account with
its role, unit, creator, token expiry, last use and state, and forms to disable, enable, issue a
new token (shown once, on the page that answers), re-scope and delete — each a
:mod:`workflow.accounts` call, so each is in the admin log under the signed-in administrator."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from workflow import accounts
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput, OcopError
from workflow.store.db import write_transaction
from workflow.web.api.problems import http_status
from workflow.web.console.render import request_lang
from workflow.web.console.routes import (
    csrf_for,
    failed,
    ocop,
    posted,
    render,
    signed_in,
)

router = APIRouter(prefix="/console/accounts", include_in_schema=False)
DONE = ("disable", "enable", "scope", "delete")


def listing(request: Request, actor: Actor) -> list[dict[str, Any]]:
    app = ocop(request)
    with app.db.connect() as conn:
        return accounts.list_users(conn, app.clock.now(), actor)


def page(request: Request, actor: Actor, secret: str, status: int = 200,
         **context: Any) -> Response:
    return render(request, "accounts.html", status, actor=actor, rows=listing(request, actor),
                  csrf=csrf_for(secret), **context)


@router.get("")
def accounts_page(request: Request, done: str | None = None,
                  user: str | None = None) -> Response:
    """The list, with what the last change did (``done``: disable, enable, scope, delete)."""
    try:
        actor, secret = signed_in(request)
        accounts.require_admin(actor)
        return page(request, actor, secret, done=done if done in DONE else None,
                    done_user=(user or "")[:120])
    except OcopError as error:
        return failed(request, error)


def _rescope(conn: Connection, now: datetime, actor: Actor, name: str,
             unit: str) -> dict[str, Any]:
    """The one unit field, given as the level the officer's role has."""
    role = accounts.show_user(conn, now, actor, name)["role"]
    district = unit if role == "district_officer" else None
    return accounts.set_scope(conn, now, actor, name, district,
                              None if district is not None else unit)


CHANGES: dict[str, Callable[..., Any]] = {
    "disable": accounts.disable, "enable": accounts.enable, "delete": accounts.delete_user,
    "scope": _rescope,
}


async def act(request: Request, name: str, action: str) -> Response:
    """One change from a form: same-site, signed in, the form's CSRF value, an administrator."""
    got = await posted(request)
    if isinstance(got, Response):
        return got
    form, actor, secret = got.form, got.actor, got.secret
    try:
        if not got.fresh():
            raise InvalidInput("accounts_form_expired")
        issued = await run_in_threadpool(_apply, request, actor, name, action, form)
    except OcopError as error:
        try:
            return await run_in_threadpool(page, request, actor, secret, http_status(error),
                                           error=error.text(request_lang(request)))
        except OcopError as other:
            return failed(request, other, actor)
    if issued is not None:  # the new token: on this page only, never in an address
        response = await run_in_threadpool(page, request, actor, secret, issued=issued)
        response.headers["Cache-Control"] = "no-store"
        return response
    query = urlencode({"done": action, "user": name})
    return RedirectResponse(f"/console/accounts?{query}", 303)


def _apply(request: Request, actor: Actor, name: str, action: str,
           form: dict[str, str]) -> accounts.Issued | None:
    app = ocop(request)
    with write_transaction(app.db) as conn:
        now = app.clock.now()
        if action == "rotate":
            return accounts.rotate_token(conn, now, actor, name,
                                         token_days=app.settings.token_days)
        if action == "delete" and form.get("confirm") != "yes":
            accounts.require_admin(actor)
            raise InvalidInput("delete_needs_yes", user=name)
        args = (form.get("unit", ""),) if action == "scope" else ()
        CHANGES[action](conn, now, actor, name, *args)
    return None


@router.post("/{name}/{action}")
async def change(request: Request, name: str,
                 action: Literal["disable", "enable", "rotate", "scope", "delete"]) -> Response:
    """A form's change to the account ``name``."""
    return await act(request, name, action)
