"""The console's register page (``/console/register``): a GET filter form, a page of 50
products with their current certificate, the total, links to the pages either side, and the
whole filtered register as Excel or CSV (``/console/register/export.xlsx|.csv``) with the same
filters. A bad filter value is shown on the page as its refusal (422), never as a server error.

The console's session and page helpers (:mod:`workflow.web.console.routes`) are taken when a
page runs, as the councils pages do, so loading this module makes no import cycle."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

import states
from states.groups import ALL_GROUPS
from workflow import register
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.errors import OcopError
from workflow.i18n import label
from workflow.importer import LEVELS
from workflow.store.register import STARS_VALUES, STATUSES, Filters
from workflow.web.api.auth import require_role
from workflow.web.api.councils import READERS
from workflow.web.api.problems import http_status
from workflow.web.api.register import MEDIA
from workflow.web.console import views
from workflow.web.console.render import request_lang

router = APIRouter(prefix="/console", include_in_schema=False)
PAGE = 50


def asked(request: Request) -> dict[str, list[str]]:
    """The filters in the query string, each with every value it was given."""
    return {k: request.query_params.getlist(k) for k in register.KEYS}


def reader(request: Request) -> Actor:
    """The signed-in staff user (producers may not read the register)."""
    from workflow.web.console import routes as web
    actor, _ = web.signed_in(request)
    require_role(actor, READERS, "do_read_register")
    return actor


def filters(request: Request) -> Filters:
    """The filters the query string asks for, checked."""
    from workflow.web.console import routes as web
    app = web.ocop(request)
    with app.db.connect() as conn:
        return register.parse(conn, asked(request), local(app.clock.now()).date())


def choices(lang: str) -> dict[str, list[tuple[str, str]]]:
    """Each select of the filter form: its values and their words in ``lang``."""
    return {"stars": [(s, register.stars_words(s, lang)) for s in STARS_VALUES],
            "group": [(g, label("group", g, lang)) for g in ALL_GROUPS],
            "level": [(v, label("level", v, lang)) for v in LEVELS],
            "rules": [(r, label("rules", r, lang)) for r in states.RULE_VERSIONS],
            "trademark": [("yes", label("ui", "yes", lang)), ("no", label("ui", "no", lang))],
            "status": [*((s, label("ui", f"cert_{s}", lang)) for s in STATUSES),
                       (register.ANY, label("ui", "register_any", lang))]}


def query(request: Request, **more: Any) -> str:
    keep = [(k, v) for k, v in request.query_params.multi_items()
            if k in (*register.KEYS, "lang") and v]
    return urlencode([*keep, *more.items()])


@router.get("/register")
def register_page(request: Request) -> Response:
    """The filter form, one page of the register, the total and the export links."""
    from workflow.web.console import routes as web
    lang = request_lang(request)
    number = views.page_number(request.query_params.get("page"))
    try:
        actor = reader(request)
    except OcopError as error:
        return web.failed(request, error)
    context: dict[str, Any] = {"actor": actor, "form": asked(request), "options": choices(lang),
                               "xlsx_url": f"/console/register/export.xlsx?{query(request)}",
                               "csv_url": f"/console/register/export.csv?{query(request)}"}
    try:
        f = filters(request)
        with web.ocop(request).db.connect() as conn:
            found = register.page(conn, f, actor, PAGE, (number - 1) * PAGE, lang=lang)
    except OcopError as error:
        return web.render(request, "register.html", http_status(error),
                          error=error.text(lang), found=None, **context)
    first = (number - 1) * PAGE + 1
    last = first + len(found["items"]) - 1
    links = {"previous": f"?{query(request, page=number - 1)}" if number > 1 else None,
             "next": f"?{query(request, page=number + 1)}" if last < found["total"] else None}
    return web.render(request, "register.html", found=found, first=first, last=last,
                      links=links, **context)


@router.get("/register/export.xlsx")
def register_xlsx(request: Request) -> Response:
    """The whole filtered register as an Excel workbook."""
    return download(request, "xlsx")


@router.get("/register/export.csv")
def register_csv(request: Request) -> Response:
    """The whole filtered register as CSV, UTF-8 with a BOM."""
    return download(request, "csv")


def download(request: Request, fmt: str) -> Response:
    """The filtered register as ``fmt``, the header row in the page's language."""
    from workflow.web.console import routes as web
    try:
        actor = reader(request)
        f = filters(request)
        out = io.BytesIO()
        with web.ocop(request).db.connect() as conn:
            register.export(conn, f, actor, fmt, out, request_lang(request))
    except OcopError as error:
        return web.failed(request, error)
    return Response(out.getvalue(), media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="ocop-register.{fmt}"'})
