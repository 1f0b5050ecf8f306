"""The vocabulary of the lifecycle: states, roles, transitions and deadlines as plain data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from typing import Any

DRAFT = "draft"
REGISTERED = "registered"
COMMUNE_PRESCORE = "commune_prescore"
DISTRICT_REVIEW = "district_review"
NEEDS_COMPLETION = "needs_completion"
IP_CHECK = "ip_check"
CITY_RATING = "city_rating"
CENTRAL_REVIEW = "central_review"
CERTIFIED = "certified"
REEVALUATION = "reevaluation"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"
EXPIRED = "expired"
REVOKED = "revoked"

TERMINAL_STATES = frozenset({REJECTED, WITHDRAWN, EXPIRED, REVOKED})

PRODUCER = "producer"
COMMUNE_OFFICER = "commune_officer"
DISTRICT_OFFICER = "district_officer"
IP_OFFICER = "ip_officer"
CITY_OFFICER = "city_officer"
SUPERVISOR = "supervisor"
ADMIN = "admin"
SYSTEM = "system"

# Acts a person may take on a case at almost any time (give up, revoke, re-open); they are
# never work waiting for someone, so the inbox's "my work" does not count them.
DISCRETIONARY_TRIGGERS = frozenset({"withdraw", "revoke", "open_reevaluation"})

# Roles that may pin a case to a rule version at registration (staff importing historic
# dossiers, and the importer acting as the system); never a producer (DOMAIN.md §2).
PINNING_ROLES = frozenset({"city_officer", "admin", "system"})

# The names a row's ``conditions`` may use; each is implemented once, as a small function of
# the facts and the computed score, in ``workflow.domain.outcomes``.
OUTCOME_PREDICATES = frozenset({
    "fails_review",            # a mandatory criterion failed, or the score is below 50
    "district_certifies_band",  # passed, and the district certifies the stars scored
    "beyond_district",         # passed, and the stars scored go on past the district
    "central_candidate",       # passed, at the central threshold, no star cap
    "city_certifies_band",     # passed, not a central candidate, the city certifies the stars
    "city_rejects",            # neither of the two above
    "prescore_unmet",          # a commune pre-score criterion was not met
    "prescore_met",            # every commune pre-score criterion was met
    "returns_to_asker",        # the row leads back to the state that asked for completion
})

# Why a re-evaluation may be opened, why a certificate may be revoked, and what a commune
# pre-score checks (DOMAIN.md §9): codes the event data carries (``states.schemas``).
REEVALUATION_REASONS = ("expiry", "criteria_change", "upgrade", "inspection")
REVOCATION_REASONS = ("not_reassessed", "failed_mandatory", "violation")
PRESCORE_CRITERIA = ("origin", "local_labour", "idea", "cultural_identity")

ROLES = (PRODUCER, COMMUNE_OFFICER, DISTRICT_OFFICER, IP_OFFICER, CITY_OFFICER, SUPERVISOR, ADMIN)
ALL_ROLES = (*ROLES, SYSTEM)


@dataclass(frozen=True)
class Transition:
    """One row of the lifecycle table.

    ``dest`` may be ``None`` for an internal event (an audited act that does not move the case).
    ``guards`` are names of checks that refuse the event with a sentence when they fail.
    ``conditions`` are names of outcome predicates (``OUTCOME_PREDICATES``): when one trigger
    has several rows from the same source, each carries its conditions and the version's shared
    machine fires the first row, in table order, whose conditions all hold.
    """

    trigger: str
    source: str
    dest: str | None
    roles: frozenset[str]
    guards: tuple[str, ...] = ()
    conditions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Clock:
    """A state's service clock: how long the office (or producer) has in it."""

    kind: str
    amount: int
    working_days: bool
    owner: str  # "office" or "producer"


@dataclass(frozen=True)
class Lifecycle:
    """A whole rule version: its states, transition table and clocks."""

    version: str
    title: str
    states: tuple[str, ...]
    transitions: tuple[Transition, ...]
    clocks: dict[str, Clock] = field(default_factory=dict)
    # The first day this version governs evaluations (the registry orders versions by it).
    in_force_from: date = date(1, 1, 1)
    part_maxima: tuple[int, int, int] = (40, 25, 35)
    # Stars a city score may end in (3★ and 4★; 5★ only through central review), and the
    # level whose certificate each gets: under 148 a city 3★ goes back for a district 3★.
    city_levels: Mapping[int, str] = field(default_factory=lambda: {3: "city", 4: "city"})
    # Stars the district certifies itself; a better district score goes on down the table.
    district_certifies: frozenset[int] = frozenset()
    # The level that certifies a product recorded with no trademark certificate, when the
    # table's ``record_no_ip`` row leads straight to ``certified``.
    no_ip_level: str = "city"
    # Product groups valid under this version, and how older labels read under it.
    groups: tuple[str, ...] = ()
    group_map: Mapping[str, str] = field(default_factory=dict)
    # Why a re-evaluation was opened → whether the old certificate is revoked in the same
    # transaction when the re-evaluation ends rejected or withdrawn (DOMAIN.md §9).
    revoke_on_failed_reevaluation: frozenset[str] = frozenset(
        {"expiry", "criteria_change", "inspection"})
    # The reasons ``open_reevaluation`` may give under this version.
    reevaluation_reasons: tuple[str, ...] = REEVALUATION_REASONS
    # The dossier's document kinds (``states.documents``) and those ``submit``/``resubmit``
    # need uploaded.
    document_kinds: tuple[str, ...] = ()
    required_documents: tuple[str, ...] = ()

    def schema(self, trigger: str) -> type[Any]:
        """The pydantic model of ``trigger``'s event data under this version (KeyError for a
        trigger that is not in the table or has no model)."""
        from states.schemas import for_lifecycle  # the schemas are built from the lifecycle

        return for_lifecycle(self)[trigger]

    def triggers(self) -> tuple[str, ...]:
        return tuple(self._rows_by[0])

    def rows(self, trigger: str, source: str | None = None) -> tuple[Transition, ...]:
        by_trigger, by_both = self._rows_by
        return by_trigger.get(trigger, ()) if source is None else by_both.get((trigger, source), ())

    @cached_property
    def _rows_by(self) -> tuple[dict[str, tuple[Transition, ...]],
                                dict[tuple[str, str], tuple[Transition, ...]]]:
        """The table's rows by trigger (in the table's order of first appearance) and by
        trigger and source, built once: the engine asks for them several times a transition."""
        by_trigger: dict[str, list[Transition]] = {}
        by_both: dict[tuple[str, str], list[Transition]] = {}
        for row in self.transitions:
            by_trigger.setdefault(row.trigger, []).append(row)
            by_both.setdefault((row.trigger, row.source), []).append(row)
        return ({k: tuple(v) for k, v in by_trigger.items()},
                {k: tuple(v) for k, v in by_both.items()})

    def is_routed(self, trigger: str, source: str) -> bool:
        return len(self.rows(trigger, source)) > 1

    def sources(self, trigger: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row.source for row in self.rows(trigger)))

    def triggers_from(self, state: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(row.trigger for row in self.transitions if row.source == state))
