"""Errors as ``application/problem+json`` (RFC 9457), in one place.

Every error gets its HTTP status from the one table, ``workflow.errors.STATUS`` (the two
conditions only HTTP knows, ``BodyTooLarge`` and ``Malformed``, are rows of it too).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from workflow.errors import (
    BodyTooLarge,
    Malformed,
    OcopError,
    Unauthenticated,
    status_of,
)

__all__ = ["BodyTooLarge", "Malformed", "from_error", "http_status", "problem"]

PROBLEM = "application/problem+json"


TITLES = {
    400: "Bad request", 401: "Not signed in", 403: "Not allowed", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 412: "Precondition failed",
    413: "Body too large", 415: "Unsupported media type", 422: "Unprocessable request",
    500: "Internal error", 503: "Unavailable",
}


def http_status(error: OcopError) -> int:
    return status_of(error)[1]


def problem(status: int, detail: str, kind: str, instance: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:ocop:problem:{kind}", "title": TITLES.get(status, "Error"),
            "status": status, "detail": detail, "kind": kind, **extra}
    if instance:
        body["instance"] = instance
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def from_error(error: OcopError, instance: str | None = None) -> JSONResponse:
    status = http_status(error)
    headers = {"WWW-Authenticate": 'Bearer realm="ocop"'} if isinstance(
        error, Unauthenticated) else None
    return problem(status, error.message, error.kind, instance, headers, **error.details)


async def _ocop_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, OcopError)
    return from_error(error, request.url.path)


async def _validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""),
               "type": e.get("type", "")} for e in error.errors()]
    if any(e["type"] == "json_invalid" for e in errors):
        return from_error(Malformed("The request body is not valid JSON."), request.url.path)
    first = errors[0] if errors else {"loc": [], "msg": "invalid"}
    where = ".".join(p for p in first["loc"] if p != "body") or "request"
    detail = f"The request is invalid at {where}: {first['msg']}."
    return problem(422, detail, "invalid_input", request.url.path, errors=errors)


async def _http_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else TITLES.get(error.status_code, "")
    kind = {404: "not_found", 405: "method_not_allowed"}.get(error.status_code, "http_error")
    return problem(error.status_code, detail, kind, request.url.path,
                   dict(error.headers) if error.headers else None)


async def _data_error(request: Request, error: Exception) -> JSONResponse:
    """The database refused a value the request carried (a NUL character, a number out of
    range): invalid input, not a server error. Nothing was written (the transaction rolled
    back)."""
    return problem(422, "The request holds a value the database cannot store or compare "
                   "(such as a NUL character or a number out of range).", "invalid_input",
                   request.url.path)


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
