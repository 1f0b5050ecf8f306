"""Scoring councils (DOMAIN.md §9), the one service ``ocop councils``, ``/api/v1/councils`` and
the console's councils page call: add one, list them, show one with the rounds it sat.

A council is made by staff for a unit within their reach — a commune officer for their commune,
a district officer for their district while it existed, a city officer for any unit of the
province, an administrator for any — and each one made is an entry of the admin log (who made
which council, with its members), so ``ocop audit verify`` covers it. Members are names as
people write them: composed (NFC), trimmed, and one person once however the name's letters were
typed (compared after :func:`workflow.domain.text.fold`, as the sheets are).
"""

from __future__ import annotations

import builtins
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from workflow import accounts, registry
from workflow.clock import local
from workflow.config import Settings
from workflow.domain.councils import LEVELS
from workflow.domain.facts import Actor
from workflow.domain.permissions import ended_reason
from workflow.domain.text import clean, fold
from workflow.domain.units import Unit
from workflow.errors import Forbidden, InvalidInput, NotFound, clause
from workflow.store import adminlog, units
from workflow.store import councils as store
from workflow.store.schema import users

MAKERS = ("commune_officer", "district_officer", "city_officer", "admin")
MAX_MEMBERS = 50
MAX_NAME = 120
FIRST_YEAR = 2018  # the OCOP programme's first year (Decision 490/QĐ-TTg, 7 May 2018)
# The unit level a council of each level sits for.
UNIT_LEVEL = {"commune": "commune", "district": "district", "city": "province"}
ACTION = "council_add"  # the admin log's action


def acting(conn: Connection, name: str | None) -> Actor:
    """Who runs an ``ocop councils`` command: the named staff user (``--as``), or else the
    operator at the machine (an administrator, logged as ``cli``)."""
    if name is None:
        return accounts.OPERATOR
    actor = registry.actor_named(conn, name)
    row = conn.execute(registry.user_query().where(users.c.name == name)).first()
    if row is not None and row.disabled_at is not None:
        raise Forbidden("account_disabled_may_not_act", user=name)
    return actor


def add(conn: Connection, now: datetime, actor: Actor, level: str, unit: str, year: int,
        members: builtins.list[str], *, settings: Settings | None = None) -> dict[str, Any]:
    """Make a council of ``level`` for ``unit`` (a key, a code or a name) in ``year`` with
    ``members``; the council as :func:`show` gives it."""
    settings = settings or Settings()
    if actor.role not in MAKERS:
        raise Forbidden("role_may_not_do", role=actor.role, action=clause("do_add_council"),
                        roles=builtins.list(MAKERS))
    if level not in LEVELS:
        raise InvalidInput("council_level_unknown", got=level, levels=builtins.list(LEVELS))
    today = local(now).date()
    if not FIRST_YEAR <= year <= today.year + 1:
        raise InvalidInput("council_year_invalid", got=year, first=FIRST_YEAR,
                           last=today.year + 1)
    place = where(conn, unit, (UNIT_LEVEL[level],), min(date(year, 12, 31), today))
    if level != "city":  # a province keeps its code across 2025 (old:01 and 01 are one)
        _in_year(place, year)
    _in_reach(actor, level, place, today, settings.province)
    names = _members(members, settings.quorum_for(level))
    key = place.province_key if level == "city" else place.key
    council_id = store.add(conn, now, actor.name, level, key, year, names)
    adminlog.record(conn, now, actor.name, ACTION, f"council:{council_id}", {
        "level": level, "unit": key, "year": year, "members": names})
    return show(conn, council_id)


def where(conn: Connection, unit: str, levels: tuple[str, ...], on: date | None = None
          ) -> Unit:
    """The unit ``unit`` names (a key, a code or a name) at one of ``levels``: a province's
    name means the province in either era (its councils keep the province's code); a name two
    eras share ("Bình Minh") means the unit in force ``on`` (the council's year's latest day
    so far), when that is one."""
    if "province" in levels:
        found = units.find(conn, unit, ("province",))
        if found and len({u.province_key for u in found}) == 1:
            return units.get(conn, found[0].province_key)
    if on is not None and units.maybe(conn, unit.strip()) is None:
        current = [u for u in units.find(conn, unit, levels) if u.in_force(on)]
        if len(current) == 1:
            return current[0]
    return units.named(conn, unit, levels, "unit")


def _in_year(place: Unit, year: int) -> None:
    """A unit sits on a council only in a year it existed (a district until 2025)."""
    if not (place.in_force(date(year, 12, 31)) or place.in_force(date(year, 1, 1))):
        raise InvalidInput("council_unit_not_in_year", unit=place.label, year=year,
                           since=place.valid_from or "—", until=place.valid_to or "—")


def _in_reach(actor: Actor, level: str, place: Unit, today: date, province: str) -> None:
    role = actor.role
    if role == "admin":
        return
    if role == "city_officer":
        if place.province_key != province:
            raise Forbidden("council_out_of_scope", actor=actor.name, unit=place.label,
                            own=clause("scope_council_reach_city",
                                       province=province))
        return
    ended = ended_reason(actor, today)
    if ended is not None:
        raise Forbidden("council_unit_ended", actor=actor.name, why=ended)
    unit = actor.unit or "—"
    own, reach = (("commune", clause("scope_council_reach_commune", unit=unit))
                  if role == "commune_officer" else
                  ("district", clause("scope_council_reach_district", unit=unit)))
    if level != own or place.key != actor.unit:
        raise Forbidden("council_out_of_scope", actor=actor.name, unit=place.label, own=reach)


def _members(given: builtins.list[str], quorum: int) -> builtins.list[str]:
    """The members' names composed and trimmed, blanks dropped; refused when there are none,
    fewer than the level's quorum, more than :data:`MAX_MEMBERS`, a name too long, or one
    person twice."""
    names: builtins.list[str] = []
    seen: dict[str, str] = {}
    for raw in given:
        name = clean(raw, "member")
        if not name:
            continue
        if len(name) > MAX_NAME:
            raise InvalidInput("council_member_too_long", member=name[:40] + "…",
                               maximum=MAX_NAME)
        if fold(name) in seen:
            raise InvalidInput("council_member_twice", member=name, first=seen[fold(name)])
        seen[fold(name)] = name
        names.append(name)
    if not names:
        raise InvalidInput("council_no_members")
    if len(names) > MAX_MEMBERS:
        raise InvalidInput("council_too_many_members", count=len(names), maximum=MAX_MEMBERS)
    if len(names) < quorum:
        raise InvalidInput("council_too_few_members", count=len(names), minimum=quorum)
    return names


def list(conn: Connection, level: str | None = None, unit: str | None = None,
         year: int | None = None) -> builtins.list[dict[str, Any]]:
    """Councils, the newest year first: of ``level``, for ``unit`` (a key, a code or a
    name), of ``year``."""
    if level is not None and level not in LEVELS:
        raise InvalidInput("council_level_unknown", got=level, levels=builtins.list(LEVELS))
    keys = None
    if unit:
        levels = (UNIT_LEVEL[level],) if level else ("commune", "district", "province")
        place = where(conn, unit, levels)
        keys = [place.key, place.province_key] if place.level == "province" else [place.key]
    return [view(conn, row) for row in store.listing(conn, level, keys, year)]


def show(conn: Connection, council_id: int) -> dict[str, Any]:
    """One council with its rounds: every sheet handed in under it (case, score level,
    member, total, who entered it, when)."""
    row = store.get(conn, council_id)
    if row is None:
        raise NotFound("council_unknown", got=council_id)
    rounds = [{"case": r["code"], "level": r["level"], "member": r["member"],
               "total": r["total"], "entered_by": r["entered_by"],
               "recorded_at": r["recorded_at"].isoformat(), "seq": r["audit_seq"]}
              for r in store.rounds(conn, council_id)]
    return {**view(conn, row), "rounds": rounds}


def view(conn: Connection, row: dict[str, Any]) -> dict[str, Any]:
    """A council as the CLI's ``--json`` and the API give it."""
    unit = units.maybe(conn, row["unit_code"])
    return {"id": row["id"], "level": row["level"],
            "unit": {"key": row["unit_code"], "name": unit.name if unit else None},
            "year": row["year"], "members": builtins.list(row["members"]),
            "created_by": row["created_by"], "created_at": row["created_at"].isoformat()}
