"""Invitations: how a producer gets their own console access without a staff member ever
handling their password.

An administrator, a city officer, or the officer of the producer's commune invites the producer
(:func:`invite`): a one-time link ``{OCOP_PUBLIC_URL}/console/invite/{secret}`` naming the account
to set up, usable for ``OCOP_INVITATION_DAYS`` days. Only the secret's SHA-256 is kept, so a copy
of the database opens no invitation. The producer opens the link, chooses a password, and
:func:`accept` makes the account — role producer, the argon2id hash of the password, and a
random API token nobody is shown (the column must hold one) — and marks the invitation used, in
one transaction, so a link works once. Both steps are written to the admin log in that same
transaction; the secret never is.

Inviting the same account again replaces the links still open for it (they stop working): the
office can send a new link when one was lost without the old one staying usable.

The link is printed (CLI) or returned (API) for the office to hand over; it is not e-mailed: the
outbox keeps messages per case and in clear, and a link that opens an account must not be kept
in clear anywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select, update

from workflow import registry
from workflow.accounts import OPERATOR, RESERVED, target
from workflow.clock import local
from workflow.domain import text
from workflow.domain.facts import Actor, norm
from workflow.domain.permissions import ended_reason, scope_reason
from workflow.errors import Forbidden, InvalidInput, NotFound, clause
from workflow.store import adminlog
from workflow.store.schema import invitations, producers, users

INVITERS = ("admin", "city_officer", "commune_officer")
MAX_DAYS = 90
MIN_PASSWORD = 10
MAX_PASSWORD = 200  # argon2 takes any length; a bound keeps a form from costing much


class InvitationGone(NotFound):
    """The link was real but is no longer usable (used or expired): HTTP 410 on its page."""


@dataclass(frozen=True)
class Invitation:
    """A link handed out (shown once; only the secret's hash is kept)."""

    link: str
    account: str
    producer_id: int
    producer: str
    expires_at: datetime


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def link_for(public_url: str, secret: str) -> str:
    return f"{public_url.rstrip('/')}/console/invite/{secret}"


def acting(conn: Connection, name: str | None) -> Actor:
    """Who runs ``ocop producers invite``: the user ``--as`` names (refused when disabled), or
    the operator at the machine (an administrator, logged as ``cli``)."""
    if name is None:
        return OPERATOR
    row = conn.execute(registry.user_query().where(users.c.name == name)).first()
    if row is None:
        raise NotFound("user_not_found", got=name)
    if row.disabled_at is not None:
        raise Forbidden("account_disabled_may_not_act", user=name)
    return registry.actor_from_row(row)


def find_producer(conn: Connection, ref: int | str) -> dict[str, Any]:
    """A producer by id (a number) or by its exact name; a name two producers share is
    refused with their ids."""
    given = str(ref).strip()
    if given.isdigit():
        return registry.get_producer(conn, int(given))
    rows = conn.execute(select(producers).where(producers.c.name == norm(given))
                        .order_by(producers.c.id)).all()
    if not rows:
        raise NotFound("producer_name_unknown", got=given)
    if len(rows) > 1:
        raise InvalidInput("producer_name_ambiguous", got=given, ids=[r.id for r in rows])
    return dict(rows[0]._mapping)


def check_inviter(actor: Actor, producer: dict[str, Any], now: datetime) -> None:
    """Administrators and city officers invite any producer; a commune officer those of their
    own commune or ward."""
    if actor.role not in INVITERS:
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_invite_producers"),
                        roles=list(INVITERS))
    why = ended_reason(actor, local(now).date())
    if why is None and actor.role == "commune_officer":
        why = scope_reason(actor, {"producer_id": producer["id"], **{
            k: producer.get(k) for k in ("district", "commune", "district_code",
                                         "commune_code")}})
    if why:
        raise Forbidden("producer_out_of_scope", actor=actor.name,
                        action=clause("do_invite"), producer=producer["name"],
                        why=why)


def checked_name(conn: Connection, name: str) -> str:
    """The account name to set up: plain text, not reserved, not an account already."""
    name = norm(name)
    if not name or text.clean(name, "name") != name or len(name) > 120:
        raise InvalidInput("user_name_invalid", got=name)
    if name in RESERVED:
        raise InvalidInput("user_name_reserved", got=name, reserved=list(RESERVED))
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise InvalidInput("user_exists", got=name)
    return name


def invite(conn: Connection, now: datetime, actor: Actor, producer_ref: int | str,
           account: str, days: int | None = None, *, public_url: str,
           default_days: int = 7) -> Invitation:
    """A one-time link for the producer ``producer_ref`` (id or name) to set up the account
    ``account``, usable for ``days`` (default ``default_days``: ``OCOP_INVITATION_DAYS``)."""
    producer = find_producer(conn, producer_ref)
    check_inviter(actor, producer, now)
    days = default_days if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput("invitation_days_invalid", got=days, maximum=MAX_DAYS)
    name = checked_name(conn, account)
    open_for_name = (invitations.c.name == name, invitations.c.used_at.is_(None),
                     invitations.c.expires_at > now)
    other = conn.execute(select(invitations.c.producer_id).where(
        *open_for_name, invitations.c.producer_id != producer["id"])).first()
    if other is not None:
        raise InvalidInput("invitation_name_pending", got=name)
    replaced = conn.execute(update(invitations).where(*open_for_name).values(expires_at=now))
    secret = secrets.token_urlsafe(32)
    expires = now + timedelta(days=days)
    invitation_id = conn.execute(insert(invitations).values(
        secret_hash=secret_hash(secret), producer_id=producer["id"], name=name,
        created_by=actor.name, created_at=now, expires_at=expires
    ).returning(invitations.c.id)).scalar_one()
    adminlog.record(conn, now, actor.name, "invite", target(name), {
        "producer_id": producer["id"], "invitation": invitation_id,
        "expires_at": local(expires).isoformat(), "replaced": int(replaced.rowcount)})
    return Invitation(link_for(public_url, secret), name, producer["id"], producer["name"],
                      expires)


def opened(conn: Connection, now: datetime, secret: str, *, lock: bool = False
           ) -> dict[str, Any]:
    """The invitation ``secret`` opens, with its producer's name; refused when the link is
    unknown (404), used or expired (410)."""
    query = (select(invitations, producers.c.name.label("producer_name"))
             .join(producers, producers.c.id == invitations.c.producer_id)
             .where(invitations.c.secret_hash == secret_hash(secret)))
    row = conn.execute(query.with_for_update(of=invitations) if lock else query).first()
    if row is None:
        raise NotFound("invitation_unknown")
    if row.used_at is not None:
        raise InvitationGone("invitation_used", used=local(row.used_at).date().isoformat(),
                             user=row.name)
    if row.expires_at <= now:
        raise InvitationGone("invitation_expired",
                             expired=local(row.expires_at).date().isoformat())
    return dict(row._mapping)


def check_password(name: str, password: str, repeat: str) -> str:
    """The password to keep (composed and trimmed): at least :data:`MIN_PASSWORD` characters,
    not the account name, and typed the same twice."""
    chosen = norm(password)
    if len(chosen) < MIN_PASSWORD:
        raise InvalidInput("password_too_short", minimum=MIN_PASSWORD)
    if len(chosen) > MAX_PASSWORD:
        raise InvalidInput("password_too_long", maximum=MAX_PASSWORD)
    if chosen.casefold() == norm(name).casefold():
        raise InvalidInput("password_is_name")
    if chosen != norm(repeat):
        raise InvalidInput("password_mismatch")
    return chosen


def accept(conn: Connection, now: datetime, secret: str, password: str,
           repeat: str) -> tuple[int, str]:
    """Set up the account the invitation ``secret`` names, with ``password``; the new user's
    id and name. The invitation is used up in the same transaction (a second use is refused);
    a refusal changes nothing."""
    invitation = opened(conn, now, secret, lock=True)
    name = invitation["name"]
    chosen = check_password(name, password, repeat)
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise InvalidInput("user_exists", got=name)
    user_id = int(conn.execute(insert(users).values(
        name=name, role="producer", producer_id=invitation["producer_id"],
        # the API token nobody is shown (the column needs one); no expiry: the password is
        # what this account signs in with, and it does not run out
        token_hash=registry.token_hash(secrets.token_urlsafe(32)),
        password_hash=registry.password_hash(chosen),
        created_at=now, created_by=invitation["created_by"], token_expires_at=None,
    ).returning(users.c.id)).scalar_one())
    used = conn.execute(update(invitations).where(
        invitations.c.id == invitation["id"], invitations.c.used_at.is_(None)
    ).values(used_at=now, user_id=user_id))
    if used.rowcount != 1:  # taken meanwhile by another request: the insert rolls back
        raise InvitationGone("invitation_used", used=local(now).date().isoformat(), user=name)
    adminlog.record(conn, now, name, "accept_invitation", target(name), {
        "producer_id": invitation["producer_id"], "invitation": invitation["id"],
        "invited_by": invitation["created_by"]})
    return user_id, name

