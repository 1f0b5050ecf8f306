"""A scoring event's council (DOMAIN.md §9): the sheets of a score are the named council's.

A council is a level (commune, district, city), a unit (its key, as a case keeps it), a year
and its members. A scoring event names one (``council``: its id); the engine loads it into
``Facts.council``, and :func:`check` refuses the sheets unless the council may give this score:
its level is the score's (after the districts ended on 2025-07-01, a district-stage score is
given by the district's successor, so the successor's council is the one that sits), its unit is
the case's, its year the year it scored, every sheet is one of its members', and enough of them
handed in a sheet (the level's quorum). Each refusal names what was wrong and what is allowed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from workflow.clock import local
from workflow.domain.facts import Facts
from workflow.domain.scoring import Sheet
from workflow.domain.text import fold
from workflow.domain.units import REORGANISED_ON
from workflow.errors import InvalidInput, clause

LEVELS = ("commune", "district", "city")
# The council level that sits for a district stage once the districts ended, by the settings'
# ``district_successor`` (the role that then acts there).
SUCCESSOR_LEVEL = {"commune_officer": "commune", "city_officer": "city"}


def check(f: Facts, sheets: list[Sheet], level: str) -> None:
    """Refuse the sheets of a scoring event at ``level`` unless its council allows them."""
    named = f.data.get("council")
    if named is None:
        if f.settings.council_required:
            raise InvalidInput("council_missing", case=f.code, level=level_words(level))
        return
    council = f.council
    if council is None:
        raise InvalidInput("council_not_found", council=named)
    day = scoring_day(f)
    sits = str(council["level"])
    allowed = council_level(f, level, day)
    if sits != allowed:
        raise InvalidInput("council_wrong_level", council=council["id"],
                           got=level_words(sits), level=level_words(level),
                           allowed=level_words(allowed))
    expected = unit_of(f, sits)
    if council["unit_code"] != expected["key"]:
        raise InvalidInput("council_wrong_unit", council=council["id"],
                           unit=f"[{council['unit_code']}]", case=f.code,
                           expected=f"{expected['name'] or '—'} [{expected['key'] or '—'}]")
    if int(council["year"]) != day.year:
        raise InvalidInput("council_wrong_year", council=council["id"], year=council["year"],
                           scored_on=day.isoformat(), scored_year=day.year)
    members = {fold(m): m for m in council["members"]}
    for sheet in sheets:
        if fold(sheet.member) not in members:
            raise InvalidInput("council_member_unknown", member=sheet.member,
                               council=council["id"], members=list(council["members"]))
    minimum = f.settings.quorum_for(sits)
    if len(sheets) < minimum:
        raise InvalidInput("council_below_quorum", council=council["id"], count=len(sheets),
                           level=level_words(sits), minimum=minimum)


def council_level(f: Facts, level: str, day: date) -> str:
    """The level of the council that gives a ``level`` score scored on ``day``: the score's
    own, except a district-stage score from 2025-07-01, which the successor's council gives."""
    if level == "district" and day >= REORGANISED_ON:
        return SUCCESSOR_LEVEL.get(f.settings.district_successor, "commune")
    return level


def unit_of(f: Facts, level: str) -> dict[str, Any]:
    """The key (and name shown) of the case's unit at ``level``: its commune, its district, or
    the office's province for the city council."""
    if level == "city":
        return {"key": f.settings.province, "name": None}
    return {"key": f.case.get(f"{level}_code"), "name": f.case.get(level)}


def scoring_day(f: Facts) -> date:
    """The day the council scored (``scored_on``, else the day the event is entered); a date
    that cannot be read or lies ahead is refused as the scoring itself refuses it."""
    today = local(f.now).date()
    raw = f.data.get("scored_on")
    if raw is None:
        return today
    try:
        day = date.fromisoformat(str(raw))
    except ValueError:
        raise InvalidInput("scored_on_invalid", got=raw) from None
    if day > today:
        raise InvalidInput("scored_on_future", date=day)
    return day


def level_words(level: str) -> dict[str, Any]:
    """A council level as a clause of the sentence it is in ("a commune-level council")."""
    if level == "city":
        return clause("scope_council_level_city")
    if level == "district":
        return clause("scope_council_level_district")
    return clause("scope_council_level_commune")
