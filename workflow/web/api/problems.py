"""Errors as ``application/problem+json`` (RFC 9457), in one place.

Every error gets its HTTP status from the one table, ``workflow.errors.STATUS`` (the two
conditions only HTTP knows, ``BodyTooLarge`` and ``Malformed``, are rows of it too). The
document carries the error's stable ``code`` and ``params``; its ``title`` and ``detail`` are in
the language ``Accept-Language`` asks for — English unless it asks for Vietnamese (an API's
callers are programs and their developers; the console and the CLI speak Vietnamese first).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflow import i18n
from workflow.errors import (
    BodyTooLarge,
    InvalidInput,
    Malformed,
    OcopError,
    Unauthenticated,
    status_of,
)
from workflow.web.api.validation import from_pydantic

__all__ = ["BodyTooLarge", "Malformed", "from_error", "http_status", "problem"]

PROBLEM = "application/problem+json"
API_DEFAULT_LANG = "en"
# the framework's own HTTP errors: status -> (our code, kind)
HTTP_CODES = {404: ("route_not_found", "not_found"), 405: ("method_not_allowed",
                                                            "method_not_allowed")}
HTTP_OTHER = ("http_error", "http_error")

TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 412: "Precondition failed",
    413: "Body too large", 415: "Unsupported media type", 422: "Unprocessable request",
    500: "Internal error", 503: "Unavailable",
}


def http_status(error: OcopError) -> int:
    return status_of(error)[1]


def lang_of(headers: Any) -> str:
    """The problem document's language: the best of ours ``Accept-Language`` names, else
    English. ``headers`` is a request's headers (or anything with ``get``)."""
    return i18n.from_accept(headers.get("accept-language")) or API_DEFAULT_LANG


def title(status: int, lang: str = API_DEFAULT_LANG) -> str:
    code = f"title_{status}" if status in TITLES else "title_error"
    return i18n.label("error", code, lang)


def problem(status: int, detail: str, kind: str, instance: str | None = None,
            headers: dict[str, str] | None = None, lang: str = API_DEFAULT_LANG,
            **extra: Any) -> JSONResponse:
    body = {"type": f"urn:ocop:problem:{kind}", "title": title(status, lang),
            "status": status, "detail": detail, "kind": kind, **extra}
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def from_error(error: OcopError, instance: str | None = None,
               lang: str = API_DEFAULT_LANG) -> JSONResponse:
    status = http_status(error)
    headers = {"WWW-Authenticate": 'Bearer realm="ocop"'} if isinstance(
        error, Unauthenticated) else None
    return problem(status, error.text(lang), error.kind, instance, headers, lang,
                   code=error.code, params=error.params, **error.details)


async def _ocop_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OcopError)
    return from_error(error, request.url.path, lang_of(request.headers))


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""),
               "type": e.get("type", "")} for e in error.errors()]
    found = from_pydantic(list(error.errors()))
    found.details["errors"] = errors
    return from_error(found, request.url.path, lang_of(request.headers))


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    status, path = error.status_code, request.url.path
    code, kind = HTTP_CODES.get(status, HTTP_OTHER)
    found = OcopError(code, path=path, method=request.method, http_status=status)
    lang = lang_of(request.headers)
    return problem(status, found.text(lang), kind, path,
                   dict(error.headers) if error.headers else None, lang,
                   code=code, params=found.params)


async def _data_error(request: Request, error: Exception) -> JSONResponse:
    """The database refused a value the request carried (a NUL character, a number out of
    range): invalid input, not a server error. Nothing was written (the transaction rolled
    back)."""
    return from_error(InvalidInput("value_not_storable"), request.url.path,
                      lang_of(request.headers))


def install(app: FastAPI) -> None:
    app.add_exception_handler(OcopError, _ocop_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries saying these statuses answer with a problem document."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {status: {"description": TITLES.get(status, "Error"),
                     "content": {PROBLEM: {"schema": schema}}} for status in statuses}
