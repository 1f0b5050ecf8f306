"""Every check an event must pass, and the outcome it leads to. Reads facts, writes nothing:
``WorkflowEngine.apply_in`` and the scheduler's batch both decide through here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import states
from workflow import effects, guards, machines
from workflow.clock import local
from workflow.config import Settings
from workflow.errors import WrongState
from workflow.facts import Event, Facts
from workflow.permissions import check_actor, refusal_hint

CERT_STATES = ("certified", "reevaluation", "central_review")
# Guards that read the case's valid certificate, wherever the case is.
CERT_GUARDS = frozenset({"holds_valid_certificate", "certificate_past_validity"})


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


def decide(facts: Facts, certificate: Callable[[], dict[str, Any] | None]
           ) -> tuple[effects.Plan, str]:
    """State, role, scope and guards, then the plan and the destination the shared machine
    gives; raises the refusal that explains itself. ``certificate`` loads the case's valid
    certificate, asked for only in the states that hold one."""
    lc = states.lifecycle(facts.rule_version)
    trigger = facts.event.trigger
    rows = lc.rows(trigger, facts.state)
    if not rows:
        raise wrong_state(facts, lc)
    check_actor(facts, rows)
    if (facts.state in CERT_STATES or facts.case.get("reevaluation_reason")
            or CERT_GUARDS.intersection(rows[0].guards)):
        facts.certificate = certificate()
    guards.run(rows[0].guards, facts)
    plan = effects.plan(facts, rows[0].dest)
    dest = machines.fire(facts.rule_version, facts.state, trigger,
                         plan.dest if lc.is_routed(trigger, facts.state) else None)
    if dest is None:
        raise AssertionError(f"{trigger} from {facts.state} to {plan.dest} is not in the "
                             f"{facts.rule_version} table")
    return plan, dest


def wrong_state(f: Facts, lc: states.Lifecycle) -> WrongState:
    trigger, sources, now = f.event.trigger, lc.sources(f.event.trigger), refusal_hint(lc, f.state)
    if not sources:
        return WrongState("trigger_not_in_rules", case=f.code, state=f.state, trigger=trigger,
                          version=lc.version, now=now)
    return WrongState("wrong_state", case=f.code, state=f.state, trigger=trigger,
                      sources=list(sources), now=now)
