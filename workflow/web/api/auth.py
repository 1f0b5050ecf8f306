"""Who is calling: bearer tokens (as ``ocop users add`` prints them) and what they may read."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from workflow import registry
from workflow.bootstrap import App
from workflow.domain.facts import Actor
from workflow.domain.permissions import scope_reason
from workflow.errors import Forbidden, Unauthenticated, clause

READS_ALL = ("supervisor", "admin", "city_officer", "ip_officer")
AUDITORS = ("supervisor", "admin")
PRODUCER_ADMINS = ("admin", "city_officer", "district_officer", "commune_officer")

bearer = HTTPBearer(auto_error=False, description="The token `ocop users add` printed.")


def the_app(request: Request) -> App:
    app: App = request.app.state.ocop
    return app


class Tokens:
    """Token -> actor, remembered for ``ttl`` seconds (0: ask the database every time)."""

    def __init__(self, app: App, ttl: float, size: int = 4096) -> None:
        self.app, self.ttl, self.size = app, ttl, size
        self.seen: dict[str, tuple[float, Actor]] = {}

    def actor(self, token: str | None) -> Actor:
        if not token:
            raise Unauthenticated("token_missing")
        key = registry.token_hash(token)
        hit = self.seen.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.ttl:
            return hit[1]
        with self.app.db.connect() as conn:
            actor = registry.actor_by_token(conn, token)
        if actor is None:
            raise Unauthenticated("token_unknown")
        if self.ttl > 0:
            if len(self.seen) >= self.size:
                self.seen.clear()
            self.seen[key] = (time.monotonic(), actor)
        return actor


def actor_for_token(request: Request, token: str | None) -> Actor:
    tokens: Tokens = request.app.state.tokens
    return tokens.actor(token)


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
    probe = {"producer_id": producer["id"], "district": producer["district"],
             "commune": producer["commune"]}
    problem = read_problem(actor, probe)
    if problem:
        raise Forbidden("producer_out_of_scope", actor=actor.name, action=clause(action),
                        producer=producer.get("name") or producer["id"], why=problem)
