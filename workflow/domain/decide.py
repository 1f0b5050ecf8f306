"""Every check an event must pass, and the outcome it leads to. Reads facts, writes nothing:
``WorkflowEngine.apply_in`` and the scheduler's batch both decide through here, and
``queries.allowed`` ("what may I do now") is the same decision as a dry run (:func:`dry_run`).

The destination always comes from the table: effects compute the plan (score, stars), the
version's shared machine fires the first row whose named outcome predicates hold for it, and
an event for which no row's conditions hold is an internal error (:class:`PlanOffTable`),
never a silent choice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

import states
from workflow.clock import local
from workflow.config import Settings
from workflow.domain import effects, eventdata, guards, machines
from workflow.domain.facts import Actor, Event, Facts
from workflow.domain.permissions import check_actor, refusal_hint
from workflow.errors import OcopError, WrongState, clause

CERT_STATES = ("certified", "reevaluation", "central_review")
# Guards that read the case's valid certificate, wherever the case is.
CERT_GUARDS = frozenset({"holds_valid_certificate", "certificate_past_validity"})
Loader = Callable[[], dict[str, Any] | None]
Rows = tuple[states.Transition, ...]


class PlanOffTable(AssertionError):
    """No row of the version's table has conditions that hold for the event: a bug in the
    table or its predicates, never the user's input."""


def facts_for(case: dict[str, Any], event: Event, now: datetime, settings: Settings,
              clocks: list[dict[str, Any]]) -> Facts:
    facts = Facts(case, event, now, settings, rule_version(case, event, now))
    facts.open_deadlines = clocks
    return facts


def rule_version(case: dict[str, Any], event: Event, now: datetime) -> str:
    """``start_review`` fixes the version from the evaluation date unless it was pinned."""
    if event.trigger == "start_review" and not case["rules_pinned"]:
        return states.rule_version_for(local(now).date())
    return str(case["rule_version"])


def screen(facts: Facts, certificate: Loader, dry_run: bool = False) -> tuple[Rows, list[str]]:
    """State, role, scope and guards; raises the refusal that explains itself. In a dry run a
    guard that reads the event's data (``guards.NEEDS_INPUT``) does not refuse: it is returned
    as input the act still needs. ``certificate`` loads the case's valid certificate, asked for
    only where one may be held or read."""
    lc = states.lifecycle(facts.rule_version)
    rows = lc.rows(facts.event.trigger, facts.state)
    if not rows:
        raise wrong_state(facts, lc)
    check_actor(facts, rows)
    if (facts.state in CERT_STATES or facts.case.get("reevaluation_reason")
            or CERT_GUARDS.intersection(rows[0].guards)):
        facts.certificate = certificate()
    needs: list[str] = []
    for name in rows[0].guards:
        try:
            guards.GUARDS[name](facts)
        except OcopError:
            if not (dry_run and name in guards.NEEDS_INPUT):
                raise
            needs.append(name)
    return rows, needs


def decide(facts: Facts, certificate: Loader) -> tuple[effects.Plan, str]:
    """The checks of :func:`screen`, the plan, the row the shared machine fires for it, and
    the plan settled for that row's destination; returns the plan and the state after.
    Between the guards (which name their own refusals) and the plan, the event's data is
    validated against its trigger's schema under the case's rule version: the effects, and
    so the audit entry, read only the validated data."""
    screen(facts, certificate)
    event = facts.event
    valid = eventdata.validate(event.data, event.trigger, facts.rule_version)
    if valid or event.data:
        facts.event = replace(event, data=valid)
    plan = effects.plan(facts)
    trigger = facts.event.trigger
    fired = machines.fire(facts.rule_version, facts.state, trigger, facts, plan)
    if fired is None:
        raise PlanOffTable(f"{trigger} from {facts.state}: no row of the {facts.rule_version} "
                           "table has conditions that hold")
    return effects.settle(facts, plan, fired.dest), fired.state


def wrong_state(f: Facts, lc: states.Lifecycle) -> WrongState:
    trigger, sources, now = f.event.trigger, lc.sources(f.event.trigger), refusal_hint(lc, f.state)
    if not sources:
        return WrongState("trigger_not_in_rules", case=f.code, state=f.state, trigger=trigger,
                          version=lc.version, now=now)
    return WrongState("wrong_state", case=f.code, state=f.state, trigger=trigger,
                      sources=list(sources), now=now)


def dry_run(case: dict[str, Any], actor: Actor, now: datetime, certificate: Loader,
            clocks: list[dict[str, Any]], settings: Settings,
            context: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Every trigger of the case's rule version (and of the version a floating start would
    follow) put through :func:`screen` with no event data: ``allowed``, the guards and the
    input still needed, or ``why_code``/``why_params`` of the refusal."""
    floating = rule_version(case, Event(case["code"], "start_review", actor), now)
    triggers = dict.fromkeys((*states.lifecycle(str(case["rule_version"])).triggers(),
                              *states.lifecycle(floating).triggers()))
    out = []
    for trigger in triggers:
        facts = facts_for(case, Event(case["code"], trigger, actor), now, settings, clocks)
        for key, value in (context or {}).items():  # uploaded kinds, the pending certificate
            setattr(facts, key, value)
        try:
            rows, needs = screen(facts, certificate, dry_run=True)
        except OcopError as error:
            why = why_not(error)
            out.append({"trigger": trigger, "allowed": False, "why_code": why["code"],
                        "why_params": why["params"]})
            continue
        out.append({"trigger": trigger, "allowed": True, "guards": list(rows[0].guards),
                    "needs_input": needs})
    return out


def why_not(error: OcopError) -> dict[str, Any]:
    """A refusal of :func:`screen` as the short clause the "what may I do" view shows."""
    p = error.params
    if isinstance(error, WrongState):
        return clause("hint_not_from_state", state=p["state"], sources=p.get("sources", []))
    if error.code == "role_may_not":
        return clause("hint_role_not_allowed", role=p["role"], roles=p["roles"])
    if error.code == "out_of_scope":
        return dict(p["why"])
    if error.code == "no_valid_certificate":
        return clause("hint_no_valid_certificate")
    return {"code": error.code, "params": p}
