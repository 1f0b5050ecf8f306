"""Decision 148/QĐ-TTg (2023-02-24 … 2025-07-05): district certifies 3★, IP guard for ≥4★."""

from __future__ import annotations

from datetime import date

from states.common import (
    SHARED_CLOCKS,
    city_score_rows,
    completion_rows,
    district_score_rows,
    many,
    roles,
    shared_rows,
)
from states.documents import KINDS_148, REQUIRED_148
from states.groups import GROUPS, MAP_1048_TO_148
from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    CITY_OFFICER,
    CITY_RATING,
    DISTRICT_OFFICER,
    DISTRICT_REVIEW,
    DRAFT,
    EXPIRED,
    IP_CHECK,
    IP_OFFICER,
    NEEDS_COMPLETION,
    REEVALUATION,
    REGISTERED,
    REJECTED,
    REVOKED,
    WITHDRAWN,
    Clock,
    Lifecycle,
    Transition,
)

REVIEW_STATES = (DISTRICT_REVIEW, IP_CHECK, CITY_RATING)

LIFECYCLE = Lifecycle(
    version="148",
    title="Decision 148/QĐ-TTg (2023)",
    states=(DRAFT, REGISTERED, DISTRICT_REVIEW, NEEDS_COMPLETION, IP_CHECK, CITY_RATING,
            CENTRAL_REVIEW, CERTIFIED, REEVALUATION, REJECTED, WITHDRAWN, EXPIRED, REVOKED),
    transitions=(
        *many("start_review", [REGISTERED, REEVALUATION], DISTRICT_REVIEW,
              roles(DISTRICT_OFFICER)),
        *completion_rows({DISTRICT_REVIEW: DISTRICT_OFFICER, IP_CHECK: IP_OFFICER,
                          CITY_RATING: CITY_OFFICER}),
        *district_score_rows(IP_CHECK, certifies=True),
        Transition("verify_ip", IP_CHECK, CITY_RATING, roles(IP_OFFICER), ("ip_certificate",)),
        Transition("record_no_ip", IP_CHECK, CERTIFIED, roles(IP_OFFICER), ("reason_required",)),
        *city_score_rows(),
        Transition("record_central_result", CENTRAL_REVIEW, CERTIFIED, roles(CITY_OFFICER),
                   ("central_decision",)),
        *shared_rows(REVIEW_STATES),
    ),
    in_force_from=date(2023, 2, 24),
    clocks={
        **SHARED_CLOCKS,
        DISTRICT_REVIEW: Clock("district_review", 30, True, "office"),
        IP_CHECK: Clock("ip_check", 15, True, "office"),
        CITY_RATING: Clock("city_rating", 45, True, "office"),
    },
    part_maxima=(40, 25, 35),
    # §2: the city certifies 4★; a potential-4★ product the city scores 50–<70 goes back for
    # a district 3★ (the official text was not confirmed: a setting, here).
    city_levels={3: "district", 4: "city"},
    district_certifies=frozenset({3}),
    no_ip_level="district",
    groups=GROUPS,
    group_map=MAP_1048_TO_148,
    document_kinds=KINDS_148,
    required_documents=REQUIRED_148,
)
