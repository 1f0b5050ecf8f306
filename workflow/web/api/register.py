"""The programme register over HTTP (``/api/v1/register``; the CLI's ``ocop register``): a page
of certified products with their current certificate, and the whole filtered register as
``.xlsx`` or ``.csv``. Staff read it within their reach; producers are refused. The filters are
read by :func:`workflow.register.parse`, so a bad value is a 422 problem document naming it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from workflow import register
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.store.register import Filters
from workflow.web.api.auth import AppDep, CurrentActor, require_role
from workflow.web.api.councils import READERS
from workflow.web.api.problems import documented, lang_of

router = APIRouter(prefix="/api/v1/register", tags=["register"])
Many = Annotated[list[str] | None, Query(max_length=20)]
One = Annotated[str | None, Query(max_length=120)]
MEDIA = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
         "csv": "text/csv; charset=utf-8"}


class Group(BaseModel):
    key: str | None
    label: str


class Decision(BaseModel):
    no: str | None
    date: str | None
    body: str | None


class Places(BaseModel):
    commune: str | None = Field(description="the commune as recorded")
    district: str | None = Field(description="the district as recorded (before 2025-07-01)")
    commune_now: str | None = Field(description="the commune that owns it now")


class Item(BaseModel):
    code: str
    product: str
    producer: str
    producer_kind: str | None
    group: Group
    stars: str | None = Field(description="3, 4, 4+ (4★ proposed for 5★) or 5")
    stars_label: str
    number: str
    level: str | None
    rules: str | None
    status: str
    decision: Decision
    issued_on: str | None
    valid_to: str | None
    year: int | None
    units: Places
    trademark_no: str | None


class Page(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[Item]


@dataclass(frozen=True)
class Asked:
    """The filters a request asked for, each as typed (checked by :func:`register.parse`)."""

    stars: Many = None
    group: Many = None
    unit: One = None
    level: Many = None
    rules: Many = None
    year: One = None
    trademark: One = None
    expiring: One = None
    status: Many = None

    def raw(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in register.KEYS}


AskedDep = Annotated[Asked, Depends()]


def checked(app: Any, actor: Actor, asked: Asked) -> Filters:
    require_role(actor, READERS, "do_read_register")
    with app.db.connect() as conn:
        return register.parse(conn, asked.raw(), local(app.clock.now()).date())


@router.get("", response_model=Page, responses=documented(401, 403, 422))
def register_page(request: Request, app: AppDep, actor: CurrentActor, asked: AskedDep,
                  limit: int = 50, offset: int = 0) -> dict[str, Any]:
    """Products with their current certificate, the newest decisions first (status valid
    unless ``status`` says otherwise; ``any`` for every status)."""
    f = checked(app, actor, asked)
    with app.db.connect() as conn:
        found = register.page(conn, f, actor, limit, offset, lang=lang_of(request.headers))
    return {**found, "limit": limit, "offset": offset}


def _exported(fmt: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {**documented(401, 403, 422),
            200: {"content": {MEDIA[fmt].split(";")[0]: {"schema": {"type": "string",
                                                                     "format": "binary"}}},
                  "description": description}}


def _download(request: Request, app: Any, actor: Actor, asked: Asked,
              fmt: str) -> StreamingResponse:
    f = checked(app, actor, asked)
    # Closed by _chunks once the response has sent it (a ``with`` here would close it first).
    spool = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115
    with app.db.connect() as conn:
        register.export(conn, f, actor, fmt, spool, lang_of(request.headers))
    spool.seek(0)
    return StreamingResponse(_chunks(spool), media_type=MEDIA[fmt], headers={
        "Content-Disposition": f'attachment; filename="ocop-register.{fmt}"'})


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    with spool:
        while chunk := spool.read(64 << 10):
            yield chunk


@router.get("/export.xlsx", response_class=StreamingResponse,
            responses=_exported("xlsx", "The filtered register as an Excel workbook"))
def export_xlsx(request: Request, app: AppDep, actor: CurrentActor,
                asked: AskedDep) -> StreamingResponse:
    """The whole filtered register as ``.xlsx`` (header row in the request's language)."""
    return _download(request, app, actor, asked, "xlsx")


@router.get("/export.csv", response_class=StreamingResponse,
            responses=_exported("csv", "The filtered register as CSV (UTF-8 with a BOM)"))
def export_csv(request: Request, app: AppDep, actor: CurrentActor,
               asked: AskedDep) -> StreamingResponse:
    """The whole filtered register as ``.csv``, UTF-8 with a BOM as Excel reads it."""
    return _download(request, app, actor, asked, "csv")
