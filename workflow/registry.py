"""Producers, users and tokens, and the registration that opens a case."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, update

import states
from states.groups import normalise_group
from states.model import PINNING_ROLES, ROLES
from workflow.clock import local
from workflow.domain import outbox
from workflow.domain.facts import Actor, norm
from workflow.domain.permissions import scope_reason
from workflow.errors import Forbidden, InvalidInput, NotFound, clause
from workflow.store import history
from workflow.store.audit import GENESIS
from workflow.store.schema import cases, producers, users
from workflow.store.schema import outbox as outbox_rows

KINDS = ("enterprise", "cooperative", "cooperative_group", "household")
LANGS = ("vi", "en")
REGISTRARS = ("producer", "commune_officer", "district_officer", "city_officer")
# A new case gets its code (from its id) with its first audit entry.
NAME_CASE = (update(cases)
             .where(cases.c.id == bindparam("case_id"), cases.c.version == bindparam("old_version"))
             .values(code=bindparam("case_code"), audit_seq=bindparam("seq"),
                     audit_head=bindparam("head")))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _choice(value: str, allowed: tuple[str, ...], code: str, choices: str) -> str:
    """``value`` if it is one of ``allowed``; else the error ``code`` with the allowed values as
    its parameter ``choices`` (a name :data:`workflow.errors.CHOICES` knows, or a plain one)."""
    if value not in allowed:
        raise InvalidInput(code, got=value, **{choices: list(allowed)})
    return value


def add_producer(conn: Connection, now: Any, name: str, kind: str, district: str,
                 commune: str | None = None, email: str | None = None,
                 webhook: str | None = None, lang: str = "vi") -> int:
    _choice(kind, KINDS, "unknown_producer_kind", "producer_kind_choices")
    _choice(lang, LANGS, "unknown_language", "langs")
    if not norm(name) or not norm(district):
        raise InvalidInput("producer_needs_name_district")
    if email is not None and "@" not in email:
        raise InvalidInput("email_invalid", got=email)
    if webhook is not None and not webhook.startswith(("http://", "https://")):
        raise InvalidInput("webhook_invalid", got=webhook)
    row = {"name": norm(name), "kind": kind, "district": norm(district),
           "commune": norm(commune) or None, "email": email, "webhook_url": webhook,
           "webhook_secret": secrets.token_hex(32), "lang": lang, "created_at": now}
    return int(conn.execute(insert(producers).values(**row).returning(producers.c.id))
               .scalar_one())


def get_producer(conn: Connection, producer_id: int) -> dict[str, Any]:
    row = conn.execute(select(producers).where(producers.c.id == producer_id)).first()
    if row is None:
        raise NotFound("producer_not_found", id=producer_id)
    return dict(row._mapping)


def add_user(conn: Connection, now: Any, name: str, role: str, district: str | None = None,
             commune: str | None = None, producer_id: int | None = None) -> str:
    """Create a user and return their API token (only its hash is stored)."""
    _choice(role, ROLES, "unknown_role", "role_choices")
    if role == "producer":
        if producer_id is None:
            raise InvalidInput("producer_user_needs_producer")
        get_producer(conn, producer_id)
    if role == "district_officer" and not norm(district):
        raise InvalidInput("district_officer_needs_district")
    if role == "commune_officer" and not norm(commune):
        raise InvalidInput("commune_officer_needs_commune")
    if conn.execute(select(users.c.id).where(users.c.name == name)).first():
        raise InvalidInput("user_exists", got=name)
    token = secrets.token_urlsafe(32)
    conn.execute(insert(users).values(
        name=name, role=role, district=norm(district) or None, commune=norm(commune) or None,
        producer_id=producer_id, token_hash=token_hash(token), created_at=now))
    return token


def actor_from_row(row: Any) -> Actor:
    return Actor(row.name, row.role, row.district, row.commune, row.producer_id)


def actor_named(conn: Connection, name: str) -> Actor:
    if name == "system":
        return Actor("system", "system")
    row = conn.execute(select(users).where(users.c.name == name)).first()
    if row is None:
        raise NotFound("user_not_found", got=name)
    return actor_from_row(row)


def actor_by_token(conn: Connection, token: str) -> Actor | None:
    row = conn.execute(select(users).where(users.c.token_hash == token_hash(token))).first()
    return actor_from_row(row) if row else None


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
    if not norm(reg.product):
        raise InvalidInput("product_name_missing")
    if actor.role not in (*REGISTRARS, "system"):  # the system: the importer of old dossiers
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_register_cases"),
                        roles=list(REGISTRARS))
    if reg.rules is not None and actor.role not in PINNING_ROLES:
        raise Forbidden("rules_pin_staff_only", role=actor.role,
                        roles=[r for r in REGISTRARS if r in PINNING_ROLES])
    probe = {"producer_id": producer["id"], "district": producer["district"],
             "commune": producer["commune"]}
    why = scope_reason(actor, probe)
    if why:
        raise Forbidden("producer_out_of_scope", actor=actor.name,
                        action=clause("do_register_for"), producer=producer["name"], why=why)
    token = secrets.token_urlsafe(24)
    case_id = conn.execute(insert(cases).values(
        code=secrets.token_hex(8), producer_id=producer["id"], product=norm(reg.product),
        product_group=group, subgroup=norm(reg.subgroup) or None, district=producer["district"],
        commune=producer["commune"], state="draft", version=1, rule_version=version,
        rules_pinned=reg.rules is not None, dossier={"documents": list(reg.documents)},
        status_token=token, audit_seq=0, audit_head=GENESIS,
        created_at=now, updated_at=now).returning(cases.c.id)).scalar_one()
    code = f"HN-{local(now).year}-{case_id:06d}"
    data = {"producer": producer["id"], "product": norm(reg.product), "group": group,
            "subgroup": reg.subgroup, "rules": version, "pinned": reg.rules is not None}
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
