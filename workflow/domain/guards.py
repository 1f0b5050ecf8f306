"""Guards by name. Each returns nothing or raises an error that explains itself."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import states
from states.model import PRESCORE_CRITERIA, REEVALUATION_REASONS, REVOCATION_REASONS
from states.schemas import MAX_COMPLETION_DAYS, MAX_DOCUMENTS
from workflow.clock import local
from workflow.config import Settings
from workflow.domain.facts import Facts
from workflow.domain.holders import HOLDER_RELATIONS, holder_key
from workflow.errors import GuardFailed, InvalidInput

# The vocabularies live with the lifecycle (``states``); named here too for the forms.
__all__ = ["GUARDS", "MAX_COMPLETION_DAYS", "MAX_DOCUMENTS", "NEEDS_INPUT", "PRESCORE_CRITERIA",
           "REEVALUATION_REASONS", "REVOCATION_REASONS", "Guard", "documents_given"]

Guard = Callable[[Facts], None]



def documents_given(f: Facts) -> list[str]:
    """The event's ``documents``: a list of document codes (strings), or refused as what it is."""
    given = f.data.get("documents", [])
    if (not isinstance(given, list) or len(given) > MAX_DOCUMENTS
            or not all(isinstance(d, str) and 0 < len(d) <= 80 for d in given)):
        raise InvalidInput("documents_not_codes", got=given, limit=MAX_DOCUMENTS)
    return given


def required_documents(settings: Settings, rule_version: str) -> tuple[str, ...]:
    """The document kinds ``submit``/``resubmit`` need uploaded: the setting's, else the rule
    version's catalogue (``states.documents``)."""
    if settings.required_documents is not None:
        return settings.required_documents
    return states.lifecycle(rule_version).required_documents


def dossier_complete(f: Facts) -> None:
    """Every required kind is *uploaded* (the engine loads the case's kinds); the document
    codes an event may still list are recorded in the dossier, but prove nothing."""
    documents_given(f)
    missing = [doc for doc in required_documents(f.settings, f.rule_version)
               if doc not in f.uploaded_kinds]
    if missing:
        raise GuardFailed("dossier_incomplete", case=f.code, documents=missing)


def reason_required(f: Facts) -> None:
    if not (f.event.reason or "").strip():
        raise GuardFailed("reason_missing", trigger=f.event.trigger, case=f.code)


def completion_days(f: Facts) -> None:
    days = f.data.get("days")
    if days is not None and (isinstance(days, bool) or not isinstance(days, int)
                             or not 1 <= days <= MAX_COMPLETION_DAYS):
        raise InvalidInput("completion_days_range", maximum=MAX_COMPLETION_DAYS, got=days)


def prescore_criteria(f: Facts) -> None:
    criteria = f.data.get("criteria")
    if not isinstance(criteria, dict) or set(criteria) != set(PRESCORE_CRITERIA) or not all(
            isinstance(v, bool) for v in criteria.values()):
        raise InvalidInput("prescore_criteria_shape", shape="{" + ", ".join(
            f'"{c}": true|false' for c in PRESCORE_CRITERIA) + "}")


def ip_certificate(f: Facts) -> None:
    fields = ("certificate_no", "holder", "registered_on")
    missing = [k for k in fields if not isinstance(f.data.get(k), str) or not f.data[k].strip()]
    if missing:
        raise InvalidInput("ip_fields_missing", fields=missing)
    try:
        registered = date.fromisoformat(f.data["registered_on"])
    except ValueError:
        raise InvalidInput("registered_on_invalid", got=f.data["registered_on"]) from None
    if registered > local(f.now).date():
        raise InvalidInput("registered_on_future", date=registered)
    _holder(f)


def _holder(f: Facts) -> None:
    """The holder is the producer after normalisation, or — with ``holder_relation`` and the
    licence or membership document — a licensor or collective-mark owner (DOMAIN.md §9)."""
    relation = f.data.get("holder_relation", "owner")
    if relation not in HOLDER_RELATIONS:
        raise InvalidInput("holder_relation_invalid", got=relation,
                           holder_relation_choices=list(HOLDER_RELATIONS))
    if relation != "owner":
        doc = f.data.get("holder_document")
        if not isinstance(doc, str) or not doc.strip():
            raise InvalidInput("holder_document_missing", relation=relation)
        return
    if holder_key(f.data["holder"]) != holder_key(f.case["producer_name"]):
        raise GuardFailed("ip_holder_mismatch", certificate=f.data["certificate_no"],
                          holder=f.data["holder"], producer=f.case["producer_name"],
                          alternative="record_no_ip")


def central_decision(f: Facts) -> None:
    if not isinstance(f.data.get("passed"), bool):
        raise InvalidInput("central_passed_missing")
    if not isinstance(f.data.get("decision_no"), str) or not f.data["decision_no"].strip():
        raise InvalidInput("central_decision_missing")


def reevaluation_reason(f: Facts) -> None:
    reason = f.data.get("reason")
    if reason not in REEVALUATION_REASONS:
        raise InvalidInput("reevaluation_reason_invalid", got=reason,
                           reevaluation_reason_choices=REEVALUATION_REASONS)
    if f.event.actor.role == "producer" and reason != "upgrade":
        raise GuardFailed("producer_reevaluation_upgrade_only", case=f.code, reason=reason)


def certificate_past_validity(f: Facts) -> None:
    cert = f.certificate
    if cert is not None and cert["valid_to"] >= local(f.now).date():
        raise GuardFailed("certificate_still_valid", number=cert["number"], case=f.code,
                          valid_to=cert["valid_to"])


def holds_valid_certificate(f: Facts) -> None:
    if f.certificate is None:
        raise GuardFailed("no_valid_certificate", case=f.code, trigger=f.event.trigger)


def revocation_reason(f: Facts) -> None:
    code = f.data.get("reason_code")
    if code not in REVOCATION_REASONS:
        raise InvalidInput("revocation_reason_invalid", got=code,
                           revocation_reason_choices=REVOCATION_REASONS)


def withdrawal_allowed(f: Facts) -> None:
    if f.event.actor.role != "system":
        return
    due = [d for d in f.open_deadlines if d["kind"] == "completion"]
    if f.state != "needs_completion" or not due or due[0]["due_at"] > f.now:
        raise GuardFailed("withdrawal_not_due", case=f.code)


def pending_certificate(f: Facts) -> None:
    """The case holds a certificate waiting for its decision (the one the event names, if it
    names one)."""
    cert = f.pending
    if cert is None:
        raise GuardFailed("no_pending_certificate", case=f.code)
    named = f.data.get("certificate")
    if named and named != cert["number"]:
        raise GuardFailed("pending_certificate_other", case=f.code, got=named,
                          number=cert["number"])


def decision_date(f: Facts, raw: Any, scored_on: date) -> date:
    """A decision's date: ISO 8601, not in the future, never before the council scored (it
    may precede the day it is entered)."""
    try:
        day = date.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        day = None
    if day is None:
        raise InvalidInput("decision_date_invalid", got=raw)
    if day > local(f.now).date():
        raise InvalidInput("decision_date_future", date=day)
    if day < scored_on:
        raise InvalidInput("decision_before_score", date=day, scored_on=scored_on)
    return day


def decision_valid(f: Facts) -> None:
    """``record_decision``'s number, date and body (the date checked against the day the
    pending certificate's council scored)."""
    for key in ("number", "body"):
        if not isinstance(f.data.get(key), str) or not f.data[key].strip():
            raise InvalidInput("decision_fields_missing", fields=["number", "date", "body"])
    scored_on = f.pending["issued_on"] if f.pending else local(f.now).date()
    decision_date(f, f.data.get("date"), scored_on)


def escalation_data(f: Facts) -> None:
    if not isinstance(f.data.get("deadline"), str) or not isinstance(f.data.get("level"), int):
        raise InvalidInput("escalation_data_invalid")


GUARDS: dict[str, Guard] = {
    fn.__name__: fn for fn in (
        dossier_complete, reason_required, completion_days, prescore_criteria,
        ip_certificate, central_decision, reevaluation_reason, certificate_past_validity,
        revocation_reason, withdrawal_allowed, escalation_data, holds_valid_certificate,
        pending_certificate, decision_valid,
    )
}


# Guards that read the event's data (documents, reasons, scores, the trademark certificate):
# the "what may I do" dry run has none, so when one of these fails there the act is open but
# needs input; every other guard reads the case and refuses in the dry run as in the event.
NEEDS_INPUT = frozenset({
    "decision_valid", "reason_required", "completion_days", "prescore_criteria",
    "ip_certificate", "central_decision", "reevaluation_reason", "revocation_reason",
    "escalation_data",
})
