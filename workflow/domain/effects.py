"""What each trigger does to a case besides moving it: scores, stars, caps, certificates.

``plan`` is pure: it reads the facts and returns a ``Plan``; the engine writes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import states
from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    IP_CHECK,
    REEVALUATION,
    REJECTED,
    TERMINAL_STATES,
    WITHDRAWN,
)
from workflow.domain import explain
from workflow.domain.facts import Facts
from workflow.domain.scoring import Sheet, capped, mean_score, parse_sheets, stars_for
from workflow.errors import GuardFailed


@dataclass(frozen=True)
class Issue:
    stars: int
    level: str  # district | city | central
    decision_no: str | None = None


@dataclass
class Plan:
    dest: str | None
    updates: dict[str, Any] = field(default_factory=dict)
    sheets: list[Sheet] = field(default_factory=list)
    sheet_level: str | None = None
    mandatory_ok: bool = True
    issue: Issue | None = None
    end_certificates: str | None = None  # expired | revoked
    audit: dict[str, Any] = field(default_factory=dict)


def plan(facts: Facts, single_dest: str | None) -> Plan:
    handler = HANDLERS.get(facts.event.trigger)
    if handler is None:
        decided = Plan(single_dest, audit=_echo(facts))
    else:
        decided = handler(facts)
        explain.annotate(facts, decided)  # why: a reason code the console renders in words
    _reevaluation_fate(facts, decided)
    if decided.issue is not None and facts.certificate is not None:  # audited, never silent
        decided.audit["certificate_superseded"] = facts.certificate["number"]
    return decided


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
    sheets, mandatory = parse_sheets(f.data, lc.part_maxima, f.settings.min_score_sheets,
                                     f.rule_version)
    score = mean_score(sheets)
    cap = f.case["star_cap"]
    stars = capped(stars_for(score), cap)
    p = Plan(None, updates={"score": score, "stars": stars}, sheets=sheets, sheet_level=level,
             mandatory_ok=mandatory)
    p.audit = {"score": score, "stars": stars, "mandatory_ok": mandatory,
               "sheets": [{"member": s.member, "a": s.a, "b": s.b, "c": s.c} for s in sheets]}
    if cap is not None:
        p.audit["star_cap"] = cap
    return p, score, stars


def _reject(p: Plan, why: str) -> Plan:
    """Rejected cases keep their score but have no stars (DOMAIN.md §9)."""
    p.dest = REJECTED
    p.updates["stars"] = None
    p.audit["stars"] = None
    p.audit["outcome"] = why
    return p


def _onward(f: Facts) -> str:
    """The destination of the event's row that neither rejects nor certifies."""
    rows = states.lifecycle(f.rule_version).rows(f.event.trigger, f.state)
    (dest,) = {r.dest for r in rows if r.dest not in (REJECTED, CERTIFIED)}
    return str(dest)


def start_review(f: Facts) -> Plan:
    lc = states.lifecycle(f.rule_version)
    (row,) = lc.rows("start_review", f.state)
    p = Plan(row.dest, updates={"score": None, "stars": None, "star_cap": None},
             audit={"rule_version": f.rule_version, "pinned": bool(f.case["rules_pinned"])})
    group = f.case["product_group"]
    if group not in lc.groups and group in lc.group_map:  # a 1048-era label, re-evaluated
        p.updates["product_group"] = lc.group_map[group]
        p.audit["group_mapped"] = {"from": group, "to": lc.group_map[group]}
    return p


def open_reevaluation(f: Facts) -> Plan:
    """The reason is kept until the re-evaluation ends; a rule-version pin is lifted, since
    the new evaluation follows the version in force on its own date (DOMAIN.md §2)."""
    p = Plan(REEVALUATION, updates={"reevaluation_reason": f.data["reason"]}, audit=_echo(f))
    if f.case["rules_pinned"]:
        p.updates["rules_pinned"] = False
        p.audit["pin_lifted"] = f.case["rule_version"]
    return p


def record_district_score(f: Facts) -> Plan:
    lc = states.lifecycle(f.rule_version)
    p, score, stars = _scored(f, "district")
    if not p.mandatory_ok:
        return _reject(p, "a mandatory criterion failed")
    if stars < 3:
        return _reject(p, f"score {score} is below 50")
    if stars in lc.district_certifies:
        p.dest, p.issue = CERTIFIED, Issue(stars, "district")
        return p
    p.dest = _onward(f)
    if p.dest == IP_CHECK:
        p.audit["outcome"] = "potential 4★: the trademark certificate is checked next"
    return p


def record_commune_prescore(f: Facts) -> Plan:
    criteria = f.data["criteria"]
    unmet = [c for c, met in criteria.items() if not met]
    p = Plan(_onward(f), audit={"criteria": criteria})
    if "sheets" in f.data:
        scored, score, _ = _scored(f, "commune")
        p.sheets, p.sheet_level, p.audit["prescore"] = scored.sheets, "commune", score
        p.mandatory_ok, p.updates["score"] = scored.mandatory_ok, score
    if unmet:
        _reject(p, "a pre-score criterion was not met")
        p.audit["unmet"] = unmet
    return p


def verify_ip(f: Facts) -> Plan:
    return Plan(_onward(f), updates={"star_cap": None}, audit=_echo(f))


def record_no_ip(f: Facts) -> Plan:
    lc = states.lifecycle(f.rule_version)
    (row,) = lc.rows("record_no_ip", f.state)
    if row.dest == CERTIFIED:
        return Plan(CERTIFIED, updates={"star_cap": 3, "stars": 3},
                    issue=Issue(3, lc.no_ip_level),
                    audit={"outcome": f"no trademark certificate: {lc.no_ip_level} 3★"})
    return Plan(row.dest, updates={"star_cap": 3},
                audit={"outcome": "no trademark certificate: at most 3★"})


def record_city_score(f: Facts) -> Plan:
    lc = states.lifecycle(f.rule_version)
    p, score, stars = _scored(f, "city")
    if not p.mandatory_ok:
        return _reject(p, "a mandatory criterion failed")
    if stars < 3:
        return _reject(p, f"score {score} is below 50")
    if score >= f.settings.central_threshold and f.case["star_cap"] is None:
        # Potential 5★ is not 5★: the case holds its city 4★ until the central result.
        p.dest, p.issue = CENTRAL_REVIEW, Issue(4, "city")
        p.updates["stars"] = p.audit["stars"] = 4
        p.audit["outcome"] = "potential 5★: city 4★ certificate while the ministry reviews"
        return p
    stars = min(stars, 4)
    level = lc.city_levels.get(stars)
    if level is None:
        return _reject(p, f"under rule version {f.rule_version} the city does not certify "
                          f"{stars}★")
    p.dest, p.issue = CERTIFIED, Issue(stars, level)
    p.updates["stars"] = stars
    if stars < stars_for(score):
        p.updates["star_cap"] = stars
    return p


def record_central_result(f: Facts) -> Plan:
    audit = {"passed": f.data["passed"], "decision_no": f.data["decision_no"]}
    if f.data["passed"]:
        return Plan(CERTIFIED, updates={"stars": 5},
                    issue=Issue(5, "central", f.data["decision_no"]), audit=audit)
    return Plan(CERTIFIED, updates={"stars": 4, "star_cap": 4}, audit=audit)


def request_completion(f: Facts) -> Plan:
    days = f.data.get("days")
    return Plan(states.model.NEEDS_COMPLETION, updates={"return_state": f.state},
                audit={"asked_by_state": f.state, **({"days": days} if days else {})})


def resubmit(f: Facts) -> Plan:
    back = f.case["return_state"]
    if back is None:
        raise GuardFailed("no_return_state", case=f.code)
    return Plan(back, updates={"return_state": None}, audit={"returns_to": back, **_echo(f)})


def submit(f: Facts) -> Plan:
    docs = list(dict.fromkeys([*f.case["dossier"].get("documents", []),
                               *f.data.get("documents", [])]))
    return Plan(states.model.REGISTERED,
                updates={"dossier": {**f.case["dossier"], "documents": docs}}, audit=_echo(f))


def expire(f: Facts) -> Plan:
    number = f.certificate["number"] if f.certificate else None
    return Plan(states.model.EXPIRED, end_certificates="expired",
                audit={**_echo(f), "certificate": number})


def revoke(f: Facts) -> Plan:
    number = f.certificate["number"] if f.certificate else None
    return Plan(states.model.REVOKED, end_certificates="revoked",
                audit={**_echo(f), "certificate": number})


def expire_certificate(f: Facts) -> Plan:
    """The certificate reached its date while the case is not in a state ``expire`` leaves:
    its status changes, audited on the case, and the case stays where it is."""
    number = f.certificate["number"] if f.certificate else None
    return Plan(None, end_certificates="expired", audit={"certificate": number})


HANDLERS: dict[str, Callable[[Facts], Plan]] = {
    fn.__name__: fn for fn in (
        start_review, record_district_score, record_commune_prescore, verify_ip, record_no_ip,
        record_city_score, record_central_result, request_completion, resubmit, submit, expire,
        revoke, expire_certificate, open_reevaluation,
    )
}
