"""``/api/v1/cases``: register, list, show, advance, history and what the caller may do."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from workflow import registry
from workflow.bootstrap import App
from workflow.domain.facts import Actor, Event
from workflow.engine import Applied
from workflow.errors import NotFound, OcopError, Refused
from workflow.store import queries, units
from workflow.store.db import one_read, write_transaction
from workflow.web.api.auth import AppDep, CurrentActor, check_read, read_problem
from workflow.web.api.models import (
    AllowedTrigger,
    Case,
    CaseIn,
    EventApplied,
    EventIn,
    HistoryEntry,
    Page,
    Registered,
)
from workflow.web.api.problems import Malformed, documented, lang_of

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')
RECENT = 20  # audit entries in the answer to an event; GET the case for all of them
MINIMAL = {"Preference-Applied": "return=minimal"}
PreferHeader = Annotated[str | None, Header(max_length=200, description=(
    "RFC 7240 preferences. `return=minimal`: answer with a short summary instead of the case "
    "(and `Preference-Applied: return=minimal`); without it, the full representation."))]


def check_case_read(actor: Actor, row: dict[str, Any]) -> None:
    """Refuse a caller who may not read the case: 403 for staff out of scope; a producer
    gets the very 404 of a case that does not exist, so case codes cannot be probed."""
    if actor.role == "producer" and read_problem(actor, row):
        raise NotFound("case_not_found", got=row["code"])
    check_read(actor, row)


def scoped_case(app: App, actor: Actor, code: str) -> dict[str, Any]:
    """The case's row, once the caller is known to be allowed to see it (403/404 otherwise)."""
    with app.db.connect() as conn:
        row = queries.case_row(conn, code)
    check_case_read(actor, row)
    return row


def with_etag(view: dict[str, Any], status: int = 200,
              headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(view, status_code=status,
                        headers={"ETag": f'"{view["version"]}"', **(headers or {})})


@router.post("", status_code=201, response_model=Case | Registered,
             responses=documented(400, 401, 403, 404, 413, 422))
def register_case(body: CaseIn, app: AppDep, actor: CurrentActor,
                  prefer: PreferHeader = None) -> JSONResponse:
    """Open a case in ``draft`` for a producer (CLI: ``ocop cases register``). With
    ``Prefer: return=minimal`` the answer is only its code, state and version."""
    minimal = wants_minimal(prefer)
    with write_transaction(app.db) as conn:
        code = registry.register_case(conn, app.clock.now(), actor, registry.Registration(
            body.producer, body.product, body.group, body.subgroup, body.rules),
            public_url=app.settings.public_url)
        view = (queries.case_head(conn, code) if minimal
                else queries.case_view(conn, code, app.settings.public_url))
    return with_etag(view, 201, {"Location": f"/api/v1/cases/{code}",
                                 **(MINIMAL if minimal else {})})


@router.get("", response_model=Page, responses=documented(401, 404, 422))
def list_cases(request: Request, app: AppDep, actor: CurrentActor,
               state: Annotated[str | None, Query(max_length=32)] = None,
               unit: Annotated[str | None, Query(
                   max_length=120, description="a commune's or (before 2025-07-01) a "
                   "district's code or name: only its cases")] = None,
               district: Annotated[str | None, Query(
                   max_length=120, description="the same as unit (its older name)")] = None,
               overdue: bool = False,
               limit: Annotated[int, Query(ge=1, le=500)] = 50,
               offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> dict[str, Any]:
    """The cases the caller may see, soonest deadline first (overdue ones are marked); a page
    of ``limit`` from ``offset``, with the ``total`` and the ``next_offset``. An ambiguous unit
    name is refused (422) with the candidates and their codes."""
    with app.db.connect() as conn:
        key = units.filter_key(conn, unit, district)
        return queries.page_cases(conn, app.clock.now(), state, key, overdue, actor,
                                  limit, offset)


@router.get("/{code}", response_model=Case, responses=documented(401, 403, 404))
def show_case(code: str, app: AppDep, actor: CurrentActor) -> JSONResponse:
    """The case in the CLI's ``--json`` shape; its ``ETag`` is the case version."""
    scoped_case(app, actor, code)
    with app.db.connect() as conn:
        return with_etag(queries.case_view(conn, code, app.settings.public_url))


@router.post("/{code}/events", response_model=Case | EventApplied,
             responses=documented(400, 401, 403, 404, 409, 412, 413, 422))
def advance(code: str, body: EventIn, request: Request, app: AppDep, actor: CurrentActor,
            idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
            if_match: Annotated[str | None, Header(max_length=40)] = None,
            prefer: PreferHeader = None) -> Response:
    """Apply a trigger (CLI: ``ocop cases advance``). ``Idempotency-Key`` replays the first
    result; ``If-Match`` refuses with 412 unless the case is at that version. The answer is
    the case with its newest 20 audit entries and ``history_total`` (GET it for the whole
    history); with ``Prefer: return=minimal``, only what the transition did."""
    event = Event(code, body.trigger, actor, body.data, body.reason, idempotency_key or None,
                  expected_version(if_match))
    try:
        applied = app.engine.apply(event)
    except OcopError as error:
        raise refusal(request, app, actor, event, error) from None
    replayed = {"Idempotent-Replayed": "true"} if applied.replayed else {}
    if wants_minimal(prefer):
        return with_etag(summary(applied), headers={**MINIMAL, **replayed})
    if applied.response:
        return with_etag(recent(applied.response), headers=replayed)
    with one_read(app.db) as conn:  # four reads, no transaction to open and roll back
        return with_etag(queries.case_view(conn, code, app.settings.public_url, last=RECENT))


def wants_minimal(prefer: str | None) -> bool:
    """Whether the ``Prefer`` header (RFC 7240) asks for ``return=minimal``; any other or
    unreadable preference is ignored, as the RFC says, and the full representation given."""
    for item in (prefer or "").split(","):
        token = item.split(";", 1)[0].replace(" ", "").replace('"', "").lower()
        if token == "return=minimal":
            return True
    return False


def summary(applied: Applied) -> dict[str, Any]:
    """What a transition did, the ``return=minimal`` answer (``EventApplied``)."""
    return {"code": applied.code, "trigger": applied.trigger, "from": applied.from_state,
            "to": applied.to_state, "version": applied.version, "seq": applied.seq,
            "message_ids": list(applied.message_ids), "replayed": applied.replayed}


def recent(view: dict[str, Any]) -> dict[str, Any]:
    """A whole case view cut to the answer to an event: its newest :data:`RECENT` entries and
    ``history_total``, as :func:`queries.case_view` gives them with ``last``."""
    trail = view["history"]
    return {**view, "history": trail[-RECENT:], "history_total": len(trail)}


def refusal(request: Request, app: App, actor: Actor, event: Event,
            error: OcopError) -> OcopError:
    """The error to answer with. An applied event proves the caller's scope (the engine checks
    it), so scope is checked here, on the refusal path only: a caller who may not see the case
    learns nothing about its state from the refusal."""
    request.app.state.metrics.refused(event.trigger, error)
    if not isinstance(error, NotFound):
        scoped_case(app, actor, event.case_code)
    if isinstance(error, Refused):
        error.details["allowed"] = allowed_now(app, event.case_code, actor)
    return error


def expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    found = ETAG.match(if_match.strip())
    if not found:
        raise Malformed("if_match_invalid", got=if_match)
    return int(found.group(1))


def allowed_now(app: App, code: str, actor: Actor) -> list[str]:
    try:
        with app.db.connect() as conn:
            rows = queries.allowed(conn, code, actor, app.clock.now(), settings=app.settings)
    except OcopError:
        return []
    return [r["trigger"] for r in rows if r["allowed"]]


@router.get("/{code}/history", response_model=list[HistoryEntry],
            responses=documented(401, 403, 404))
def history(code: str, app: AppDep, actor: CurrentActor) -> list[dict[str, Any]]:
    """Every audit entry of the case, oldest first."""
    row = scoped_case(app, actor, code)
    with app.db.connect() as conn:
        return queries.history(conn, row["id"])


@router.get("/{code}/allowed", response_model=list[AllowedTrigger],
            responses=documented(401, 403, 404))
def allowed(code: str, request: Request, app: AppDep,
            actor: CurrentActor) -> list[dict[str, Any]]:
    """Every trigger of the case's rule version: may the caller fire it now, and if not, why
    (``why`` in the ``Accept-Language`` language, ``why_code`` and ``why_params`` stable)."""
    scoped_case(app, actor, code)
    with app.db.connect() as conn:
        return queries.allowed(conn, code, actor, app.clock.now(), lang_of(request.headers),
                               app.settings)
