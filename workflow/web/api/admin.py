"""``/api/v1/producers``, ``/api/v1/audit`` and ``/api/v1/lifecycle``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, PlainTextResponse, Response

import states
from workflow import diagram, registry
from workflow.clock import aware, local
from workflow.domain.permissions import ended_reason
from workflow.errors import Forbidden, InvalidInput, clause
from workflow.store import audit, queries
from workflow.store.db import write_transaction
from workflow.web import audit_export
from workflow.web.api.auth import (
    AUDITORS,
    PRODUCER_ADMINS,
    AppDep,
    CurrentActor,
    check_producer_scope,
    require_role,
)
from workflow.web.api.models import AuditPage, Producer, ProducerIn, Verification
from workflow.web.api.problems import documented

router = APIRouter(prefix="/api/v1")
AUDIT_FIELDS = audit_export.FIELDS


def producer_json(p: dict[str, Any]) -> dict[str, Any]:
    return {"id": p["id"], "name": p["name"], "kind": p["kind"], "district": p["district"],
            "commune": p["commune"], "district_code": p["district_code"],
            "commune_code": p["commune_code"], "email": p["email"],
            "webhook": p["webhook_url"], "lang": p["lang"]}


@router.post("/producers", status_code=201, response_model=Producer, tags=["producers"],
             responses=documented(400, 401, 403, 413, 422))
def add_producer(body: ProducerIn, app: AppDep, actor: CurrentActor) -> JSONResponse:
    """Register a producer (CLI: ``ocop producers add``). The commune is a code or a name (an
    ambiguous name is refused with the candidates); officers add producers of their own
    commune (or, before 2025-07-01, district), compared by code; the city office and
    administrators add any. An officer whose unit has ended adds none."""
    require_role(actor, PRODUCER_ADMINS, "do_add_producers")
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        where = registry.place(conn, now, body.district, body.commune)
        ended = ended_reason(actor, local(now).date())
        if ended:
            raise Forbidden("producer_out_of_scope", actor=actor.name,
                            action=clause("do_add_producer"), producer=body.name, why=ended)
        check_producer_scope(actor, {"id": None, "name": body.name, **where},
                             "do_add_producer")
        pid = registry.add_producer(conn, now, body.name, body.kind, body.district,
                                    body.commune, body.email, body.webhook, body.lang,
                                    allow_private=app.settings.webhook_allow_private)
        producer = registry.get_producer(conn, pid)
    return JSONResponse(producer_json(producer), status_code=201,
                        headers={"Location": f"/api/v1/producers/{pid}"})


@router.get("/producers/{producer_id}", response_model=Producer, tags=["producers"],
            responses=documented(401, 403, 404, 422))
def get_producer(producer_id: Annotated[int, Path(ge=1, le=2**31 - 1)], app: AppDep,
                 actor: CurrentActor) -> dict[str, Any]:
    """One producer; a producer sees only themself, an officer only their own area."""
    with app.db.connect() as conn:
        producer = registry.get_producer(conn, producer_id)
    check_producer_scope(actor, producer, "do_see_producer")
    return producer_json(producer)


@router.get("/audit", response_model=AuditPage, tags=["audit"],
            responses={**documented(401, 403, 422),
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "The entries, as JSON or (format=csv) CSV"}})
def audit_trail(app: AppDep, actor: CurrentActor,
                case: Annotated[str | None, Query(max_length=32)] = None,
                by: Annotated[str | None, Query(alias="actor", max_length=120)] = None,
                trigger: Annotated[str | None, Query(max_length=40)] = None,
                since: datetime | None = None, until: datetime | None = None,
                format: Literal["json", "csv"] = "json",
                limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
                offset: Annotated[int, Query(ge=0, le=10**9)] = 0) -> Any:
    """The audit trail, filtered by case, actor, trigger and time (``since <= at < until``)."""
    require_role(actor, AUDITORS, "do_read_audit")
    with app.db.connect() as conn:
        rows = queries.audit_filtered(conn, case, by, trigger, since and aware(since),
                                      until and aware(until), limit + 1, offset)
    more = len(rows) > limit
    rows = rows[:limit]
    if format == "csv":
        return Response(audit_csv(rows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
    return {"items": rows, "limit": limit, "offset": offset,
            "next_offset": offset + limit if more else None}


def audit_csv(rows: list[dict[str, Any]], lang: str | None = None) -> str:
    """UTF-8 CSV with a BOM, one column per field; English headers and codes unless ``lang``."""
    return audit_export.csv_text(rows, lang)


@router.get("/audit/verify", response_model=Verification, tags=["audit"],
            responses=documented(401, 403, 422))
def verify(app: AppDep, actor: CurrentActor,
           case: Annotated[str | None, Query(max_length=32)] = None) -> dict[str, Any]:
    """Walk the hash chains; ``first_break`` names the first edited, inserted or deleted entry."""
    require_role(actor, AUDITORS, "do_verify_audit")
    with app.db.connect() as conn:
        result = audit.verify(conn, case)
    brk = result.first_break
    return {"ok": result.ok, "cases": result.cases, "entries": result.entries,
            "first_break": None if brk is None else
            {"case": brk.case_code, "seq": brk.seq, "problem": brk.problem,
             "sentence": brk.sentence()}}


@router.get("/lifecycle", tags=["lifecycle"], responses={
    **documented(401, 422),
    200: {"description": "The lifecycle table (JSON) or its state diagram (Mermaid)",
          "content": {"application/json": {"schema": {"type": "object"}},
                      "text/plain": {"schema": {"type": "string"}}}}})
def lifecycle(actor: CurrentActor, rules: Annotated[str | None, Query(max_length=16)] = None,
              format: Literal["json", "mermaid"] = "json") -> Response:
    """The lifecycle of a rule version (the newest when none is named): its table as JSON, or a
    Mermaid state diagram."""
    if rules is not None and rules not in states.LIFECYCLES:
        raise InvalidInput("unknown_rule_version", got=rules,
                           rules_choices=list(states.LIFECYCLES))
    lc = states.lifecycle(rules or states.newest_version())
    if format == "mermaid":
        return PlainTextResponse(diagram.mermaid(lc))
    return JSONResponse(diagram.as_json(lc))
