"""The programme's figures over HTTP (``/api/v1/reports``, ``/api/v1/targets``; the CLI's
``ocop report`` and ``ocop targets``). Staff read the reports within their reach, each as JSON
(the default), CSV, an Excel workbook or a PNG/SVG chart (``format``); city officers and
administrators set the yearly targets, each change in the admin log. The filters are the
register's (:func:`workflow.register.parse`): a bad ``by``, filter or ``format`` is a 422
problem document naming what is allowed."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from workflow import reports
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.errors import NotFound
from workflow.store import reports as store
from workflow.store.db import write_transaction
from workflow.web.api.auth import AppDep, CurrentActor, require_role
from workflow.web.api.councils import READERS
from workflow.web.api.models import Strict
from workflow.web.api.problems import documented, lang_of
from workflow.web.api.register import Asked, AskedDep, checked

router = APIRouter(prefix="/api/v1", tags=["reports"])
Format = Literal["json", "csv", "xlsx", "png", "svg"]
FormatQ = Annotated[Format, Query(alias="format",
                                  description="json (default), csv, xlsx, png or svg")]
Day = Annotated[date | None, Query(description="a day, YYYY-MM-DD (inclusive)")]
Year = Annotated[int, Path(ge=-(2**31), le=2**31 - 1, description="the year")]


class CountRow(BaseModel):
    """One group: the dimensions' values by name (a unit also ``unit_name``), its count and
    share."""

    model_config = ConfigDict(extra="allow")
    count: int
    share: float | None = Field(description="% of the total, one decimal")


class Counts(BaseModel):
    by: list[str]
    total: int
    rows: list[CountRow]


class NewYear(BaseModel):
    year: int
    new: int = Field(description="products whose first certificate was decided that year")
    target: int | None
    gap: int | None = Field(description="target − new")
    percent: float | None = Field(description="% of the target")


class Stage(BaseModel):
    state: str
    count: int
    median: float | None = Field(description="days, nearest rank")
    p90: float | None = Field(description="days, nearest rank")


class Compliance(BaseModel):
    state: str
    kind: str = Field(description="the deadline's kind")
    kept: int
    missed: int
    running: int
    percent: float | None = Field(description="% kept of those decided")


class Expiry(BaseModel):
    quarter: str = Field(description="YYYY-Qn")
    count: int


class Target(BaseModel):
    year: int
    products: int
    set_by: str
    set_at: datetime


class TargetIn(Strict):
    products: int = Field(description="new products the year is to certify (1–100,000)")


def _formats(model: str) -> dict[int | str, dict[str, Any]]:
    binary = {"schema": {"type": "string", "format": "binary"}}
    return {**documented(401, 403, 422), 200: {"description": f"{model}; or the file asked for",
                                               "content": {reports.MEDIA[f].split(";")[0]: binary
                                                           for f in ("csv", "xlsx", "png",
                                                                     "svg")}}}


def _answer(request: Request, kind: str, data: Any, fmt: str) -> Any:
    """JSON as the route's model, or the report in ``fmt`` (a file to download)."""
    if fmt == "json":
        return data
    body = reports.render(kind, data, fmt, lang_of(request.headers))
    headers = {} if fmt == "svg" else {
        "Content-Disposition": f'attachment; filename="ocop-report-{kind}.{fmt}"'}
    return Response(body, media_type=reports.MEDIA[fmt], headers=headers)


def _figures(app: Any, actor: Actor, kind: str, ask: reports.Ask) -> Any:
    require_role(actor, READERS, "do_read_reports")
    with app.db.connect() as conn:
        return reports.figures(conn, kind, ask, local(app.clock.now()).date(), actor)


def _filtered(app: Any, actor: Actor, asked: Asked) -> Any:
    require_role(actor, READERS, "do_read_reports")
    return checked(app, actor, asked)


def _in_period(request: Request, app: Any, actor: Actor, kind: str, since: date | None,
               until: date | None, fmt: str) -> Any:
    start, end = reports.period(since, until)
    ask = reports.Ask(since=start, until=end)
    return _answer(request, kind, _figures(app, actor, kind, ask), fmt)


@router.get("/reports/counts", response_model=Counts, responses=_formats("Counts"))
def counts(request: Request, app: AppDep, actor: CurrentActor, asked: AskedDep,
           by: Annotated[str, Query(max_length=200, description=
                                    "stars, group, unit, district, year, level, rules; "
                                    "comma-separated")] = "stars",
           fmt: FormatQ = "json") -> Any:
    """Products (current certificates) by dimensions, each with its share of the total."""
    f = _filtered(app, actor, asked)
    ask = reports.Ask(by=reports.dimensions(by), filters=f)
    return _answer(request, "counts", _figures(app, actor, "counts", ask), fmt)


@router.get("/reports/new-per-year", response_model=list[NewYear],
            responses=_formats("New products per year"))
def new_per_year(request: Request, app: AppDep, actor: CurrentActor, asked: AskedDep,
                 fmt: FormatQ = "json") -> Any:
    """New products per year (a product's first decision) against the year's target."""
    ask = reports.Ask(filters=_filtered(app, actor, asked))
    return _answer(request, "new", _figures(app, actor, "new", ask), fmt)


@router.get("/reports/stages", response_model=list[Stage],
            responses=_formats("Stage durations"))
def stages(request: Request, app: AppDep, actor: CurrentActor, since: Day = None,
           until: Day = None, fmt: FormatQ = "json") -> Any:
    """Days cases stayed in each state (stays ended in the period): count, median, p90."""
    return _in_period(request, app, actor, "stages", since, until, fmt)


@router.get("/reports/compliance", response_model=list[Compliance],
            responses=_formats("Deadline compliance"))
def compliance(request: Request, app: AppDep, actor: CurrentActor, since: Day = None,
               until: Day = None, fmt: FormatQ = "json") -> Any:
    """Stage deadlines (started in the period) kept and missed, and the share kept."""
    return _in_period(request, app, actor, "compliance", since, until, fmt)


@router.get("/reports/expiries", response_model=list[Expiry],
            responses=_formats("Expiries by quarter"))
def expiries(request: Request, app: AppDep, actor: CurrentActor, asked: AskedDep,
             quarters: Annotated[int, Query(ge=1, le=40)] = 8,
             fmt: FormatQ = "json") -> Any:
    """Valid certificates by the quarter they end in, from this quarter on."""
    ask = reports.Ask(filters=_filtered(app, actor, asked), quarters=quarters)
    return _answer(request, "expiries", _figures(app, actor, "expiries", ask), fmt)


@router.get("/targets", response_model=list[Target], responses=documented(401, 403))
def list_targets(app: AppDep, actor: CurrentActor) -> list[dict[str, Any]]:
    """Every year's target of new products, the earliest first."""
    require_role(actor, READERS, "do_read_reports")
    with app.db.connect() as conn:
        return store.targets_list(conn)


@router.get("/targets/{year}", response_model=Target, responses=documented(401, 403, 404, 422))
def get_target(year: Year, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """One year's target."""
    require_role(actor, READERS, "do_read_reports")
    with app.db.connect() as conn:
        found = store.target_of(conn, year)
    if found is None:
        raise NotFound("target_unknown", got=year)
    return found


@router.put("/targets/{year}", response_model=Target,
            responses=documented(400, 401, 403, 413, 422))
def put_target(year: Year, body: TargetIn, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """Set (or change) a year's target (city officers and administrators; admin-logged)."""
    with write_transaction(app.db) as conn:
        return store.targets_set(conn, year, body.products, actor, app.clock.now())
