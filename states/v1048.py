"""Decision 1048/QĐ-TTg (until 2023-02-23): district scores, the city certifies 3★ and 4★."""

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
from states.documents import KINDS_1048, REQUIRED_1048
from states.groups import GROUPS_1048
from states.model import (
    CENTRAL_REVIEW,
    CERTIFIED,
    CITY_OFFICER,
    CITY_RATING,
    DISTRICT_OFFICER,
    DISTRICT_REVIEW,
    DRAFT,
    EXPIRED,
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

REVIEW_STATES = (DISTRICT_REVIEW, CITY_RATING)

LIFECYCLE = Lifecycle(
    version="1048",
    title="Decision 1048/QĐ-TTg (2019)",
    states=(DRAFT, REGISTERED, DISTRICT_REVIEW, NEEDS_COMPLETION, CITY_RATING, CENTRAL_REVIEW,
            CERTIFIED, REEVALUATION, REJECTED, WITHDRAWN, EXPIRED, REVOKED),
    transitions=(
        *many("start_review", [REGISTERED, REEVALUATION], DISTRICT_REVIEW,
              roles(DISTRICT_OFFICER)),
        *completion_rows({DISTRICT_REVIEW: DISTRICT_OFFICER, CITY_RATING: CITY_OFFICER}),
        *district_score_rows(CITY_RATING, certifies=False),
        *city_score_rows(),
        Transition("record_central_result", CENTRAL_REVIEW, CERTIFIED, roles(CITY_OFFICER),
                   ("central_decision",)),
        *shared_rows(REVIEW_STATES),
    ),
    in_force_from=date(1, 1, 1),
    clocks={
        **SHARED_CLOCKS,
        DISTRICT_REVIEW: Clock("district_review", 30, True, "office"),
        CITY_RATING: Clock("city_rating", 45, True, "office"),
    },
    part_maxima=(35, 25, 40),
    city_levels={3: "city", 4: "city"},
    district_certifies=frozenset(),
    groups=GROUPS_1048,
    document_kinds=KINDS_1048,
    required_documents=REQUIRED_1048,
)
