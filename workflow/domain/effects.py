"""What each trigger does to a case besides moving it: scores, stars, caps, certificates.

``plan`` and ``settle`` are pure: they read the facts and return a ``Plan``; the engine writes
it. Neither chooses the destination: the version's machine does, by the outcome predicates the
table's rows name (``outcomes``), between the two.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import states
from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    IP_CHECK,
    REJECTED,
    TERMINAL_STATES,
    WITHDRAWN,
)
from workflow.clock import local
from workflow.domain import councils, explain, guards
from workflow.domain.facts import Facts
from workflow.domain.plan import Issue, Plan, with_decision
from workflow.domain.scoring import capped, mean_score, parse_sheets, stars_for
from workflow.errors import GuardFailed, InvalidInput

__all__ = ["HANDLERS", "SETTLERS", "Issue", "Plan", "plan", "settle"]

# Triggers whose sheets are a council's: their ``scored_on`` is the day it scored.
SCORING = ("record_district_score", "record_city_score", "record_commune_prescore")


def plan(facts: Facts) -> Plan:
    """What the event does before its destination is known: scores, stars, caps, updates.
    The version's machine then picks the row (``outcomes``) and :func:`settle` finishes it."""
    handler = HANDLERS.get(facts.event.trigger)
    return Plan(audit=_echo(facts)) if handler is None else handler(facts)


def settle(facts: Facts, decided: Plan, dest: str | None) -> Plan:
    """``decided`` once the machine fired the row leading to ``dest`` (``None`` for an
    internal event): the certificate, the stars a rejection clears, the explanation."""
    decided.dest = dest
    trigger = facts.event.trigger
    if trigger in SETTLERS:
        SETTLERS[trigger](facts, decided)
    if trigger in HANDLERS:
        explain.annotate(facts, decided)  # why: a reason code the console renders in words
    _decision(facts, decided)
    _reevaluation_fate(facts, decided)
    if decided.issue is not None and facts.certificate is not None \
            and decided.issue.decision_date is not None:  # audited, never silent
        decided.audit["certificate_superseded"] = facts.certificate["number"]
    return decided


def _decision(f: Facts, p: Plan) -> None:
    """A certificate the event issues carries the decision that came with it (then it is in
    force from the decision's date), else it is pending. A decision given with an event that
    issues no certificate is refused: it would be lost."""
    decision = f.data.get("decision")
    if p.issue is None:
        if decision is not None:
            raise InvalidInput("decision_without_certificate", trigger=f.event.trigger,
                               state=p.dest or f.state)
        return
    day_scored = councils.scoring_day(f) if f.event.trigger in SCORING else local(f.now).date()
    day = None if decision is None else guards.decision_date(f, decision["date"], day_scored)
    p.issue = with_decision(p.issue, decision, day, day_scored)
    if day is None:
        p.audit["certificate_pending"] = True


def _echo(f: Facts) -> dict[str, Any]:
    return dict(f.data)


def _reevaluation_fate(f: Facts, p: Plan) -> None:
    """DOMAIN.md §9: a re-evaluation that ends rejected or withdrawn revokes the old
    certificate in the same transaction unless it was opened for an upgrade (the version's
    data says which reasons revoke); any end of the re-evaluation forgets its reason."""
    reason = f.case.get("reevaluation_reason")
    if reason is None or not (p.issue is not None or p.dest in TERMINAL_STATES):
        return
    p.updates["reevaluation_reason"] = None
    cert = f.certificate
    if p.dest not in (REJECTED, WITHDRAWN) or cert is None or p.end_certificates:
        return
    lc = states.lifecycle(f.rule_version)
    if reason in lc.revoke_on_failed_reevaluation:
        p.end_certificates = "revoked"
        p.audit["certificate_revoked"] = {"number": cert["number"], "reason": reason}
    else:
        p.audit["certificate_kept"] = {"number": cert["number"], "reason": reason,
                                       "valid_to": cert["valid_to"].isoformat()}


def _scored(f: Facts, level: str) -> tuple[Plan, float, int]:
    lc = states.lifecycle(f.rule_version)
    sheets, mandatory = parse_sheets(f.data, lc.part_maxima, f.settings.quorum_for(level),
                                     f.rule_version)
    councils.check(f, sheets, level)
    score = mean_score(sheets)
    cap = f.case["star_cap"]
    stars = capped(stars_for(score), cap)
    p = Plan(updates={"score": score, "stars": stars}, sheets=sheets, sheet_level=level,
             mandatory_ok=mandatory)
    p.audit = {"score": score, "stars": stars, "mandatory_ok": mandatory,
               "sheets": [{"member": s.member, "a": s.a, "b": s.b, "c": s.c} for s in sheets]}
    if f.council is not None:
        p.audit["council"] = f.council["id"]
    p.audit["scored_on"] = councils.scoring_day(f).isoformat()
    if cap is not None:
        p.audit["star_cap"] = cap
    return p, score, stars


def _reject(p: Plan, why: str) -> None:
    """Rejected cases keep their score but have no stars (DOMAIN.md §9)."""
    p.updates["stars"] = None
    p.audit["stars"] = None
    p.audit["outcome"] = why


def _why_rejected(f: Facts, p: Plan) -> str:
    if not p.mandatory_ok:
        return "a mandatory criterion failed"
    if stars_for(float(p.updates["score"])) < 3:
        return f"score {p.updates['score']} is below 50"
    return f"under rule version {f.rule_version} the city does not certify {p.updates['stars']}★"


def start_review(f: Facts) -> Plan:
    lc = states.lifecycle(f.rule_version)
    p = Plan(updates={"score": None, "stars": None, "star_cap": None},
             audit={"rule_version": f.rule_version, "pinned": bool(f.case["rules_pinned"])})
    group = f.case["product_group"]
    if group not in lc.groups and group in lc.group_map:  # a 1048-era label, re-evaluated
        p.updates["product_group"] = lc.group_map[group]
        p.audit["group_mapped"] = {"from": group, "to": lc.group_map[group]}
    return p


def open_reevaluation(f: Facts) -> Plan:
    """The reason is kept until the re-evaluation ends; a rule-version pin is lifted, since
    the new evaluation follows the version in force on its own date (DOMAIN.md §2)."""
    p = Plan(updates={"reevaluation_reason": f.data["reason"]}, audit=_echo(f))
    if f.case["rules_pinned"]:
        p.updates["rules_pinned"] = False
        p.audit["pin_lifted"] = f.case["rule_version"]
    return p


def record_district_score(f: Facts) -> Plan:
    return _scored(f, "district")[0]


def settle_district_score(f: Facts, p: Plan) -> None:
    if p.dest == REJECTED:
        _reject(p, _why_rejected(f, p))
    elif p.dest == CERTIFIED:
        p.issue = Issue(int(p.updates["stars"]), "district")
    elif p.dest == IP_CHECK:
        p.audit["outcome"] = "potential 4★: the trademark certificate is checked next"


def record_commune_prescore(f: Facts) -> Plan:
    criteria = f.data["criteria"]
    p = Plan(audit={"criteria": criteria})
    if "sheets" in f.data:
        scored, score, _ = _scored(f, "commune")
        p.sheets, p.sheet_level, p.audit["prescore"] = scored.sheets, "commune", score
        p.mandatory_ok, p.updates["score"] = scored.mandatory_ok, score
    return p


def settle_commune_prescore(f: Facts, p: Plan) -> None:
    if p.dest == REJECTED:
        _reject(p, "a pre-score criterion was not met")
        p.audit["unmet"] = [c for c, met in f.data["criteria"].items() if not met]


def verify_ip(f: Facts) -> Plan:
    return Plan(updates={"star_cap": None, "trademark_no": f.data["certificate_no"].strip()},
                audit=_echo(f))


def record_no_ip(f: Facts) -> Plan:
    return Plan(updates={"star_cap": 3, "trademark_no": None})


def settle_no_ip(f: Facts, p: Plan) -> None:
    """The table says whether no trademark certificate ends in a 3★ certificate here."""
    if p.dest == CERTIFIED:
        level = states.lifecycle(f.rule_version).no_ip_level
        p.updates["stars"], p.issue = 3, Issue(3, level)
        p.audit["outcome"] = f"no trademark certificate: {level} 3★"
    else:
        p.audit["outcome"] = "no trademark certificate: at most 3★"


def record_city_score(f: Facts) -> Plan:
    return _scored(f, "city")[0]


def settle_city_score(f: Facts, p: Plan) -> None:
    if p.dest == REJECTED:
        _reject(p, _why_rejected(f, p))
    elif p.dest == CENTRAL_REVIEW:
        # Potential 5★ is not 5★: the case holds its city 4★ until the central result.
        p.issue = Issue(4, "city")
        p.updates["stars"] = p.audit["stars"] = 4
        p.updates["potential_5"] = True
        p.audit["outcome"] = "potential 5★: city 4★ certificate while the ministry reviews"
    elif p.dest == CERTIFIED:
        stars = min(int(p.updates["stars"]), 4)
        p.issue = Issue(stars, states.lifecycle(f.rule_version).city_levels[stars])
        p.updates["stars"] = stars
        if stars < stars_for(float(p.updates["score"])):
            p.updates["star_cap"] = stars


def record_central_result(f: Facts) -> Plan:
    audit: dict[str, Any] = {"passed": f.data["passed"], "decision_no": f.data["decision_no"]}
    if f.data.get("decision") is not None:
        audit["decision"] = f.data["decision"]
    if f.data["passed"]:
        return Plan(updates={"stars": 5},
                    issue=Issue(5, "central", f.data["decision_no"]), audit=audit)
    return Plan(updates={"stars": 4, "star_cap": 4}, audit=audit)


def request_completion(f: Facts) -> Plan:
    days = f.data.get("days")
    return Plan(updates={"return_state": f.state},
                audit={"asked_by_state": f.state, **({"days": days} if days else {})})


def resubmit(f: Facts) -> Plan:
    back = f.case["return_state"]
    if back is None:
        raise GuardFailed("no_return_state", case=f.code)
    return Plan(updates={"return_state": None}, audit={"returns_to": back, **_echo(f)})


def submit(f: Facts) -> Plan:
    docs = list(dict.fromkeys([*f.case["dossier"].get("documents", []),
                               *f.data.get("documents", [])]))
    return Plan(updates={"dossier": {**f.case["dossier"], "documents": docs}}, audit=_echo(f))


def expire(f: Facts) -> Plan:
    number = f.certificate["number"] if f.certificate else None
    return Plan(end_certificates="expired",
                audit={**_echo(f), "certificate": number})


def revoke(f: Facts) -> Plan:
    number = f.certificate["number"] if f.certificate else None
    return Plan(end_certificates="revoked",
                audit={**_echo(f), "certificate": number})


def record_decision(f: Facts) -> Plan:
    """The pending certificate's decision: in force from the decision's date, for 36 months
    (the engine supersedes the certificate it replaces, if any)."""
    cert = f.pending
    assert cert is not None  # the guard ``pending_certificate`` holds
    day = guards.decision_date(f, f.data["date"], cert["issued_on"])
    decided = {"number": cert["number"], "decision_no": f.data["number"].strip(),
               "decision_date": day, "decision_body": f.data["body"].strip()}
    audit = {"certificate": cert["number"], "decision": {
        "number": decided["decision_no"], "date": day.isoformat(),
        "body": decided["decision_body"]}}
    return Plan(decide=decided, audit=audit)


def expire_certificate(f: Facts) -> Plan:
    """The certificate reached its date while the case is not in a state ``expire`` leaves:
    its status changes, audited on the case, and the case stays where it is."""
    number = f.certificate["number"] if f.certificate else None
    return Plan(end_certificates="expired", audit={"certificate": number})


HANDLERS: dict[str, Callable[[Facts], Plan]] = {
    fn.__name__: fn for fn in (
        start_review, record_district_score, record_commune_prescore, verify_ip, record_no_ip,
        record_city_score, record_central_result, request_completion, resubmit, submit, expire,
        revoke, expire_certificate, open_reevaluation, record_decision,
    )
}
# What a routed trigger does once the machine chose its row.
SETTLERS: dict[str, Callable[[Facts, Plan], None]] = {
    "record_district_score": settle_district_score,
    "record_commune_prescore": settle_commune_prescore,
    "record_no_ip": settle_no_ip,
    "record_city_score": settle_city_score,
}
