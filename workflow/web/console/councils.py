"""The councils pages of the console (``/console/councils``: the list, and a form to make one for
those who may; ``/console/councils/{id}``: its members and the rounds it sat), and the councils
a scoring form on the case page offers (:func:`choices`). Each council made is a
:mod:`workflow.councils` call, so it is in the admin log under the signed-in officer.

The case page (:mod:`workflow.web.console.routes`) loads this module for :func:`choices`, so
the pages take the console's session and form helpers from it when they run, not when this
module is loaded (no import cycle)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool

from workflow import councils
from workflow.clock import local
from workflow.domain.councils import LEVELS
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput, NotFound, OcopError
from workflow.store import councils as store
from workflow.store import units
from workflow.store.db import write_transaction
from workflow.web.api.auth import require_role
from workflow.web.api.councils import READERS
from workflow.web.api.problems import http_status
from workflow.web.console.render import request_lang

router = APIRouter(prefix="/console", include_in_schema=False)
FIELDS = ("level", "unit", "year", "members")


def choices(conn: Connection, view: dict[str, Any], year: int | None = None
            ) -> list[dict[str, Any]]:
    """The councils a scoring form on the case page may name: those of the case's commune,
    district and province, of ``year`` (default: the year of the case's latest entry) and
    later, the newest first."""
    if year is None:
        history = view.get("history") or []
        at = str(history[-1]["at"]) if history else ""
        year = int(at[:4]) if at[:4].isdigit() else None
    commune = units.maybe(conn, view.get("commune_code"))
    keys = [k for k in (view.get("commune_code"), view.get("district_code"),
                        commune.province_key if commune else None) if k]
    return [{"id": c["id"], "level": c["level"], "unit": c["unit_code"], "year": c["year"],
             "members": list(c["members"])}
            for c in store.listing(conn, units=keys, since=year)]


def may_make(actor: Actor) -> bool:
    return actor.role in councils.MAKERS


def page(request: Request, actor: Actor, secret: str, status: int = 200,
         **context: Any) -> Response:
    from workflow.web.console import routes as web
    app = web.ocop(request)
    with app.db.connect() as conn:
        rows = councils.list(conn)
    form = context.pop("form", None) or {
        "unit": actor.unit or "", "year": str(local(app.clock.now()).year),
        "level": {"district_officer": "district", "city_officer": "city"}.get(actor.role,
                                                                              "commune")}
    return web.render(request, "councils.html", status, actor=actor, rows=rows, levels=LEVELS,
                      may_make=may_make(actor), csrf=web.csrf_for(secret), form=form,
                      **context)


@router.get("/councils")
def councils_page(request: Request) -> Response:
    """Every council, the newest year first, and the form to make one."""
    from workflow.web.console import routes as web
    try:
        actor, secret = web.signed_in(request)
        require_role(actor, READERS, "do_read_councils")
        return page(request, actor, secret)
    except OcopError as error:
        return web.failed(request, error)


@router.post("/councils")
async def make(request: Request) -> Response:
    """The form's council: same-site, signed in, the form's CSRF value, within reach."""
    from workflow.web.console import routes as web
    origin = web.cross_site(request)
    if origin is not None:
        return web.refuse_cross_site(request, origin)
    form = {k: str(v) for k, v in (await request.form()).items() if k in (*FIELDS, "csrf")}
    try:
        actor, secret = await run_in_threadpool(web.signed_in, request)
    except OcopError as error:
        return web.failed(request, error)
    try:
        if not hmac.compare_digest(form.get("csrf", "").encode(),
                                   web.csrf_for(secret).encode()):
            raise InvalidInput("form_expired")
        made = await run_in_threadpool(_make, request, actor, form)
    except OcopError as error:
        try:
            return await run_in_threadpool(page, request, actor, secret, http_status(error),
                                           error=error.text(request_lang(request)), form=form)
        except OcopError as other:
            return web.failed(request, other, actor)
    return RedirectResponse(f"/console/councils/{made['id']}?done=1", 303)


def _make(request: Request, actor: Actor, form: dict[str, str]) -> dict[str, Any]:
    raw_year = form.get("year", "").strip()
    if not raw_year.isdigit() or len(raw_year) > 4:
        raise InvalidInput("council_year_not_whole", got=raw_year)
    from workflow.web.console import routes as web
    members = form.get("members", "").splitlines()
    app = web.ocop(request)
    with write_transaction(app.db) as conn:
        return councils.add(conn, app.clock.now(), actor, form.get("level", ""),
                            form.get("unit", ""), int(raw_year), members,
                            settings=app.settings)


@router.get("/councils/{council_id}")
def council_page(request: Request, council_id: str, done: str | None = None) -> Response:
    """One council: level, unit, year, members, who made it, and its rounds."""
    from workflow.web.console import routes as web
    try:
        actor, _ = web.signed_in(request)
        require_role(actor, READERS, "do_read_councils")
        if not council_id.isdigit() or len(council_id) > 9:
            raise NotFound("council_unknown", got=council_id)
        with web.ocop(request).db.connect() as conn:
            shown = councils.show(conn, int(council_id))
    except OcopError as error:
        return web.failed(request, error)
    return web.render(request, "council.html", actor=actor, council=shown, done=done == "1")
