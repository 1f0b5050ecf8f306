"""Console sessions, kept on the server and apart from API tokens.

The console opens one when a user signs in with their name and API token: the browser's
cookie holds a random secret (``secrets.token_urlsafe(32)``) and the ``sessions`` table keeps
only its SHA-256 as ``id``, so a copy of the database lets no one in. A session lasts until it
is ended (sign-out, or :func:`end_for_user` when an administrator disables, deletes or
re-issues the token of its user), until it has been idle for ``idle`` (``last_seen_at`` is
written at most once a minute, so a session may end up to a minute earlier than ``idle`` after
its last request), or until its absolute expiry (``expires_at``: the configured hours after
sign-in, and never after the user's API token expires). A disabled or deleted user's sessions
stop at once.

The rows only: this layer does not know the registry, so :func:`look_up` is handed the query
of user rows (``registry.user_query()``) to join the session to.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Row, Select, and_, delete, insert, or_, update

from workflow.store.schema import sessions, users

TOUCH_EVERY = timedelta(minutes=1)
KEEP_DEAD = timedelta(days=30)  # ended and expired sessions are deleted after this long


def secret_id(secret: str) -> str:
    """The row id of the session whose cookie holds ``secret``."""
    return hashlib.sha256(secret.encode()).hexdigest()


def create(conn: Connection, now: datetime, user_id: int, *, hours: float,
           address: str | None = None, not_after: datetime | None = None) -> str:
    """A new session of user ``user_id``, ending ``hours`` after ``now`` (or at ``not_after``
    if sooner); returns the secret for the cookie. The user's sessions dead for a month are
    deleted on the way."""
    conn.execute(delete(sessions).where(
        sessions.c.user_id == user_id,
        or_(sessions.c.ended_at < now - KEEP_DEAD, sessions.c.expires_at < now - KEEP_DEAD)))
    expires = now + timedelta(hours=hours)
    if not_after is not None and not_after < expires:
        expires = not_after
    secret = secrets.token_urlsafe(32)
    conn.execute(insert(sessions).values(
        id=secret_id(secret), user_id=user_id, created_at=now, last_seen_at=now,
        expires_at=expires, address=(address or "")[:64] or None))
    return secret


def look_up(conn: Connection, secret: str | None, now: datetime, *, idle: timedelta,
            users_query: Select[Any]) -> tuple[Row[Any], bool] | None:
    """The user row (from ``users_query``, a select of ``users``: ``registry.user_query()``)
    of the live session ``secret`` names, and whether its ``last_seen_at`` is due to be written
    (:func:`touch`); ``None`` when the session is unknown, ended, idle for ``idle`` or more,
    past its expiry, or its user is disabled, deleted or their token expired."""
    if not secret:
        return None
    row = conn.execute(
        users_query
        .add_columns(sessions.c.last_seen_at.label("session_seen"),
                     sessions.c.expires_at.label("session_expires"),
                     sessions.c.ended_at.label("session_ended"))
        .join(sessions, sessions.c.user_id == users.c.id)
        .where(sessions.c.id == secret_id(secret))).first()
    if row is None or row.session_ended is not None or row.disabled_at is not None:
        return None
    if now >= row.session_expires or now - row.session_seen >= idle:
        return None
    if row.token_expires_at is not None and row.token_expires_at <= now:
        return None
    return row, now - row.session_seen >= TOUCH_EVERY


def touch(conn: Connection, secret: str, now: datetime) -> None:
    """Mark the session seen at ``now`` (only ever forward)."""
    conn.execute(update(sessions).where(
        sessions.c.id == secret_id(secret), sessions.c.ended_at.is_(None),
        sessions.c.last_seen_at < now).values(last_seen_at=now))


def end(conn: Connection, secret: str | None, now: datetime) -> bool:
    """Sign-out: end the session ``secret`` names; whether there was a live one."""
    if not secret:
        return False
    done = conn.execute(update(sessions).where(
        sessions.c.id == secret_id(secret), sessions.c.ended_at.is_(None)
    ).values(ended_at=now))
    return bool(done.rowcount)


def end_for_user(conn: Connection, user_id: int, now: datetime) -> int:
    """End every open session of user ``user_id`` (when they are disabled, deleted or their
    token re-issued); how many were not ended yet."""
    done = conn.execute(update(sessions).where(
        and_(sessions.c.user_id == user_id, sessions.c.ended_at.is_(None))
    ).values(ended_at=now))
    return int(done.rowcount)

