"""The console's reports page (``/console/reports``): products counted by the dimensions the GET
form chooses (stars by default) under the register's filters, new products per year against the
target, stage durations, deadline compliance and expiries ahead — each table beside its chart
(``/console/reports/chart/<report>.svg``, same sign-in) and its downloads
(``/console/reports/file/<report>.<xlsx|csv|png|svg>``); and, for city officers and
administrators, a form that sets a year's target (admin-logged).

The console's session and page helpers (:mod:`workflow.web.console.routes`) are taken when a
page runs, as the councils pages do, so loading this module makes no import cycle."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

import states
from states.groups import ALL_GROUPS
from workflow import register, reports
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.errors import Forbidden, InvalidInput, OcopError, clause
from workflow.importer import LEVELS
from workflow.store import reports as store
from workflow.store.db import write_transaction
from workflow.store.register import STARS_VALUES, STATUSES, Filters
from workflow.store.reports import DIMENSIONS, TARGET_SETTERS
from workflow.web.api.auth import require_role
from workflow.web.api.councils import READERS
from workflow.web.api.problems import http_status
from workflow.web.console.render import request_lang

router = APIRouter(prefix="/console", include_in_schema=False)
# The charts the page shows beside their tables (the counts chart is named by its ``by``).
CHARTS = ("new", "stages", "compliance", "expiries")
DOWNLOADS = ("xlsx", "csv", "png")


def reader(request: Request) -> tuple[Actor, str]:
    from workflow.web.console import routes as web
    actor, secret = web.signed_in(request)
    require_role(actor, READERS, "do_read_reports")
    return actor, secret


def asked(request: Request) -> dict[str, list[str]]:
    """The register's filters in the query string, each with every value it was given."""
    return {k: request.query_params.getlist(k) for k in register.KEYS}


def filters(request: Request) -> Filters:
    from workflow.web.console import routes as web
    app = web.ocop(request)
    with app.db.connect() as conn:
        return register.parse(conn, asked(request), local(app.clock.now()).date())


def choices(lang: str) -> dict[str, Any]:
    """The filter form's selects."""
    return {"stars": [(s, reports.value_label("stars", {"stars": s}, lang))
                      for s in STARS_VALUES],
            "groups": ALL_GROUPS, "levels": LEVELS, "rules": states.RULE_VERSIONS,
            "statuses": (*STATUSES, register.ANY)}


def ask(request: Request) -> reports.Ask:
    """The report the query string asks for: ``by``, the register's filters, ``quarters``."""
    quarters = request.query_params.get("quarters", "8")
    if not quarters.isdigit() or len(quarters) > 3:
        raise InvalidInput("report_quarters_invalid", got=quarters, most=40)
    return reports.Ask(by=reports.dimensions(request.query_params.get("by")),
                       filters=filters(request), quarters=int(quarters))


def query(request: Request) -> str:
    keep = [(k, v) for k, v in request.query_params.multi_items()
            if k in ("by", "quarters", "lang", *register.KEYS) and v]
    return urlencode(keep)


def all_figures(request: Request, actor: Actor, wanted: reports.Ask) -> dict[str, Any]:
    from workflow.web.console import routes as web
    app = web.ocop(request)
    today = local(app.clock.now()).date()
    with app.db.connect() as conn:
        found = {kind: reports.figures(conn, kind, wanted, today, actor)
                 for kind in reports.KINDS}
        found["targets"] = store.targets_list(conn)
    return found


def page(request: Request, actor: Actor, secret: str, status: int = 200,
         **context: Any) -> Response:
    from workflow.web.console import routes as web
    lang = request_lang(request)
    q = query(request)
    base: dict[str, Any] = {
        "actor": actor, "form": asked(request), **choices(lang),
        "by": request.query_params.get("by") or "stars", "dimensions": list(DIMENSIONS),
        "q": q, "charts": CHARTS, "downloads": DOWNLOADS,
        "may_set": actor.role in TARGET_SETTERS, "csrf": web.csrf_for(secret),
        "this_year": local(web.ocop(request).clock.now()).year}
    try:
        wanted = ask(request)
        found = all_figures(request, actor, wanted)
    except OcopError as error:
        return web.render(request, "reports.html", http_status(error), error=error.text(lang),
                          found=None, **base)
    tables = {kind: reports.sheet(kind, found[kind], lang) for kind in reports.KINDS}
    return web.render(request, "reports.html", status, found=found, tables=tables,
                      chart_id="-".join(wanted.by), **base, **context)


@router.get("/reports")
def reports_page(request: Request, target: str | None = None) -> Response:
    """Every report under the form's choices, with its chart and downloads."""
    from workflow.web.console import routes as web
    try:
        actor, secret = reader(request)
    except OcopError as error:
        return web.failed(request, error)
    return page(request, actor, secret, done=target == "done")


def _file(request: Request, kind: str, fmt: str) -> Response:
    from workflow.web.console import routes as web
    try:
        actor, _ = reader(request)
        if fmt not in ("xlsx", "csv", "png", "svg", "json"):
            raise InvalidInput("report_format_unknown", got=fmt,
                               formats=["xlsx", "csv", "png", "svg", "json"])
        if kind not in reports.KINDS:
            raise InvalidInput("report_unknown", got=kind, reports=list(reports.KINDS))
        app = web.ocop(request)
        with app.db.connect() as conn:
            data = reports.figures(conn, kind, ask(request), local(app.clock.now()).date(),
                                   actor)
        body = reports.render(kind, data, fmt, request_lang(request))
    except OcopError as error:
        return web.failed(request, error)
    headers = {} if fmt == "svg" else {
        "Content-Disposition": f'attachment; filename="ocop-report-{kind}.{fmt}"'}
    return Response(body, media_type=reports.MEDIA[fmt], headers=headers)


@router.get("/reports/chart/{kind}.svg")
def chart(request: Request, kind: str) -> Response:
    """One report's chart as SVG, for the page's ``<img>``."""
    return _file(request, kind, "svg")


@router.get("/reports/file/{kind}.{fmt}")
def download(request: Request, kind: str, fmt: str) -> Response:
    """One report as a file: xlsx, csv, png or svg."""
    return _file(request, kind, fmt)


def _require_setter(actor: Actor) -> None:
    if actor.role not in TARGET_SETTERS:
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_set_target"),
                        roles=list(TARGET_SETTERS))


def _whole(value: str) -> int:
    typed = value.strip()
    if not typed.isdigit() or len(typed) > 9:
        raise InvalidInput("target_not_whole", got=value)
    return int(typed)


def _set(request: Request, actor: Actor, form: dict[str, str]) -> None:
    from workflow.web.console import routes as web
    year, products = _whole(form.get("year", "")), _whole(form.get("products", ""))
    app = web.ocop(request)
    with write_transaction(app.db) as conn:
        store.targets_set(conn, year, products, actor, app.clock.now())


@router.post("/reports/targets")
async def set_target(request: Request) -> Response:
    """The form's target: same-site, signed in, the form's CSRF value, a city officer or an
    administrator."""
    from workflow.web.console import routes as web
    got = await web.posted(request, _require_setter)
    if isinstance(got, Response):
        return got
    try:
        if not got.fresh():
            raise InvalidInput("form_expired")
        await run_in_threadpool(_set, request, got.actor, got.form)
    except OcopError as error:
        return await run_in_threadpool(page, request, got.actor, got.secret,
                                       http_status(error),
                                       target_error=error.text(request_lang(request)))
    lang = request_lang(request)
    return RedirectResponse(f"/console/reports?target=done&lang={lang}", 303)
