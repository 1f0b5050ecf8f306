"""The HTTP app: the API (``workflow/web/api``), the staff console and the public pages
(``workflow/web/console``), built by ``create_app`` around a bootstrapped ``App``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from workflow import demo
from workflow.bootstrap import App, bootstrap
from workflow.web.api import (
    admin,
    cases,
    certificates_pdf,
    problems,
    public,
    units,
    users,
)
from workflow.web.api import campaigns as api_campaigns
from workflow.web.api import councils as api_councils
from workflow.web.api import documents as api_documents
from workflow.web.api import invitations as api_invitations
from workflow.web.api import register as api_register
from workflow.web.api import reports as api_reports
from workflow.web.api.config import ApiConfig
from workflow.web.api.limits import BodyLimit
from workflow.web.api.metrics import Metrics, Timing
from workflow.web.api.models import Problem
from workflow.web.console import accounts, producer
from workflow.web.console import campaigns as console_campaigns
from workflow.web.console import councils as console_councils
from workflow.web.console import documents as console_documents
from workflow.web.console import register as console_register
from workflow.web.console import reports as console_reports
from workflow.web.console import routes as console
from workflow.web.console.render import STATIC, Pages
from workflow.web.security import SecurityHeaders
from workflow.web.throttle import SignInThrottle

DESCRIPTION = """The OCOP certification workflow over HTTP. Authenticate with
`Authorization: Bearer TOKEN` (the token `ocop users add` printed). Request bodies use the CLI's
option names; errors are `application/problem+json` (RFC 9457)."""


def create_app(app: App | None = None, config: ApiConfig | None = None) -> FastAPI:
    """Wire the HTTP layer around an ``App`` (tests pass their own, with a fixed clock)."""
    app = app or bootstrap()
    config = config or ApiConfig.from_env()
    api = FastAPI(title="OCOP workflow", version="1", description=DESCRIPTION,
                  docs_url="/docs", redoc_url=None, lifespan=_threads(config.threads),
                  redirect_slashes=False)  # its redirect is built from the Host header
    api.state.ocop = app
    api.state.config = config
    api.state.pages = Pages()
    api.state.demo_tokens = demo.tokens_path()  # the sign-in page points to it when it exists
    api.state.metrics = Metrics(app)
    api.state.throttle = SignInThrottle(config)  # console sign-in failures, per account/address
    problems.install(api)
    for router in (cases.router, admin.router, users.router, units.router, public.router,
                   certificates_pdf.router, api_documents.router, api_councils.router,
                   api_invitations.router, api_register.router, api_reports.router,
                   api_campaigns.router, console.router, accounts.router,
                   console_documents.router, console_councils.router, console_register.router,
                   console_reports.router, console_campaigns.router, producer.router):
        api.include_router(router)
    api.mount("/static", StaticFiles(directory=STATIC), name="static")
    api.add_api_route("/", lambda: RedirectResponse("/console", 303), include_in_schema=False)
    api.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    api.add_middleware(Timing, metrics=api.state.metrics)
    api.add_middleware(SecurityHeaders)  # outermost: on every answer, a 413 included
    _document_problem(api)
    return api


def _threads(n: int) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Run the blocking endpoints on ``n`` threads: about as many as the database pool serves
    at once; more only queue on the pool and on the GIL."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = n
        yield

    return lifespan


def _document_problem(api: FastAPI) -> None:
    """Put the ``Problem`` schema into the OpenAPI components the error responses refer to."""
    original = api.openapi

    def openapi() -> dict[str, object]:
        if api.openapi_schema is None:
            schema = original()
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
                Problem.model_json_schema())
            api.openapi_schema = schema
        return api.openapi_schema

    api.openapi = openapi  # type: ignore[method-assign]


__all__ = ["create_app"]
