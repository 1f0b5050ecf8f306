"""The authorization matrix over HTTP: every role × every trigger × own or other scope.

Each trigger is fired at a case standing in a state the trigger leaves from, with data that
would pass its guards. Whoever the lifecycle table names, within their scope, succeeds; every
other caller gets 403 and the case, its audit trail and its outbox stay exactly as they were.
The clock is September 2025: a district stage is the district's successor's (the commune
officer's) too, and the district officers, whose districts ended on 2025-06-30, only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import func, select

import states
from tests.api_support import TestClient, bearer, client
from tests.support import DOCS, World, sim_sheets
from workflow.clock import local
from workflow.domain.permissions import CITY_WIDE, acting_roles
from workflow.store.schema import audit_entries, cases, outbox

IP_DATA = {"certificate_no": "VN-4-0123456", "holder": "HTX Tương Cự Đà",
           "registered_on": "2020-05-17"}
CRITERIA = {"criteria": {"origin": True, "local_labour": True, "idea": True,
                         "cultural_identity": True}}
Step = tuple[str, str, dict[str, Any], str | None]

# state -> the steps that bring a fresh case of producer1 there (1489 unless pinned to 148)
PATHS: dict[str, list[Step]] = {
    "draft": [],
    "registered": [("submit", "producer1", DOCS, None)],
}
PATHS["commune_prescore"] = [*PATHS["registered"], ("start_review", "commune1", {}, None)]
PATHS["needs_completion"] = [*PATHS["commune_prescore"],
                             ("request_completion", "commune1", {}, "label missing")]
PATHS["ip_check"] = [*PATHS["commune_prescore"],
                     ("record_commune_prescore", "commune1", CRITERIA, None)]
PATHS["city_rating"] = [*PATHS["ip_check"], ("verify_ip", "ip", IP_DATA, None)]
PATHS["central_review"] = [*PATHS["city_rating"],
                           ("record_city_score", "city", sim_sheets((38, 24, 33)), None)]
PATHS["certified"] = [*PATHS["city_rating"],
                      ("record_city_score", "city", sim_sheets((30, 20, 25)), None)]
PATHS["district_review"] = [*PATHS["registered"], ("start_review", "commune1", {}, None)]


@dataclass(frozen=True)
class Scenario:
    trigger: str
    state: str
    data: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    rules: str | None = None

    def __str__(self) -> str:
        return f"{self.trigger}@{self.state}{'/' + self.rules if self.rules else ''}"


SCENARIOS = [
    Scenario("submit", "draft", DOCS),
    Scenario("start_review", "registered"),
    Scenario("start_review", "district_review", rules="148"),  # see ``prepare``
    Scenario("request_completion", "commune_prescore", reason="label missing"),
    Scenario("resubmit", "needs_completion"),
    Scenario("record_commune_prescore", "commune_prescore", CRITERIA),
    Scenario("record_district_score", "district_review", sim_sheets((25, 15, 20)), rules="148"),
    Scenario("verify_ip", "ip_check", IP_DATA),
    Scenario("record_no_ip", "ip_check", reason="no trademark yet"),
    Scenario("record_city_score", "city_rating", sim_sheets((30, 20, 25))),
    Scenario("record_central_result", "central_review", {"passed": True, "decision_no": "1/QĐ"}),
    Scenario("open_reevaluation", "certified", {"reason": "upgrade"}),
    Scenario("expire", "certified"),
    Scenario("revoke", "certified", {"reason_code": "violation"}),
    Scenario("withdraw", "registered"),
    Scenario("escalate", "registered", {"deadline": "review_start", "level": 1}),
]

# role -> (the user acting within the case's scope, the user of the same role outside it)
CALLERS = {
    "producer": ("producer1", "producer2"),
    "commune_officer": ("commune1", "commune2"),
    "district_officer": ("district1", "district2"),
    "ip_officer": ("ip", "ip"),
    "city_officer": ("city", "city"),
    "supervisor": ("supervisor", "supervisor"),
    "admin": ("admin", "admin"),
}


def prepare(world: World, s: Scenario) -> str:
    """A fresh case of producer1 standing where the scenario fires."""
    code = world.register(rules=s.rules)
    path = PATHS[s.state]
    if s.trigger == "start_review" and s.rules == "148":
        path = PATHS["registered"]  # the district's start_review, from registered under 148
    for trigger, who, data, reason in path:
        world.fire(code, trigger, who, data, reason)
    return code


def footprint(world: World, code: str) -> tuple[Any, ...]:
    """Everything an applied event would change: state, version, audit and outbox counts."""
    with world.app.db.connect() as conn:
        case = conn.execute(select(cases).where(cases.c.code == code)).one()
        n_audit = conn.execute(select(func.count()).select_from(audit_entries)
                               .where(audit_entries.c.case_id == case.id)).scalar_one()
        n_out = conn.execute(select(func.count()).select_from(outbox)
                             .where(outbox.c.case_id == case.id)).scalar_one()
    return case.state, case.version, case.audit_head, n_audit, n_out


def alive(world: World, user: str) -> bool:
    """Whether ``user``'s unit still exists today (a district officer's ended 2025-06-30)."""
    ended = world.actors[user].unit_ended
    return ended is None or local(world.clock.now()).date() <= ended


def entitled(world: World, code: str, trigger: str, user: str, own: bool) -> bool:
    """What the lifecycle table says today: the user's role acts on the row (a district stage
    is the district's successor's too from 2025-07-01), in scope, and their unit exists."""
    with world.app.db.connect() as conn:
        case = conn.execute(select(cases).where(cases.c.code == code)).one()
    rows = states.lifecycle(case.rule_version).rows(trigger, case.state)
    role = world.actors[user].role
    roles = acting_roles(set().union(*(r.roles for r in rows)),
                         local(world.clock.now()).date(), world.app.settings.district_successor)
    return role in roles and (own or role in CITY_WIDE) and alive(world, user)


def post(api: TestClient, world: World, code: str, s: Scenario, user: str) -> Any:
    return api.post(f"/api/v1/cases/{code}/events", headers=bearer(world.tokens[user]),
                    json={"trigger": s.trigger, "data": s.data, "reason": s.reason})


@pytest.mark.parametrize("scenario", SCENARIOS, ids=str)
def test_only_the_roles_the_lifecycle_names_in_their_own_scope_change_a_case(
        world: World, scenario: Scenario) -> None:
    """Every role, inside and outside the case's scope, fires the trigger: the entitled ones
    succeed, every other call is a 403 (a producer's on another's case: the 404 of a case that
    does not exist) that leaves no trace on the case."""
    shared = prepare(world, scenario)
    succeeded = []
    with client(world.app) as api:
        for role, (own_user, other_user) in CALLERS.items():
            for own, user in ((True, own_user), (False, other_user)):
                if entitled(world, shared, scenario.trigger, user, own):
                    code = prepare(world, scenario)
                    r = post(api, world, code, scenario, user)
                    assert r.status_code == 200, f"{user} ({role}): {r.text}"
                    succeeded.append(user)
                    continue
                before = footprint(world, shared)
                r = post(api, world, shared, scenario, user)
                refused = 404 if role == "producer" and not own else 403
                assert r.status_code == refused, f"{user} ({role}) got {r.status_code}: {r.text}"
                assert footprint(world, shared) == before
    if scenario.trigger not in ("expire", "escalate"):  # only the system fires those
        assert succeeded, "nobody may fire this: the scenario is wrong, not the engine"


def test_registration_is_open_to_registrars_in_their_own_scope_only(world: World) -> None:
    """POST /cases for producer1's product: registrar roles in scope get 201, the rest 403
    (admin manages accounts and producers, not applications; the district officers' districts
    ended)."""
    registrars = {"producer", "commune_officer", "district_officer", "city_officer"}
    with client(world.app) as api:
        for role, (own_user, other_user) in CALLERS.items():
            for own, user in ((True, own_user), (False, other_user)):
                r = api.post("/api/v1/cases", headers=bearer(world.tokens[user]), json={
                    "producer": world.p1, "product": "Tương", "group": "food"})
                expected = 201 if (role in registrars and (own or role in CITY_WIDE)
                                   and alive(world, user)) else 403
                assert r.status_code == expected, f"{user} ({role}): {r.text}"

