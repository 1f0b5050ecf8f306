"""Decision 1489/QĐ-TTg (from 2025-07-06): commune pre-scores, the city certifies 3★ and 4★."""

from __future__ import annotations

from datetime import date

from states.common import (
    SHARED_CLOCKS,
    city_score_rows,
    completion_rows,
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
    COMMUNE_OFFICER,
    COMMUNE_PRESCORE,
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

REVIEW_STATES = (COMMUNE_PRESCORE, IP_CHECK, CITY_RATING)

LIFECYCLE = Lifecycle(
    version="1489",
    title="Decision 1489/QĐ-TTg (2025)",
    states=(DRAFT, REGISTERED, COMMUNE_PRESCORE, NEEDS_COMPLETION, IP_CHECK, CITY_RATING,
            CENTRAL_REVIEW, CERTIFIED, REEVALUATION, REJECTED, WITHDRAWN, EXPIRED, REVOKED),
    transitions=(
        *many("start_review", [REGISTERED, REEVALUATION], COMMUNE_PRESCORE,
              roles(COMMUNE_OFFICER)),
        *completion_rows({COMMUNE_PRESCORE: COMMUNE_OFFICER, IP_CHECK: IP_OFFICER,
                          CITY_RATING: CITY_OFFICER}),
        # §9: a criterion not met is recorded and ends the case rejected, the criteria named.
        *(Transition("record_commune_prescore", COMMUNE_PRESCORE, dest, roles(COMMUNE_OFFICER),
                     ("prescore_criteria",), (name,))
          for dest, name in ((REJECTED, "prescore_unmet"), (IP_CHECK, "prescore_met"))),
        Transition("verify_ip", IP_CHECK, CITY_RATING, roles(IP_OFFICER), ("ip_certificate",)),
        Transition("record_no_ip", IP_CHECK, CITY_RATING, roles(IP_OFFICER), ("reason_required",)),
        *city_score_rows(),
        Transition("record_central_result", CENTRAL_REVIEW, CERTIFIED, roles(CITY_OFFICER),
                   ("central_decision",)),
        *shared_rows(REVIEW_STATES),
    ),
    in_force_from=date(2025, 7, 6),
    clocks={
        **SHARED_CLOCKS,
        COMMUNE_PRESCORE: Clock("commune_prescore", 15, True, "office"),
        IP_CHECK: Clock("ip_check", 15, True, "office"),
        CITY_RATING: Clock("city_rating", 45, True, "office"),
    },
    part_maxima=(40, 25, 35),
    city_levels={3: "city", 4: "city"},
    district_certifies=frozenset(),
    groups=GROUPS,
    group_map=MAP_1048_TO_148,
    document_kinds=KINDS_148,
    required_documents=REQUIRED_148,
)
