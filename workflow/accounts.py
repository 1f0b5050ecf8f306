"""Accounts, for administrators: add, list, show, disable, enable, rotate a token, re-scope,
delete — the one service the CLI (``ocop users``), the API (``/api/v1/users``) and the
console's accounts page call.

Every change is written with its admin-log entry (:mod:`workflow.store.adminlog`: who did what
to which account) in the caller's transaction, so neither is ever written without the other.
Reads (list, show) are not logged: they change nothing, and logging them would turn every look
at the accounts page into a write. Only administrators may do any of this; at the command line
the operator at the machine (:data:`OPERATOR`, logged as ``cli``) counts as one, or names
themself with ``--as``. An administrator may not disable or delete their own account.

Disabling, re-issuing the token and deleting end the user's console sessions at once, and the
API asks the database about the token on every request (no cache), so each takes effect at once
in every process.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, select, update

from workflow import registry
from workflow.clock import local
from workflow.domain.facts import Actor, norm
from workflow.errors import Forbidden, InvalidInput, NotFound, Refused, clause
from workflow.store import adminlog, sessions
from workflow.store.schema import producers, units, users
from workflow.store.schema import sessions as session_rows

ADMINS = ("admin",)
OFFICERS = ("commune_officer", "district_officer")
# The operator at the machine: ``ocop users …`` without ``--as`` (they hold the database).
OPERATOR = Actor("cli", "admin")
RESERVED = ("cli", "system")  # names the logs use for the operator and the engine


@dataclass(frozen=True)
class Issued:
    """A token handed out (shown once; only its hash is kept)."""

    name: str
    token: str
    expires_at: datetime


def require_admin(actor: Actor) -> None:
    if actor.role not in ADMINS:
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_manage_accounts"),
                        roles=list(ADMINS))


def acting(conn: Connection, name: str | None) -> Actor:
    """Who runs an ``ocop users`` command: the named administrator (``--as``), or else the
    operator at the machine."""
    if name is None:
        return OPERATOR
    row = _row(conn, name)
    actor = registry.actor_from_row(row)
    require_admin(actor)
    if row.disabled_at is not None:
        raise Forbidden("account_disabled_may_not_act", user=name)
    return actor


def add(conn: Connection, now: datetime, actor: Actor, name: str, role: str,
        district: str | None = None, commune: str | None = None,
        producer_id: int | None = None, *, token_days: int) -> Issued:
    """A new account with its token, expiring ``token_days`` after ``now``; who made it is
    kept (``created_by``) and logged."""
    require_admin(actor)
    name = norm(name)
    if not name:
        raise InvalidInput("user_needs_name")
    if name in RESERVED:
        raise InvalidInput("user_name_reserved", got=name, reserved=list(RESERVED))
    token = registry.add_user(conn, now, name, role, district, commune, producer_id,
                              created_by=actor.name, token_days=token_days)
    row = _row(conn, name)
    adminlog.record(conn, now, actor.name, "add", target(name), {
        "role": role, "unit": row.unit_code, "producer_id": producer_id,
        "token_expires_at": row.token_expires_at.isoformat()})
    return Issued(name, token, row.token_expires_at)


def list_users(conn: Connection, now: datetime, actor: Actor) -> list[dict[str, Any]]:
    """Every account, by name, as :func:`show_user` gives one."""
    require_admin(actor)
    return [view(row, now) for row in conn.execute(_query().order_by(users.c.name))]


def show_user(conn: Connection, now: datetime, actor: Actor, name: str) -> dict[str, Any]:
    """One account: role, unit (key, code and name), producer, who made it and when, when its
    token expires and was last used, whether it is disabled; its state (``active``,
    ``disabled`` or ``expired``)."""
    require_admin(actor)
    row = conn.execute(_query().where(users.c.name == name)).first()
    if row is None:
        raise NotFound("user_not_found", got=name)
    return view(row, now)


def disable(conn: Connection, now: datetime, actor: Actor, name: str) -> dict[str, Any]:
    """Stop the account: its token and console sessions stop working at once."""
    require_admin(actor)
    _not_self(actor, name, clause("do_disable_account"))
    row = _row(conn, name, lock=True)
    if row.disabled_at is not None:
        raise Refused("account_already_disabled", user=name, since=_day(row.disabled_at))
    conn.execute(update(users).where(users.c.id == row.id).values(disabled_at=now))
    ended = sessions.end_for_user(conn, row.id, now)
    adminlog.record(conn, now, actor.name, "disable", target(name), {"sessions_ended": ended})
    return show_user(conn, now, actor, name)


def enable(conn: Connection, now: datetime, actor: Actor, name: str) -> dict[str, Any]:
    """Let a disabled account in again (with the token it had, if it has not expired)."""
    require_admin(actor)
    row = _row(conn, name, lock=True)
    if row.disabled_at is None:
        raise Refused("account_not_disabled", user=name)
    conn.execute(update(users).where(users.c.id == row.id).values(disabled_at=None))
    adminlog.record(conn, now, actor.name, "enable", target(name),
                    {"disabled_at": row.disabled_at.isoformat()})
    return show_user(conn, now, actor, name)


def rotate_token(conn: Connection, now: datetime, actor: Actor, name: str, *,
                 token_days: int) -> Issued:
    """A new token for the account, expiring ``token_days`` after ``now``; the old one stops at
    once, and so do the account's console sessions. ``last_used_at`` starts again."""
    require_admin(actor)
    row = _row(conn, name, lock=True)
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=token_days)
    conn.execute(update(users).where(users.c.id == row.id).values(
        token_hash=registry.token_hash(token), token_expires_at=expires, last_used_at=None))
    ended = sessions.end_for_user(conn, row.id, now)
    adminlog.record(conn, now, actor.name, "rotate_token", target(name),
                    {"token_expires_at": expires.isoformat(), "sessions_ended": ended})
    return Issued(name, token, expires)


def set_scope(conn: Connection, now: datetime, actor: Actor, name: str,
              district: str | None = None, commune: str | None = None) -> dict[str, Any]:
    """Move an officer to another unit: ``commune`` for a commune officer, ``district`` for a
    district officer (exactly one; a code or a name, an ambiguous name refused with the
    candidates). The role stays."""
    require_admin(actor)
    if bool(norm(commune)) == bool(norm(district)):
        raise InvalidInput("rescope_one_unit")
    row = _row(conn, name, lock=True)
    if row.role not in OFFICERS:
        raise InvalidInput("rescope_officers_only", user=name, role=row.role,
                           roles=list(OFFICERS))
    if not norm(commune if row.role == "commune_officer" else district):
        raise InvalidInput("rescope_wrong_level", user=name, role=row.role)
    unit = registry.officer_unit(conn, now, row.role, district, commune)
    conn.execute(update(users).where(users.c.id == row.id).values(**unit))
    adminlog.record(conn, now, actor.name, "set_scope", target(name),
                    {"role": row.role, "from": row.unit_code, "to": unit["unit_code"]})
    return show_user(conn, now, actor, name)


def delete_user(conn: Connection, now: datetime, actor: Actor, name: str) -> None:
    """Remove the account and its sessions; its token stops at once. Audit entries keep the
    name it acted under."""
    require_admin(actor)
    _not_self(actor, name, clause("do_delete_account"))
    row = _row(conn, name, lock=True)
    conn.execute(delete(session_rows).where(session_rows.c.user_id == row.id))
    conn.execute(delete(users).where(users.c.id == row.id))
    adminlog.record(conn, now, actor.name, "delete", target(name), {
        "role": row.role, "unit": row.unit_code, "producer_id": row.producer_id,
        "created_by": row.created_by, "created_at": row.created_at.isoformat()})


def target(name: str) -> str:
    """How the admin log names an account."""
    return f"user:{name}"


def view(row: Any, now: datetime) -> dict[str, Any]:
    m = row._mapping
    unit = None if m["unit_code"] is None else {
        "key": m["unit_code"], "code": m["unit_number"], "name": m["unit_name"] or
        m["commune"] or m["district"], "level": m["unit_level"]}
    producer = None if m["producer_id"] is None else {
        "id": m["producer_id"], "name": m["producer_name"]}
    return {"name": m["name"], "role": m["role"], "unit": unit, "producer": producer,
            "created_by": m["created_by"], "created_at": _iso(m["created_at"]),
            "token_expires_at": _iso(m["token_expires_at"]),
            "last_used_at": _iso(m["last_used_at"]), "disabled_at": _iso(m["disabled_at"]),
            "state": state_of(m["disabled_at"], m["token_expires_at"], now)}


def state_of(disabled_at: datetime | None, expires_at: datetime | None, now: datetime) -> str:
    if disabled_at is not None:
        return "disabled"
    if expires_at is not None and expires_at <= now:
        return "expired"
    return "active"


def _query() -> Any:
    return (select(users, units.c.code.label("unit_number"), units.c.name.label("unit_name"),
                   units.c.level.label("unit_level"), producers.c.name.label("producer_name"))
            .outerjoin(units, units.c.key == users.c.unit_code)
            .outerjoin(producers, producers.c.id == users.c.producer_id))


def _row(conn: Connection, name: str, *, lock: bool = False) -> Any:
    query = select(users).where(users.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:
        raise NotFound("user_not_found", got=name)
    return row


def _not_self(actor: Actor, name: str, action: dict[str, Any]) -> None:
    """An administrator may not lock themself out (``action``: the clause naming what)."""
    if actor.name == name:
        raise Forbidden("account_self", user=name, action=action)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else local(at).isoformat()


def _day(at: datetime) -> str:
    return local(at).date().isoformat()
