"""Accounts over HTTP, for administrators: list, show, add, disable, enable, rotate a token,
re-scope, delete (``/api/v1/users``; the CLI's ``ocop users``). Every change is written with
its admin-log entry naming the administrator who made it (:mod:`workflow.accounts`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from workflow import accounts
from workflow.store.db import write_transaction
from workflow.web.api.auth import AppDep, CurrentActor
from workflow.web.api.models import Strict
from workflow.web.api.problems import documented

router = APIRouter(prefix="/api/v1/users", tags=["users"])
Name = Annotated[str, Path(min_length=1, max_length=120, description="the user's name")]


class UnitRef(BaseModel):
    key: str = Field(description="the unit key scope compares (10126, or old:CODE for a unit "
                                 "that ended on 2025-06-30)")
    code: str | None = Field(description="the statistics office's code")
    name: str | None
    level: str | None = Field(description="commune or district")


class ProducerRef(BaseModel):
    id: int
    name: str | None


class Account(BaseModel):
    name: str
    role: str
    unit: UnitRef | None = Field(description="an officer's unit; none for the other roles")
    producer: ProducerRef | None = Field(description="a producer user's producer")
    created_by: str | None = Field(description="who created the account (cli: the operator)")
    created_at: str
    token_expires_at: str | None
    last_used_at: str | None = Field(description="the current token's last use (to a minute)")
    disabled_at: str | None
    state: Literal["active", "disabled", "expired"]


class AccountIn(Strict):
    name: str = Field(min_length=1, max_length=120)
    role: str = Field(max_length=32, description="producer, commune_officer, district_officer, "
                                                 "ip_officer, city_officer, supervisor or admin")
    commune: str | None = Field(default=None, max_length=120,
                                description="a commune officer's commune or ward (code or name)")
    district: str | None = Field(default=None, max_length=120,
                                 description="a district officer's district (before 2025-07-01)")
    producer: int | None = Field(default=None, ge=1, le=2**31 - 1,
                                 description="a producer user's producer id")


class AccountCreated(Account):
    token: str = Field(description="the API token, shown only in this answer")


class IssuedToken(BaseModel):
    name: str
    token: str = Field(description="the new API token, shown only in this answer")
    token_expires_at: str


class ScopeIn(Strict):
    commune: str | None = Field(default=None, max_length=120,
                                description="a commune officer's new commune or ward")
    district: str | None = Field(default=None, max_length=120,
                                 description="a district officer's new district")


@router.get("", response_model=list[Account], responses=documented(401, 403))
def list_users(app: AppDep, actor: CurrentActor) -> list[dict[str, Any]]:
    """Every account, by name (CLI: ``ocop users list``)."""
    with app.db.connect() as conn:
        return accounts.list_users(conn, app.clock.now(), actor)


@router.get("/{name}", response_model=Account, responses=documented(401, 403, 404, 422))
def show_user(name: Name, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """One account: role, unit, who created it, token expiry and last use, state."""
    with app.db.connect() as conn:
        return accounts.show_user(conn, app.clock.now(), actor, name)


@router.post("", status_code=201, response_model=AccountCreated,
             responses=documented(400, 401, 403, 404, 413, 422))
def add_user(body: AccountIn, app: AppDep, actor: CurrentActor) -> JSONResponse:
    """Create an account; the answer carries its token, shown this once (expiring after
    OCOP_TOKEN_DAYS days)."""
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        issued = accounts.add(conn, now, actor, body.name, body.role, body.district,
                              body.commune, body.producer, token_days=app.settings.token_days)
        view = accounts.show_user(conn, now, actor, issued.name)
    return JSONResponse({**view, "token": issued.token}, status_code=201,
                        headers={"Location": f"/api/v1/users/{quote(issued.name, safe='')}"})


@router.post("/{name}/disable", response_model=Account,
             responses=documented(401, 403, 404, 422))
def disable(name: Name, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """Disable the account: its token and console sessions stop at once. Not one's own."""
    with write_transaction(app.db) as conn:
        return accounts.disable(conn, app.clock.now(), actor, name)


@router.post("/{name}/enable", response_model=Account, responses=documented(401, 403, 404, 422))
def enable(name: Name, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """Enable a disabled account again."""
    with write_transaction(app.db) as conn:
        return accounts.enable(conn, app.clock.now(), actor, name)


@router.post("/{name}/rotate-token", response_model=IssuedToken,
             responses=documented(401, 403, 404, 422))
def rotate_token(name: Name, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """Issue a new token (shown this once); the old one and the account's console sessions
    stop at once."""
    with write_transaction(app.db) as conn:
        issued = accounts.rotate_token(conn, app.clock.now(), actor, name,
                                       token_days=app.settings.token_days)
    return {"name": issued.name, "token": issued.token,
            "token_expires_at": issued.expires_at.isoformat()}


@router.put("/{name}/scope", response_model=Account,
            responses=documented(400, 401, 403, 404, 413, 422))
def set_scope(name: Name, body: ScopeIn, app: AppDep, actor: CurrentActor) -> dict[str, Any]:
    """Move an officer to another unit (a code or a name; an ambiguous name is refused with
    the candidates); the role stays."""
    with write_transaction(app.db) as conn:
        return accounts.set_scope(conn, app.clock.now(), actor, name, body.district,
                                  body.commune)


@router.delete("/{name}", status_code=204, responses=documented(401, 403, 404, 422))
def delete_user(name: Name, app: AppDep, actor: CurrentActor) -> Response:
    """Delete the account and its sessions (the audit trail keeps the name). Not one's own."""
    with write_transaction(app.db) as conn:
        accounts.delete_user(conn, app.clock.now(), actor, name)
    return Response(status_code=204)
