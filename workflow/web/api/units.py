"""Administrative units over HTTP: find a unit by code or name (``/api/v1/units``), and one
unit with what it became in 2025 or took in (``/api/v1/units/{key}``). Any signed-in user."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from workflow.domain.units import LEVELS
from workflow.store import units
from workflow.web.api.auth import AppDep, CurrentActor
from workflow.web.api.models import Unit, UnitDetail
from workflow.web.api.problems import documented

router = APIRouter(prefix="/api/v1/units", tags=["units"])
Level = Literal["province", "district", "commune"]


@router.get("", response_model=list[Unit], responses=documented(401, 422))
def find(app: AppDep, actor: CurrentActor,
         q: Annotated[str, Query(min_length=1, max_length=200,
                                 description="a code (10126, old:10120) or a name, "
                                             "optionally with its district or province after "
                                             "a comma (“Vạn Phúc, Hà Đông”)")],
         level: Level | None = None) -> list[dict[str, Any]]:
    """Every unit, in both eras, that a code or name can mean (CLI: ``ocop units find``); an
    empty list when none does."""
    with app.db.connect() as conn:
        return [u.as_dict() for u in units.find(conn, q, (level,) if level else LEVELS)]


@router.get("/{key}", response_model=UnitDetail, responses=documented(401, 404, 422))
def show(app: AppDep, actor: CurrentActor,
         key: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
    """One unit by its key (or a code or name that means only it): its level, parent, validity,
    successors or predecessors (CLI: ``ocop units show``)."""
    with app.db.connect() as conn:
        return units.described(conn, units.named(conn, key, LEVELS, "unit"))
