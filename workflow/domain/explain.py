"""Why the engine decided what it did, as a code with parameters recorded in the audit entry's
data (``"explain": {"code": "ip_cap_3", "score": 82.5, ...}``) and rendered in the reader's
language from the catalogue's ``explain`` kind.

:func:`annotate` runs when the engine settles an event (``effects.settle``); :func:`sentence` turns
a recorded entry back into one sentence.
"""

from __future__ import annotations

from typing import Any

from states.model import CENTRAL_REVIEW, CERTIFIED, CITY_RATING, IP_CHECK, REJECTED
from workflow.domain.facts import Facts
from workflow.domain.plan import Plan
from workflow.domain.scoring import stars_for
from workflow.i18n import label, text

# The triggers whose outcome the engine computes; only their entries carry an explanation.
EXPLAINED = ("record_district_score", "record_no_ip", "record_city_score",
             "record_central_result", "record_commune_prescore")


def annotate(facts: Facts, plan: Plan) -> None:
    """Record in ``plan.audit`` the reason code of the outcome ``plan`` holds, if it has one."""
    found = _why(facts, plan)
    if found is not None:
        code, params = found
        plan.audit["explain"] = {"code": code, **params}


def _why(f: Facts, p: Plan) -> tuple[str, dict[str, Any]] | None:
    trigger = f.event.trigger
    if trigger == "record_no_ip":
        return ("no_ip_district_3" if p.dest == CERTIFIED else "no_ip_cap_3",
                {"rules": f.rule_version})
    if trigger == "record_central_result":
        return ("central_passed" if f.data.get("passed") else "central_not_passed",
                {"decision_no": f.data.get("decision_no", "")})
    if trigger == "record_commune_prescore" and p.dest == REJECTED:
        return "prescore_unmet", {"criteria": list(p.audit.get("unmet", []))}
    if trigger in ("record_district_score", "record_city_score") and "score" in p.audit:
        return _scored(f, p)
    return None


def _scored(f: Facts, p: Plan) -> tuple[str, dict[str, Any]]:
    score = float(p.audit["score"])
    band = stars_for(score)
    base: dict[str, Any] = {"score": score, "rules": f.rule_version}
    if p.dest == REJECTED:
        if not p.mandatory_ok:
            return "rejected_mandatory", base
        if band < 3:
            return "rejected_below_50", base
        return "city_not_certify", {**base, "stars": band}
    if p.dest == IP_CHECK:
        return "potential_4", base
    if p.dest == CITY_RATING:
        return "district_to_city", base
    if p.dest == CENTRAL_REVIEW:
        return "potential_5", {**base, "threshold": f.settings.central_threshold}
    stars = int(p.updates.get("stars") or band)
    if stars < band:
        cap = f.case.get("star_cap")
        code = "ip_cap_3" if cap == 3 else "star_capped"
        return code, {**base, "stars": stars, "band": band}
    if f.event.trigger == "record_district_score":
        return "district_3", base
    if p.issue is not None and p.issue.level == "district":
        return "city_district_3", base
    return "city_certified", {**base, "stars": stars}


def number(value: Any, lang: str) -> str:
    """82.5 as ``82,5`` in Vietnamese and ``82.5`` in English; whole numbers without decimals."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    shown = f"{value:g}" if float(value).is_integer() else f"{value:.2f}".rstrip("0")
    return shown.replace(".", ",") if lang == "vi" else shown


def sentence(trigger: str, data: dict[str, Any] | None, lang: str) -> str | None:
    """The recorded explanation of an audit entry in ``lang``, or ``None`` when it has none."""
    if trigger not in EXPLAINED or not isinstance(data, dict):
        return None
    why = data.get("explain")
    if not isinstance(why, dict) or not isinstance(why.get("code"), str):
        return None
    params = {k: number(v, lang) for k, v in why.items() if k not in ("code", "criteria")}
    if isinstance(why.get("criteria"), list):
        params["criteria"] = ", ".join(label("criterion", str(c), lang) for c in why["criteria"])
    if "rules" in why:
        params["rules"] = label("rules", str(why["rules"]), lang)
    return text("explain", why["code"], lang, **params)


def latest(history: list[dict[str, Any]], lang: str) -> str | None:
    """The explanation of the newest entry that has one: why the case is where it is."""
    for entry in reversed(history):
        said = sentence(entry["trigger"], entry.get("data"), lang)
        if said:
            return said
    return None
