"""Jinja2 pages in the reader's language. Built by ``create_app``, never at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from workflow.web.console.i18n import pick, translator

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
LANG_COOKIE = "ocop_lang"


def pages_of(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


def request_lang(request: Request, default: str | None = None) -> str:
    """``?lang=`` first, then the language cookie, then ``default``, then Vietnamese."""
    return pick(request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or default)


class Pages:
    def __init__(self) -> None:
        self.env = Environment(loader=FileSystemLoader(TEMPLATES),
                               autoescape=select_autoescape(["html"]), trim_blocks=True,
                               lstrip_blocks=True)

    def html(self, name: str, lang: str, **context: Any) -> str:
        return self.env.get_template(name).render(**translator(lang), **context)

    def page(self, request: Request, name: str, lang: str | None = None, status: int = 200,
             **context: Any) -> HTMLResponse:
        lang = lang or request_lang(request)
        response = HTMLResponse(self.html(name, lang, request=request, **context),
                                status_code=status)
        if request.query_params.get("lang") in ("vi", "en"):
            response.set_cookie(LANG_COOKIE, lang, samesite="lax", max_age=365 * 86400)
        return response
