"""Scoring councils over HTTP (``/api/v1/councils``; the CLI's ``ocop councils``): staff list
and read them; commune, district and city officers and administrators make them within their
reach (:mod:`workflow.councils`), each one in the admin log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from workflow import councils
from workflow.store.db import write_transaction
from workflow.web.api.auth import AppDep, CurrentActor, require_role
from workflow.web.api.models import Strict
from workflow.web.api.problems import documented

router = APIRouter(prefix="/api/v1/councils", tags=["councils"])
# Who reads councils: the staff (their names and rounds are the office's work, not public).
READERS = ("commune_officer", "district_officer", "city_officer", "ip_officer", "supervisor",
           "admin")
Level = Literal["commune", "district", "city"]
CouncilId = Annotated[int, Path(ge=1, le=2**31 - 1, description="the council's id")]


class UnitRef(BaseModel):
    key: str = Field(description="the unit key (10126; old:CODE for a unit that ended on "
                                 "2025-06-30; the province's code for a city council)")
    name: str | None


class Council(BaseModel):
    id: int
    level: Level
    unit: UnitRef
    year: int
    members: list[str]
    created_by: str
    created_at: str


class Round(BaseModel):
    case: str = Field(description="the case scored")
    level: str = Field(description="the score's level (commune, district, city)")
    member: str
    total: float
    entered_by: str | None = Field(description="who entered the sheet")
    recorded_at: str
    seq: int = Field(description="the case's audit entry that recorded the sheet")


class CouncilShown(Council):
    rounds: list[Round] = Field(description="every sheet handed in under the council")


class CouncilIn(Strict):
    level: Level
    unit: str = Field(min_length=1, max_length=120,
                      description="the commune, district or province: a key, a code or a name")
    year: int = Field(ge=1900, le=2200)
    members: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=councils.MAX_MEMBERS, description="the members' names")


@router.get("", response_model=list[Council], responses=documented(401, 403, 404, 422))
def list_councils(app: AppDep, actor: CurrentActor, level: Level | None = None,
                  unit: Annotated[str | None, Query(max_length=120)] = None,
                  year: Annotated[int | None, Query(ge=1900, le=2200)] = None
                  ) -> list[dict[str, Any]]:
    """Councils, the newest year first (CLI: ``ocop councils list``)."""
    require_role(actor, READERS, "do_read_councils")
    with app.db.connect() as conn:
        return councils.list(conn, level, unit, year)


@router.get("/{council_id}", response_model=CouncilShown,
            responses=documented(401, 403, 404, 422))
def show_council(council_id: CouncilId, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """One council with its members and the rounds it sat."""
    require_role(actor, READERS, "do_read_councils")
    with app.db.connect() as conn:
        return councils.show(conn, council_id)


@router.post("", status_code=201, response_model=CouncilShown,
             responses=documented(400, 401, 403, 404, 413, 422))
def add_council(body: CouncilIn, app: AppDep, actor: CurrentActor) -> JSONResponse:
    """Make a council (CLI: ``ocop councils add``); scoring events name it by its id."""
    with write_transaction(app.db) as conn:
        made = councils.add(conn, app.clock.now(), actor, body.level, body.unit, body.year,
                            body.members, settings=app.settings)
    return JSONResponse(made, status_code=201,
                        headers={"Location": f"/api/v1/councils/{made['id']}"})
