"""Guards by name. Each returns nothing or raises an error that explains itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from workflow.clock import local
from workflow.errors import GuardFailed, InvalidInput
from workflow.facts import Facts, norm

REEVALUATION_REASONS = ("expiry", "criteria_change", "upgrade", "inspection")
REVOCATION_REASONS = ("not_reassessed", "failed_mandatory", "violation")
PRESCORE_CRITERIA = ("origin", "local_labour", "idea", "cultural_identity")
MAX_COMPLETION_DAYS = 90

Guard = Callable[[Facts], None]


def dossier_complete(f: Facts) -> None:
    have = set(f.case["dossier"].get("documents", [])) | set(f.data.get("documents", []))
    missing = [doc for doc in f.settings.required_documents if doc not in have]
    if missing:
        raise GuardFailed(f"Case {f.code} cannot be submitted: the dossier lacks "
                          f"{', '.join(missing)}; add them with "
                          '--data \'{"documents": [...]}\'.')


def reason_required(f: Facts) -> None:
    if not (f.event.reason or "").strip():
        raise GuardFailed(f"{f.event.trigger} on case {f.code} needs a reason (--reason TEXT).")


def completion_days(f: Facts) -> None:
    days = f.data.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 1 <= days <= MAX_COMPLETION_DAYS):
        raise InvalidInput(f'"days" for request_completion must be a whole number from 1 to '
                           f"{MAX_COMPLETION_DAYS}; got {days!r}.")


def score_sheets(f: Facts) -> None:
    """Checked in effects (the sheets are parsed once there); listed for the lifecycle table."""


def prescore_criteria(f: Facts) -> None:
    criteria = f.data.get("criteria")
    if not isinstance(criteria, dict) or set(criteria) != set(PRESCORE_CRITERIA) or not all(
            isinstance(v, bool) for v in criteria.values()):
        raise InvalidInput('record_commune_prescore needs "criteria": {' + ", ".join(
            f'"{c}": true|false' for c in PRESCORE_CRITERIA) + "}.")
    unmet = [c for c in PRESCORE_CRITERIA if not criteria[c]]
    if unmet:
        raise GuardFailed(f"Case {f.code} does not meet the commune pre-score criteria "
                          f"{', '.join(unmet)}; request completion or let the producer withdraw.")


def ip_certificate(f: Facts) -> None:
    fields = ("certificate_no", "holder", "registered_on")
    missing = [k for k in fields if not isinstance(f.data.get(k), str) or not f.data[k].strip()]
    if missing:
        raise InvalidInput(f"verify_ip needs the trademark certificate's {', '.join(missing)} "
                           '(data {"certificate_no", "holder", "registered_on"}).')
    try:
        registered = date.fromisoformat(f.data["registered_on"])
    except ValueError:
        raise InvalidInput('"registered_on" must be a date such as 2021-05-17.') from None
    if registered > local(f.now).date():
        raise InvalidInput(f"The trademark registration date {registered} is in the future.")
    holder, producer = norm(f.data["holder"]).casefold(), norm(f.case["producer_name"]).casefold()
    if holder != producer:
        raise GuardFailed(f"Trademark certificate {f.data['certificate_no']} is held by "
                          f"{f.data['holder']!r}, not by the producer {f.case['producer_name']!r}; "
                          "the holder must be the producer (or record_no_ip).")


def central_decision(f: Facts) -> None:
    if not isinstance(f.data.get("passed"), bool):
        raise InvalidInput('record_central_result needs "passed": true or false.')
    if not isinstance(f.data.get("decision_no"), str) or not f.data["decision_no"].strip():
        raise InvalidInput('record_central_result needs the ministry\'s "decision_no".')


def reevaluation_reason(f: Facts) -> None:
    reason = f.data.get("reason")
    if reason not in REEVALUATION_REASONS:
        raise InvalidInput(f'open_reevaluation needs "reason" one of '
                           f"{', '.join(REEVALUATION_REASONS)}; got {reason!r}.")
    if f.event.actor.role == "producer" and reason != "upgrade":
        raise GuardFailed(f"A producer may open a re-evaluation of case {f.code} only to seek "
                          f"an upgrade (reason upgrade), not for {reason}.")


def certificate_past_validity(f: Facts) -> None:
    cert = f.certificate
    if cert is not None and cert["valid_to"] >= local(f.now).date():
        raise GuardFailed(f"Certificate {cert['number']} of case {f.code} is valid until "
                          f"{cert['valid_to']}; it cannot expire before then.")


def revocation_reason(f: Facts) -> None:
    code = f.data.get("reason_code")
    if code not in REVOCATION_REASONS:
        raise InvalidInput(f'revoke needs "reason_code" one of {", ".join(REVOCATION_REASONS)}; '
                           f"got {code!r}.")


def withdrawal_allowed(f: Facts) -> None:
    if f.event.actor.role != "system":
        return
    due = [d for d in f.open_deadlines if d["kind"] == "completion"]
    if f.state != "needs_completion" or not due or due[0]["due_at"] > f.now:
        raise GuardFailed(f"The system withdraws case {f.code} only when its completion "
                          "deadline has passed.")


def escalation_data(f: Facts) -> None:
    if not isinstance(f.data.get("deadline"), str) or not isinstance(f.data.get("level"), int):
        raise InvalidInput('escalate needs "deadline" (the clock) and "level" (1, 2, …).')


GUARDS: dict[str, Guard] = {
    fn.__name__: fn for fn in (
        dossier_complete, reason_required, completion_days, score_sheets, prescore_criteria,
        ip_certificate, central_decision, reevaluation_reason, certificate_past_validity,
        revocation_reason, withdrawal_allowed, escalation_data,
    )
}


def run(names: tuple[str, ...], facts: Facts) -> None:
    for name in names:
        GUARDS[name](facts)
