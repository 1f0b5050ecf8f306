"""The console's inbox: "my work" — the cases on which a user has at least one allowed action that
moves the case on (withdraw, revoke and re-open, open almost always, do not count) —
as one SQL condition built from the lifecycle table, the user's role and scope.

It must agree with :func:`workflow.store.queries.allowed` (the engine's view, case by case): a case
is the user's work when its state is the source of a row of its rule version that names the
user's role (triggers only the system fires do not count) and the case is in the user's scope
(:func:`workflow.domain.permissions.scope_problem`). ``allowed`` also runs the guards, but every
guard of an act that counts as work reads the event's data (``guards.NEEDS_INPUT``): such an act
is open and "needs input", never refused, so the SQL need not repeat them. Two guards read the
case's own rows instead: ``record_decision`` is work only where the case holds a pending
certificate (an ``EXISTS`` here), and a draft whose required documents are not uploaded yet is
its producer's work all the same (uploading them is the work; ``allowed`` says what is missing).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, exists, false, not_, or_
from sqlalchemy.sql.elements import ColumnElement

import states
from states.model import DISCRETIONARY_TRIGGERS
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.domain.permissions import CITY_WIDE, acting_roles, ended_reason
from workflow.store.schema import cases, certificates

# States whose rule version is not fixed yet: ``allowed`` reads them under today's version.
FLOATING = ("registered", "reevaluation")
VIEWS = ("mine", "all", "overdue", "state")


def acting_states(lc: states.Lifecycle, role: str, on: date | None = None,
                  successor: str = "commune_officer") -> tuple[str, ...]:
    """The states of ``lc`` from which ``role`` may fire a trigger that moves the case on (a
    row naming the role: never a system-only one), not a discretionary one (withdraw, revoke,
    re-open are always open to someone). With ``on``, a district stage counts for the
    district's ``successor`` once the districts ended (:func:`acting_roles`)."""
    return tuple(sorted({
        r.source for r in lc.transitions
        if role in (r.roles if on is None else acting_roles(r.roles, on, successor))
        and r.trigger not in DISCRETIONARY_TRIGGERS and r.trigger != DECIDE}))


DECIDE = "record_decision"  # work where a certificate waits for its decision


def deciding(role: str) -> ColumnElement[bool]:
    """The case holds a pending certificate, in a state ``role`` records its decision from."""
    parts = [and_(cases.c.rule_version == v, cases.c.state.in_(sources))
             for v, lc in states.LIFECYCLES.items()
             if (sources := tuple(r.source for r in lc.rows(DECIDE) if role in r.roles))]
    if not parts:
        return false()
    pending = exists().where(certificates.c.case_id == cases.c.id,
                             certificates.c.status == "pending")
    return and_(or_(*parts), pending)


def has_work(role: str) -> bool:
    """Whether ``role`` can ever act on a case (supervisors and administrators only read)."""
    return role not in ("supervisor", "admin") and any(
        acting_states(lc, role) or any(role in r.roles for r in lc.rows(DECIDE))
        for lc in states.LIFECYCLES.values())


def in_scope(actor: Actor) -> ColumnElement[bool]:
    """The SQL twin of :func:`scope_problem` being ``None``."""
    if actor.role == "producer":
        return cases.c.producer_id == (actor.producer_id or 0)
    if actor.role == "commune_officer":
        return cases.c.commune_code == (actor.unit or "")
    if actor.role == "district_officer":
        return cases.c.district_code == (actor.unit or "")
    if actor.role in CITY_WIDE:
        return cases.c.id.is_not(None)
    return false()


def by_version(role: str, on: date, successor: str) -> ColumnElement[bool]:
    """The case's state is one ``role`` acts from under the case's own rule version."""
    parts = [and_(cases.c.rule_version == v, cases.c.state.in_(acting))
             for v, lc in states.LIFECYCLES.items()
             if (acting := acting_states(lc, role, on, successor))]
    return or_(false(), *parts)


def work_condition(actor: Actor, now: datetime,
                   successor: str = "commune_officer") -> ColumnElement[bool]:
    """Cases on which ``actor`` has an allowed action at ``now`` (``successor``: the settings'
    ``district_successor``)."""
    day = local(now).date()
    if not has_work(actor.role) or ended_reason(actor, day) is not None:
        return false()
    today = states.lifecycle(states.rule_version_for(day))
    floating = and_(not_(cases.c.rules_pinned), cases.c.state.in_(FLOATING))
    state_ok = or_(and_(not_(floating), by_version(actor.role, day, successor)),
                   and_(floating, cases.c.state.in_(
                       acting_states(today, actor.role, day, successor))))
    return and_(or_(state_ok, deciding(actor.role)), in_scope(actor))


def view_of(role: str, view: str | None, state: str | None) -> str:
    """The inbox view asked for; "my work" by default, "all" for roles that never act."""
    if view in VIEWS:
        return view
    if state:
        return "state"
    return "mine" if has_work(role) else "all"


def view_filters(view: str, state: str | None) -> dict[str, Any]:
    """The ``list_cases`` arguments a view means."""
    return {"state": state if view == "state" and state in states.ALL_STATES else None,
            "overdue": view == "overdue"}
