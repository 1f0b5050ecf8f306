"""The campaigns pages of the console: ``/console/campaigns`` lists the re-evaluation campaigns
and, for those who may plan one, a form whose "Preview" shows the count and the first cases the
words select (nothing saved) and whose "Save the plan" saves it; ``/console/campaigns/{id}``
shows a campaign's plan, its progress (refreshing itself every 2 s while it runs), its skipped
and failed items with why, and its "Run" and "Cancel" buttons. Every act is a
:mod:`workflow.campaigns` call as the signed-in officer; a run goes on in the background, as the
API's does (:func:`workflow.web.api.campaigns.begin`).

The console's session and page helpers (:mod:`workflow.web.console.routes`) are taken when a
page runs, as the councils pages do, so loading this module makes no import cycle."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from workflow import campaigns
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput, NotFound, OcopError
from workflow.web.api.auth import require_role
from workflow.web.api.campaigns import READERS, WORDS, begin, explained
from workflow.web.api.problems import http_status
from workflow.web.console.render import request_lang

router = APIRouter(prefix="/console", include_in_schema=False)
FIELDS = ("where", "reason", "message", "start_review")
SHOWN = 50  # the cases a preview lists
TIMES = ("planned_at", "started_at", "finished_at", "cancelled_at")


def _read(actor: Actor) -> None:
    require_role(actor, READERS, "do_read_campaigns")


def reader(request: Request) -> tuple[Actor, str]:
    from workflow.web.console import routes as web
    actor, secret = web.signed_in(request)
    _read(actor)
    return actor, secret


def asked(values: Any) -> dict[str, str]:
    """The plan form's fields as typed (a query string's or a posted form's)."""
    return {k: str(values.get(k) or "") for k in FIELDS}


def _wanted(form: dict[str, str]) -> dict[str, Any]:
    return {"where": form["where"], "reason": form["reason"] or "criteria_change",
            "message": form["message"].strip() or None,
            "start_review": form["start_review"] in ("1", "on", "true")}


def _timed(c: dict[str, Any]) -> dict[str, Any]:
    """The campaign's moments as local ISO text, as the page's ``dt`` shows them."""
    return {**c, **{k: local(c[k]).isoformat(timespec="minutes") if c[k] else None
                    for k in TIMES}}


def page(request: Request, actor: Actor, secret: str, status: int = 200,
         **context: Any) -> Response:
    """The list and the plan form (with ``form``, ``found`` or ``error`` as given)."""
    from workflow.web.console import routes as web
    rows = [_timed(c) for c in campaigns.listing(web.ocop(request))]
    form = context.pop("form", None) or asked({})
    return web.render(request, "campaigns.html", status, actor=actor, rows=rows, form=form,
                      reasons=campaigns.REASONS, words=WORDS, shown=SHOWN,
                      may_plan=actor.role in campaigns.ROLES, csrf=web.csrf_for(secret),
                      **context)


def _previewed(request: Request, actor: Actor, secret: str, form: dict[str, str]) -> Response:
    from workflow.web.console import routes as web
    try:
        found = campaigns.preview(web.ocop(request), actor, limit=SHOWN, **_wanted(form))
    except OcopError as error:
        return page(request, actor, secret, http_status(error), form=form,
                    error=error.text(request_lang(request)))
    return page(request, actor, secret, form=form, found=found)


@router.get("/campaigns")
def campaigns_page(request: Request) -> Response:
    """The campaigns, the newest first, and the plan form; with ``where`` in the query, the
    preview of those words."""
    from workflow.web.console import routes as web
    try:
        actor, secret = reader(request)
    except OcopError as error:
        return web.failed(request, error)
    form = asked(request.query_params)
    if form["where"]:
        return _previewed(request, actor, secret, form)
    return page(request, actor, secret)


@router.post("/campaigns")
async def plan(request: Request) -> Response:
    """The plan form: "preview" shows the selection; "save" (the form's CSRF value) saves it
    and opens its page."""
    from workflow.web.console import routes as web
    got = await web.posted(request, _read)
    if isinstance(got, Response):
        return got
    form = asked(got.form)
    if got.form.get("act") != "save":
        return await run_in_threadpool(_previewed, request, got.actor, got.secret, form)
    try:
        if not got.fresh():
            raise InvalidInput("form_expired")
        made = await run_in_threadpool(lambda: campaigns.plan(
            web.ocop(request), got.actor, limit=0, **_wanted(form)))
    except OcopError as error:
        return await run_in_threadpool(page, request, got.actor, got.secret,
                                       http_status(error), form=form,
                                       error=error.text(request_lang(request)))
    return RedirectResponse(f"/console/campaigns/{made['id']}?lang={request_lang(request)}",
                            303)


def _number(campaign_id: str) -> int:
    if not campaign_id.isdigit() or len(campaign_id) > 9:
        raise NotFound("campaign_not_found", got=campaign_id[:40])
    return int(campaign_id)


def campaign_view(request: Request, actor: Actor, secret: str, campaign_id: int,
                  status: int = 200, **context: Any) -> Response:
    from workflow.web.console import routes as web
    shown = explained(campaigns.show(web.ocop(request), campaign_id),
                      request_lang(request))
    return web.render(request, "campaign.html", status, actor=actor, c=_timed(shown),
                      may_act=actor.role in campaigns.ROLES, csrf=web.csrf_for(secret),
                      **context)


@router.get("/campaigns/{campaign_id}")
def campaign_page(request: Request, campaign_id: str) -> Response:
    """One campaign: its plan, status, progress and the items skipped or failed."""
    from workflow.web.console import routes as web
    try:
        actor, secret = reader(request)
        return campaign_view(request, actor, secret, _number(campaign_id))
    except OcopError as error:
        return web.failed(request, error)


async def _act(request: Request, campaign_id: str,
               act: Callable[[Any, int, Actor], Any]) -> Response:
    """A button of the campaign's page: same-site, signed in, the form's CSRF value; then
    back to the page (or the page with the refusal)."""
    from workflow.web.console import routes as web
    got = await web.posted(request, _read)
    if isinstance(got, Response):
        return got
    try:
        number = _number(campaign_id)
        if not got.fresh():
            raise InvalidInput("form_expired")
        await run_in_threadpool(act, web.ocop(request), number, got.actor)
    except OcopError as error:
        try:
            return await run_in_threadpool(campaign_view, request, got.actor, got.secret,
                                           _number(campaign_id), http_status(error),
                                           error=error.text(request_lang(request)))
        except OcopError as other:
            return await run_in_threadpool(web.failed, request, other, got.actor)
    return RedirectResponse(f"/console/campaigns/{number}?lang={request_lang(request)}", 303)


@router.post("/campaigns/{campaign_id}/run")
async def run(request: Request, campaign_id: str) -> Response:
    """Start (or resume) the campaign in the background, then back to its page."""
    return await _act(request, campaign_id, begin)


@router.post("/campaigns/{campaign_id}/cancel")
async def cancel(request: Request, campaign_id: str) -> Response:
    """Cancel the campaign, then back to its page."""
    return await _act(request, campaign_id, campaigns.cancel)
