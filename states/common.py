"""Rows every rule version shares; each version module adds its own review path."""

from __future__ import annotations

from collections.abc import Iterable

from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    CITY_OFFICER,
    CITY_RATING,
    COMMUNE_OFFICER,
    DISTRICT_OFFICER,
    DISTRICT_REVIEW,
    DRAFT,
    EXPIRED,
    NEEDS_COMPLETION,
    PRODUCER,
    REEVALUATION,
    REGISTERED,
    REJECTED,
    REVOKED,
    SYSTEM,
    WITHDRAWN,
    Clock,
    Transition,
)


def roles(*names: str) -> frozenset[str]:
    return frozenset(names)


def many(trigger: str, sources: Iterable[str], dest: str | None, who: frozenset[str],
         guards: tuple[str, ...] = ()) -> list[Transition]:
    return [Transition(trigger, source, dest, who, guards) for source in sources]


def completion_rows(askers: dict[str, str]) -> list[Transition]:
    """``request_completion`` from each review state by its own officer, and the way back."""
    rows = [
        Transition("request_completion", state, NEEDS_COMPLETION, roles(role),
                   ("reason_required", "completion_days"))
        for state, role in askers.items()
    ]
    rows += [
        Transition("resubmit", NEEDS_COMPLETION, state, roles(PRODUCER), ("dossier_complete",),
                   conditions=("returns_to_asker",))
        for state in askers
    ]
    return rows


def district_score_rows(onward: str, certifies: bool) -> list[Transition]:
    """``record_district_score``: rejected, certified by the district (when ``certifies``), or
    on to ``onward`` — in this order, each row under its outcome predicate."""
    routes = [(REJECTED, "fails_review"), (CERTIFIED, "district_certifies_band"),
              (onward, "beyond_district")]
    return [Transition("record_district_score", DISTRICT_REVIEW, dest, roles(DISTRICT_OFFICER),
                       conditions=(name,))
            for dest, name in routes if certifies or dest != CERTIFIED]


def city_score_rows() -> list[Transition]:
    """``record_city_score``: rejected, certified at a level of the version's ``city_levels``,
    or on to central review — in this order, each row under its outcome predicate (they
    exclude one another, so exactly one holds)."""
    routes = [(REJECTED, "city_rejects"), (CERTIFIED, "city_certifies_band"),
              (CENTRAL_REVIEW, "central_candidate")]
    return [Transition("record_city_score", CITY_RATING, dest, roles(CITY_OFFICER),
                       conditions=(name,)) for dest, name in routes]


def shared_rows(review_states: Iterable[str]) -> list[Transition]:
    """Submission, re-evaluation, the ends of a case and the scheduler's escalations."""
    before_certification = [DRAFT, REGISTERED, *review_states, NEEDS_COMPLETION]
    # States a case may be in while it still holds a valid certificate (a re-evaluation under
    # way, or one that ended badly for an ``upgrade``), besides those ``expire`` leaves.
    holding = [*review_states, NEEDS_COMPLETION, CENTRAL_REVIEW, REJECTED, WITHDRAWN]
    return [
        Transition("submit", DRAFT, REGISTERED, roles(PRODUCER, COMMUNE_OFFICER),
                   ("dossier_complete",)),
        Transition("open_reevaluation", CERTIFIED, REEVALUATION,
                   roles(CITY_OFFICER, PRODUCER, SYSTEM), ("reevaluation_reason",)),
        *many("expire", [CERTIFIED, REEVALUATION], EXPIRED, roles(SYSTEM),
              ("certificate_past_validity",)),
        # The certificate ends at its date while the case is elsewhere: audited, not moved.
        # … or while it is certified with its next certificate pending its decision (§9).
        *many("expire_certificate", [CERTIFIED, *holding], None, roles(SYSTEM),
              ("holds_valid_certificate", "certificate_past_validity")),
        *many("revoke", [CERTIFIED, REEVALUATION, *holding], REVOKED, roles(CITY_OFFICER),
              ("revocation_reason", "holds_valid_certificate")),
        *many("withdraw", before_certification, WITHDRAWN, roles(PRODUCER, SYSTEM),
              ("withdrawal_allowed",)),
        *many("escalate", [REGISTERED, *review_states, CENTRAL_REVIEW, REEVALUATION], None,
              roles(SYSTEM), ("escalation_data",)),
        # DOMAIN.md §9: a certificate is in force from its decision; one entered without it is
        # pending until the city office records the decision (its own, a district's or the
        # ministry's): the case is then certified, or in central review with its city 4★.
        *many("record_decision", [CERTIFIED, CENTRAL_REVIEW], None, roles(CITY_OFFICER),
              ("pending_certificate", "decision_valid")),
    ]


SHARED_CLOCKS = {
    REGISTERED: Clock("review_start", 10, True, "office"),
    CENTRAL_REVIEW: Clock("central_review", 120, False, "office"),
    NEEDS_COMPLETION: Clock("completion", 30, False, "producer"),
    # DOMAIN.md §9: a re-evaluation is started within 30 working days, escalated like the rest.
    REEVALUATION: Clock("reevaluation", 30, True, "office"),
}
