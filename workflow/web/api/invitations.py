"""``POST /api/v1/producers/{id}/invitations``: the office's one-time link with which a
producer sets up their own console account (CLI: ``ocop producers invite``). Administrators and
city officers invite any producer, a commune officer those of their commune; the answer carries
the link once (only its secret's hash is kept)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from workflow import invitations
from workflow.clock import local
from workflow.store.db import write_transaction
from workflow.web.api.auth import AppDep, CurrentActor
from workflow.web.api.models import Strict
from workflow.web.api.problems import documented

router = APIRouter(tags=["producers"])


class InvitationIn(Strict):
    account: str = Field(min_length=1, max_length=120,
                         description="the account name the producer will sign in with; it "
                                     "must not exist yet")
    days: int | None = Field(default=None, ge=1, le=invitations.MAX_DAYS,
                             description="how long the link works (default "
                                         "OCOP_INVITATION_DAYS)")


class InvitationOut(BaseModel):
    link: str = Field(description="the one-time link, shown only in this answer")
    account: str
    producer: int
    expires_at: str


@router.post("/api/v1/producers/{producer_id}/invitations", status_code=201,
             response_model=InvitationOut, responses=documented(400, 401, 403, 404, 413, 422))
def invite(producer_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: InvitationIn,
           app: AppDep, actor: CurrentActor) -> JSONResponse:
    """A one-time link for the producer to set up the account ``account`` and its password;
    a new link for the same account replaces the one still open."""
    with write_transaction(app.db) as conn:
        made = invitations.invite(conn, app.clock.now(), actor, producer_id, body.account,
                                  body.days, public_url=app.settings.public_url,
                                  default_days=app.settings.invitation_days)
    return JSONResponse({"link": made.link, "account": made.account,
                         "producer": made.producer_id,
                         "expires_at": local(made.expires_at).isoformat()},
                        status_code=201, headers={"Cache-Control": "no-store"})
