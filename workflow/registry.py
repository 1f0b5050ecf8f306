"""Producers, users and tokens, and the registration that opens a case."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email
from sqlalchemy import Connection, Select, bindparam, insert, or_, select, update

import states
from states.groups import normalise_group
from states.model import PINNING_ROLES, ROLES
from workflow.clock import local
from workflow.domain import outbox, text
from workflow.domain.facts import Actor, norm
from workflow.domain.permissions import ended_reason, scope_reason
from workflow.domain.units import REORGANISED_ON
from workflow.errors import Forbidden, InvalidInput, NotFound, Unauthenticated, clause
from workflow.messaging.channels import targets
from workflow.store import history, units
from workflow.store.audit import GENESIS
from workflow.store.schema import cases, producers, users
from workflow.store.schema import outbox as outbox_rows
from workflow.store.schema import units as units_table

KINDS = ("enterprise", "cooperative", "cooperative_group", "household")
LANGS = ("vi", "en")
REGISTRARS = ("producer", "commune_officer", "district_officer", "city_officer")
TOUCH_EVERY = timedelta(minutes=1)  # a user's last_used_at is written at most this often
# A new case gets its code (from its id) with its first audit entry.
NAME_CASE = (update(cases)
             .where(cases.c.id == bindparam("case_id"), cases.c.version == bindparam("old_version"))
             .values(code=bindparam("case_code"), audit_seq=bindparam("seq"),
                     audit_head=bindparam("head"), audit_seal=bindparam("seal")))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _choice(value: str, allowed: tuple[str, ...], code: str, choices: str) -> str:
    """``value`` if it is one of ``allowed``; else the error ``code`` with the allowed values as
    its parameter ``choices`` (a name :data:`workflow.errors.CHOICES` knows, or a plain one)."""
    if value not in allowed:
        raise InvalidInput(code, got=value, **{choices: list(allowed)})
    return value


def place(conn: Connection, now: datetime, district: str | None,
          commune: str | None) -> dict[str, Any]:
    """Where a producer is: the commune (a key, a code or a name, in force on ``now``'s date;
    before 2025-07-01 the district narrows a name) as the four columns a producer and its cases
    keep: the names shown and the unit keys scope compares."""
    day = local(now).date()
    text = (commune or "").strip()
    if not text:
        raise InvalidInput("producer_needs_commune")
    has_district = bool(norm(district))
    if has_district and day >= REORGANISED_ON:
        raise InvalidInput("districts_ended", got=district, since=REORGANISED_ON.isoformat())
    if has_district and not (text.isdigit() or text.startswith("old:")) and "," not in text:
        text = f"{text}, {district}"
    unit = units.resolve(conn, text, ("commune",), on=day, field="commune")
    parent = units.maybe(conn, unit.parent_key)
    in_district = parent if parent is not None and parent.level == "district" else None
    if has_district and in_district is not None:
        named = units.find(conn, str(district), ("district",))
        if in_district.key not in {u.key for u in named}:
            raise InvalidInput("unit_mismatch", got=district, unit=unit.label)
    return {"commune": unit.name, "commune_code": unit.key,
            "district": in_district.name if in_district else None,
            "district_code": in_district.key if in_district else None}


def add_producer(conn: Connection, now: Any, name: str, kind: str, district: str | None,
                 commune: str | None = None, email: str | None = None,
                 webhook: str | None = None, lang: str = "vi",
                 allow_private: bool = False) -> int:
    _choice(kind, KINDS, "unknown_producer_kind", "producer_kind_choices")
    _choice(lang, LANGS, "unknown_language", "langs")
    name = text.clean(name, "name")
    if not name:
        raise InvalidInput("producer_needs_name")
    if email is not None:
        email = checked_email(email)
    if webhook is not None:
        checked_webhook(webhook, allow_private)
    row = {"name": norm(name), "kind": kind, **place(conn, now, district, commune),
           "email": email, "webhook_url": webhook,
           "webhook_secret": secrets.token_hex(32), "lang": lang, "created_at": now}
    return int(conn.execute(insert(producers).values(**row).returning(producers.c.id))
               .scalar_one())


def checked_webhook(webhook: str, allow_private: bool = False) -> None:
    """An http(s) URL whose host is not a loopback, private, link-local, multicast,
    unspecified or reserved address (``OCOP_WEBHOOK_ALLOW_PRIVATE=1``: any host). A name is
    checked again, resolved, at each delivery."""
    if not webhook.startswith(("http://", "https://")):
        raise InvalidInput("webhook_invalid", got=webhook)
    refused = None if allow_private else targets.registration_refusal(webhook)
    if refused is not None:
        raise InvalidInput("webhook_not_public", got=webhook, address=refused)


def checked_email(email: str) -> str:
    """The address in its normal form (``email-validator``: syntax only, no DNS), or refused —
    a line break in it would be a header injection, and a message to it retried forever."""
    try:
        return validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as why:
        raise InvalidInput("email_invalid", got=email, why=str(why)) from None


def get_producer(conn: Connection, producer_id: int) -> dict[str, Any]:
    row = conn.execute(select(producers).where(producers.c.id == producer_id)).first()
    if row is None:
        raise NotFound("producer_not_found", id=producer_id)
    return dict(row._mapping)


def officer_unit(conn: Connection, now: datetime, role: str, district: str | None,
                 commune: str | None) -> dict[str, Any]:
    """An officer's unit as the user row keeps it: a commune officer's commune, a district
    officer's district (only while districts existed), nothing for the other roles."""
    day = local(now).date()
    if role == "district_officer":
        if not norm(district):
            raise InvalidInput("district_officer_needs_district")
        unit = units.resolve(conn, district, ("district",), on=day, field="district")
        return {"district": unit.name, "commune": None, "unit_code": unit.key}
    if role == "commune_officer":
        if not norm(commune):
            raise InvalidInput("commune_officer_needs_commune")
        unit = units.resolve(conn, commune, ("commune",), on=day, field="commune")
        return {"district": None, "commune": unit.name, "unit_code": unit.key}
    return {"district": None, "commune": None, "unit_code": None}


def add_user(conn: Connection, now: Any, name: str, role: str, district: str | None = None,
             commune: str | None = None, producer_id: int | None = None, *,
             created_by: str | None = None, token_days: int = 180) -> str:
    """Create a user and return their API token (only its hash is stored); the token expires
    ``token_days`` after ``now``."""
    _choice(role, ROLES, "unknown_role", "role_choices")
    if role == "producer":
        if producer_id is None:
            raise InvalidInput("producer_user_needs_producer")
        get_producer(conn, producer_id)
    if text.clean(name, "name") != name or not name:
        raise InvalidInput("user_name_invalid", got=name)
    unit = officer_unit(conn, now, role, district, commune)
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise InvalidInput("user_exists", got=name)
    token = secrets.token_urlsafe(32)
    conn.execute(insert(users).values(
        name=name, role=role, **unit, producer_id=producer_id, token_hash=token_hash(token),
        created_at=now, created_by=created_by,
        token_expires_at=now + timedelta(days=token_days)))
    return token


def actor_from_row(row: Any) -> Actor:
    m = row._mapping
    return Actor(m["name"], m["role"], m["district"], m["commune"], m["producer_id"],
                 m["unit_code"], m.get("unit_ended"))


def user_query() -> Select[Any]:
    """Users with the last day of their unit (``unit_ended``) beside them."""
    return select(users, units_table.c.valid_to.label("unit_ended")).outerjoin(
        units_table, units_table.c.key == users.c.unit_code)


def actor_named(conn: Connection, name: str) -> Actor:
    if name == "system":
        return Actor("system", "system")
    row = conn.execute(user_query().where(users.c.name == name)).first()
    if row is None:
        raise NotFound("user_not_found", got=name)
    return actor_from_row(row)


def token_actor(conn: Connection, token: str | None, now: datetime) -> tuple[Actor, bool]:
    """The actor whose API token ``token`` is at ``now``, and whether their ``last_used_at`` is
    due to be written (:func:`touch_token`: at most once a minute, so reads stay reads).
    Refused (``Unauthenticated``, saying which) when there is no token, when it is no user's
    (never issued, replaced by a new one, or its account deleted), when the account is
    disabled, or when the token has expired."""
    if not token:
        raise Unauthenticated("token_missing")
    row = conn.execute(user_query().where(users.c.token_hash == token_hash(token))).first()
    if row is None:
        raise Unauthenticated("token_unknown")
    if row.disabled_at is not None:
        raise Unauthenticated("token_account_disabled", user=row.name)
    if row.token_expires_at is not None and row.token_expires_at <= now:
        raise Unauthenticated("token_expired", user=row.name,
                              expired=local(row.token_expires_at).date().isoformat())
    due = row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY
    return actor_from_row(row), due


def touch_token(conn: Connection, token: str, now: datetime) -> None:
    """Record that ``token`` was used at ``now`` (only forward, at most once a minute)."""
    conn.execute(update(users).where(
        users.c.token_hash == token_hash(token),
        or_(users.c.last_used_at.is_(None), users.c.last_used_at <= now - TOUCH_EVERY))
        .values(last_used_at=now))


def actor_by_token(conn: Connection, token: str, now: datetime | None = None) -> Actor | None:
    """The actor whose token ``token`` is, or ``None`` if it is no live user's (unknown,
    disabled, or expired at ``now``; without ``now``, expiry is not checked)."""
    try:
        return token_actor(conn, token, now or datetime.min.replace(tzinfo=UTC))[0]
    except Unauthenticated:
        return None


@dataclass(frozen=True)
class Registration:
    producer_id: int
    product: str
    group: str
    subgroup: str | None = None
    rules: str | None = None
    documents: tuple[str, ...] = ()


def register_case(conn: Connection, now: Any, actor: Actor, reg: Registration, *,
                  public_url: str) -> str:
    """Open a case in ``draft`` with its first audit entry and the producer's notice, which
    links their status page (``public_url``: the settings' ``OCOP_PUBLIC_URL``)."""
    producer = get_producer(conn, reg.producer_id)
    if reg.rules is not None and reg.rules not in states.RULE_VERSIONS:
        raise InvalidInput("unknown_rule_version", got=reg.rules,
                           rules_choices=list(states.RULE_VERSIONS))
    version = reg.rules or states.rule_version_for(local(now).date())
    group = _group(reg.group, version)
    text.clean(reg.subgroup, "subgroup")  # refused if it carries control characters
    if not text.clean(reg.product, "product"):
        raise InvalidInput("product_name_missing")
    if actor.role not in (*REGISTRARS, "system"):  # the system: the importer of old dossiers
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_register_cases"),
                        roles=list(REGISTRARS))
    if reg.rules is not None and actor.role not in PINNING_ROLES:
        raise Forbidden("rules_pin_staff_only", role=actor.role,
                        roles=[r for r in REGISTRARS if r in PINNING_ROLES])
    day = local(now).date()
    where = {k: producer[k] for k in ("district", "commune", "district_code", "commune_code")}
    why = ended_reason(actor, day) or scope_reason(actor, {"producer_id": producer["id"], **where})
    if why:
        raise Forbidden("producer_out_of_scope", actor=actor.name,
                        action=clause("do_register_for"), producer=producer["name"], why=why)
    home = units.maybe(conn, producer["commune_code"])
    if home is not None and home.valid_from is not None and day < home.valid_from:
        # A backfill dated before the producer's unit existed (a 2025 commune in 2023).
        raise InvalidInput("producer_unit_not_yet", producer=producer["name"],
                           commune=producer["commune"] or "—", unit=home.key,
                           day=day.isoformat(), since=home.valid_from.isoformat())
    if home is None or not home.in_force(day):
        raise InvalidInput("producer_unit_not_current", producer=producer["name"],
                           commune=producer["commune"] or "—",
                           unit=producer["commune_code"] or "—")
    token = secrets.token_urlsafe(24)
    case_id = conn.execute(insert(cases).values(
        code=secrets.token_hex(8), producer_id=producer["id"], product=norm(reg.product),
        product_group=group, subgroup=norm(reg.subgroup) or None, **where, state="draft",
        version=1, rule_version=version,
        rules_pinned=reg.rules is not None, dossier={"documents": list(reg.documents)},
        status_token=token, audit_seq=0, audit_head=GENESIS,
        created_at=now, updated_at=now).returning(cases.c.id)).scalar_one()
    code = f"HN-{local(now).year}-{case_id:06d}"
    data = {"producer": producer["id"], "product": norm(reg.product), "group": group,
            "subgroup": reg.subgroup, "rules": version, "pinned": reg.rules is not None,
            "effects": {"set": {"product_group": group}}}
    history.append(conn, history.Chain.genesis(case_id, code), NAME_CASE,
                   {"case_code": code, "old_version": 1},
                   at=now, actor=actor.name, role=actor.role, trigger="register",
                   from_state=None, to_state="draft", reason=None, data=data,
                   rule_version=version)
    case = {"id": case_id, "code": code, "product": norm(reg.product),
            "producer_name": producer["name"], "producer_email": producer["email"],
            "producer_webhook": producer["webhook_url"], "producer_lang": producer["lang"],
            "status_token": token}
    conn.execute(insert(outbox_rows), outbox.status_messages(
        case, 1, "register", "", "draft", now, {"stars": None}, public_url=public_url))
    return code


def _group(group: str, version: str) -> str:
    key = normalise_group(group)
    lc = states.lifecycle(version)
    allowed = lc.groups
    if key is None or key not in allowed:
        if key is not None and key in lc.group_map:
            raise InvalidInput("group_renamed", got=group, version=version,
                               new_group=lc.group_map[key], group_choices=list(allowed))
        raise InvalidInput("unknown_group", got=group, version=version,
                           group_choices=list(allowed))
    return key


# --- producers' console passwords (set through an invitation, workflow/invitations.py) -------

PASSWORDS = PasswordHasher()  # argon2id, the library's RFC 9106 parameters


def password_hash(password: str) -> str:
    """The argon2id hash kept in ``users.password_hash`` (the password composed and trimmed,
    as :func:`password_matches` reads it)."""
    return PASSWORDS.hash(norm(password))


@cache
def _stand_in_hash() -> str:
    """A hash no password matches, checked when there is no hash to check, so a wrong name
    costs as long as a wrong password."""
    return PASSWORDS.hash(secrets.token_urlsafe(32))


def password_matches(stored: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored`` hashes; with nothing stored the same work
    is done against a stand-in, so the answer takes as long either way."""
    try:
        return PASSWORDS.verify(stored or _stand_in_hash(), norm(password)) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False
