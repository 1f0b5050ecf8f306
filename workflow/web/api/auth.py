"""Who is calling: bearer tokens (as ``ocop users add`` prints them) and what they may read."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workflow import registry
from workflow.bootstrap import App
from workflow.domain.facts import Actor
from workflow.domain.permissions import scope_reason
from workflow.errors import Forbidden, clause
from workflow.store.db import one_read, write_transaction

READS_ALL = ("supervisor", "admin", "city_officer", "ip_officer")
AUDITORS = ("supervisor", "admin")
PRODUCER_ADMINS = ("admin", "city_officer", "district_officer", "commune_officer")

bearer = HTTPBearer(auto_error=False, description="The token `ocop users add` printed.")


def the_app(request: Request) -> App:
    app: App = request.app.state.ocop
    return app


def actor_for_token(request: Request, token: str | None) -> Actor:
    """The caller, asked of the database on every request (no cache: a disabled, re-issued or
    deleted token stops at once in every process); ``last_used_at`` is written in a short
    transaction of its own at most once a minute."""
    app = the_app(request)
    now = app.clock.now()
    with one_read(app.db) as conn:
        actor, due = registry.token_actor(conn, token, now)
    if due and token:
        with write_transaction(app.db) as conn:
            registry.touch_token(conn, token, now)
    return actor


def current_actor(request: Request, credentials: Annotated[
        HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Actor:
    return actor_for_token(request, credentials.credentials if credentials else None)


CurrentActor = Annotated[Actor, Depends(current_actor)]
AppDep = Annotated[App, Depends(the_app)]


def read_problem(actor: Actor, case: dict[str, Any]) -> dict[str, Any] | None:
    """Why ``actor`` may not read ``case`` (same scope as the case list), or ``None``."""
    if actor.role in READS_ALL:
        return None
    return scope_reason(actor, case)


def check_read(actor: Actor, case: dict[str, Any]) -> None:
    problem = read_problem(actor, case)
    if problem:
        raise Forbidden("may_not_see_case", actor=actor.name, case=case["code"], why=problem)


def require_role(actor: Actor, roles: tuple[str, ...], action: str) -> None:
    """Refuse unless ``actor`` has one of ``roles``; ``action`` is the clause code naming what
    they tried (``do_read_audit``)."""
    if actor.role not in roles:
        raise Forbidden("role_may_not_do", role=actor.role, action=clause(action),
                        roles=list(roles))


def check_producer_scope(actor: Actor, producer: dict[str, Any], action: str) -> None:
    """Officers manage the producers of their own district or commune; producers see their own.
    ``action`` is the clause code naming what the actor tried (``do_see_producer``)."""
    probe = {"producer_id": producer["id"],
             **{k: producer.get(k) for k in ("district", "commune", "district_code",
                                             "commune_code")}}
    problem = read_problem(actor, probe)
    if problem:
        raise Forbidden("producer_out_of_scope", actor=actor.name, action=clause(action),
                        producer=producer.get("name") or producer["id"], why=problem)
