"""The case endpoints over HTTP: the CLI's shapes, scope on every read, events with
``Idempotency-Key`` and ``If-Match``, and errors as problem documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete

from tests.api_support import TestClient, bearer, client, in_district_review
from tests.support import BEFORE_2025, BINH_MINH, DOCS, HA_DONG, World, sim_sheets
from tests.unit.lifecycle_support import DISTRICT_STAGE
from workflow import registry
from workflow.domain.facts import Event
from workflow.store.db import write_transaction
from workflow.store.schema import users
from workflow.web.api.config import ApiConfig

PROBLEM = "application/problem+json"


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def as_(world: World, name: str) -> dict[str, str]:
    return bearer(world.tokens[name])


def fire(api: TestClient, world: World, code: str, who: str, trigger: str,
         data: dict[str, Any] | None = None, reason: str | None = None,
         **headers: str) -> Any:
    body = {"trigger": trigger, "data": data or {}, "reason": reason}
    return api.post(f"/api/v1/cases/{code}/events", json=body,
                    headers={**as_(world, who), **headers})



def test_registering_a_case_answers_201_with_the_case_in_the_cli_json_shape(
        api: TestClient, world: World) -> None:
    """POST /cases takes the CLI's option names and answers with the case and its location."""
    r = api.post("/api/v1/cases", headers=as_(world, "city"), json={
        "producer": world.p1, "product": "Tương Cự Đà", "group": "food", "rules": "148"})
    assert r.status_code == 201
    case = r.json()
    assert set(case) >= {"code", "state", "version", "rule_version", "producer", "product",
                         "group", "district", "commune", "score", "stars", "certificate",
                         "deadlines", "history"}
    assert (case["state"], case["rule_version"], case["commune"], case["commune_code"],
            case["district"], case["district_code"]) == ("draft", "148", "Xã Bình Minh",
                                                         BINH_MINH, None, None)
    assert r.headers["location"] == f"/api/v1/cases/{case['code']}"
    assert r.headers["etag"] == '"1"'


def test_a_producer_cannot_pin_a_rule_version(api: TestClient, world: World) -> None:
    """DOMAIN.md §2: only staff (city officer, admin) or an import pin a rule version; a
    producer asking for one is refused with 403, the code and a sentence, and nothing is
    written."""
    before = api.get("/api/v1/cases", headers=as_(world, "city")).json()["total"]
    r = api.post("/api/v1/cases", headers=as_(world, "producer1"), json={
        "producer": world.p1, "product": "Tương Cự Đà", "group": "food", "rules": "1048"})
    assert r.status_code == 403
    assert r.json()["code"] == "rules_pin_staff_only"
    assert api.get("/api/v1/cases", headers=as_(world, "city")).json()["total"] == before
    unpinned = api.post("/api/v1/cases", headers=as_(world, "producer1"), json={
        "producer": world.p1, "product": "Tương Cự Đà", "group": "food"})
    assert unpinned.status_code == 201 and unpinned.json()["rule_version"] == "1489"


def test_the_case_list_pages_with_the_total(api: TestClient, world: World) -> None:
    """GET /cases gives a page of ``limit`` with the ``total`` and the next offset."""
    for _ in range(3):
        world.register()
    total = api.get("/api/v1/cases", headers=as_(world, "city")).json()["total"]
    assert total >= 3
    page = api.get("/api/v1/cases?limit=2&offset=1", headers=as_(world, "city")).json()
    assert (len(page["items"]), page["total"], page["next_offset"]) == (
        2, total, 3 if total > 3 else None)


def test_a_producer_cannot_register_a_case_for_another_producer(
        api: TestClient, world: World) -> None:
    """Registration keeps to the caller's scope: 403 with a sentence naming why."""
    r = api.post("/api/v1/cases", headers=as_(world, "producer2"), json={
        "producer": world.p1, "product": "Tương", "group": "food"})
    assert r.status_code == 403
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["code"] == "producer_out_of_scope"
    assert "a producer acts only on their own cases" in body["detail"]


def test_advancing_a_case_returns_it_with_its_new_version_as_etag(
        api: TestClient, world: World) -> None:
    """A district score of 75 moves a 148 case to ip_check; the answer is the whole case."""
    code = in_district_review(world)
    r = fire(api, world, code, DISTRICT_STAGE, "record_district_score", sim_sheets((30, 20, 25)))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "ip_check" and r.json()["score"] == 75.0
    assert r.headers["etag"] == f'"{r.json()["version"]}"'
    assert r.json()["history"][-1]["trigger"] == "record_district_score"


def test_a_refused_event_is_a_422_problem_listing_what_the_caller_may_do_instead(
        api: TestClient, world: World) -> None:
    """Wrong state: the engine's sentence, and the triggers the caller may fire now."""
    code = in_district_review(world)
    r = fire(api, world, code, DISTRICT_STAGE, "submit", DOCS)
    assert r.status_code == 422
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["kind"] == "wrong_state" and body["code"] == "wrong_state"
    assert body["params"]["state"] == "district_review" and "District review" in body["detail"]
    assert set(body["allowed"]) == {"request_completion", "record_district_score"}


def test_a_score_over_its_parts_maximum_is_refused_with_the_maximum_named(
        api: TestClient, world: World) -> None:
    """Part A is scored to 40 under rule version 148: 45 is invalid input and changes nothing."""
    code = in_district_review(world)
    r = fire(api, world, code, DISTRICT_STAGE, "record_district_score", sim_sheets((45, 20, 25)))
    assert r.status_code == 422
    assert "from 0 to 40" in r.json()["detail"]
    assert api.get(f"/api/v1/cases/{code}", headers=as_(world, DISTRICT_STAGE)).json()[
        "state"] == "district_review"


def test_if_match_with_a_stale_version_is_412_and_changes_nothing(
        api: TestClient, world: World) -> None:
    """If-Match carries the version the caller decided on; a stale one is refused."""
    code = in_district_review(world)
    r = fire(api, world, code, DISTRICT_STAGE, "request_completion", reason="label missing",
             **{"If-Match": '"2"'})
    assert r.status_code == 412 and r.json()["kind"] == "precondition_failed"
    r = fire(api, world, code, DISTRICT_STAGE, "request_completion", reason="label missing",
             **{"If-Match": '"3"'})
    assert r.status_code == 200 and r.json()["state"] == "needs_completion"


def test_an_if_match_that_is_not_a_version_is_a_400(api: TestClient, world: World) -> None:
    """A header the server cannot read is a bad request, not a refusal."""
    code = in_district_review(world)
    r = fire(api, world, code, DISTRICT_STAGE, "request_completion", reason="x",
             **{"If-Match": "yesterday"})
    assert r.status_code == 400 and r.json()["kind"] == "malformed_request"


def test_the_same_idempotency_key_replays_the_first_result_without_a_second_change(
        api: TestClient, world: World) -> None:
    """A retried request answers as the first did, marked as a replay."""
    code = in_district_review(world)
    key = {"Idempotency-Key": "score-1"}
    first = fire(api, world, code, DISTRICT_STAGE, "record_district_score",
                 sim_sheets((30, 20, 25)), **key)
    again = fire(api, world, code, DISTRICT_STAGE, "record_district_score",
                 sim_sheets((30, 20, 25)), **key)
    assert again.status_code == 200 and again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    history = api.get(f"/api/v1/cases/{code}/history", headers=as_(world, DISTRICT_STAGE)).json()
    assert [h["trigger"] for h in history].count("record_district_score") == 1


def test_an_idempotency_key_reused_for_another_request_is_a_409(
        api: TestClient, world: World) -> None:
    """Same key, different body: a conflict, and the second request is not applied."""
    code = in_district_review(world)
    key = {"Idempotency-Key": "k"}
    fire(api, world, code, DISTRICT_STAGE, "record_district_score", sim_sheets((30, 20, 25)), **key)
    r = fire(api, world, code, DISTRICT_STAGE, "request_completion", reason="x", **key)
    assert r.status_code == 409 and r.json()["kind"] == "conflict"


def test_unknown_fields_in_a_body_are_rejected(api: TestClient, world: World) -> None:
    """Bodies are strict: a misspelt field is a 422 naming it, not silently ignored."""
    code = in_district_review(world)
    r = api.post(f"/api/v1/cases/{code}/events", headers=as_(world, DISTRICT_STAGE),
                 json={"trigger": "request_completion", "reasons": "typo"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "reasons"]


def test_a_body_that_is_not_json_is_a_400(api: TestClient, world: World) -> None:
    """Malformed JSON is a bad request with a problem document."""
    code = in_district_review(world)
    r = api.post(f"/api/v1/cases/{code}/events", content=b'{"trigger": ',
                 headers={**as_(world, DISTRICT_STAGE), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.headers["content-type"] == PROBLEM


def test_a_body_over_the_size_limit_is_a_413(world: World) -> None:
    """Bodies have a size limit; over it the request is refused before it is read."""
    code = in_district_review(world)
    with client(world.app, ApiConfig(max_body_bytes=1024)) as small:
        r = small.post(f"/api/v1/cases/{code}/events", headers=as_(world, DISTRICT_STAGE),
                       json={"trigger": "request_completion", "reason": "x" * 2000})
    assert r.status_code == 413 and r.json()["kind"] == "body_too_large"


def test_a_missing_or_unknown_token_is_a_401_that_asks_for_a_bearer_token(
        api: TestClient) -> None:
    """No token, or a token the server did not issue: 401 with WWW-Authenticate."""
    for headers in ({}, bearer("not-a-token")):
        r = api.get("/api/v1/cases", headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_an_unknown_case_is_a_404(api: TestClient, world: World) -> None:
    """Reads and events on a code no case has are 404 problems."""
    assert api.get("/api/v1/cases/HN-2025-999999", headers=as_(world, "city")).status_code == 404
    assert fire(api, world, "HN-2025-999999", "city", "submit").status_code == 404


def test_a_producer_sees_only_their_own_cases(api: TestClient, world: World) -> None:
    """Lists are scoped; another producer's case is a 404, as if it did not exist."""
    mine, theirs = world.register("producer1"), world.register("producer2")
    listed = api.get("/api/v1/cases", headers=as_(world, "producer1")).json()["items"]
    assert [c["code"] for c in listed] == [mine]
    assert api.get(f"/api/v1/cases/{theirs}", headers=as_(world, "producer1")).status_code == 404
    assert api.get(f"/api/v1/cases/{theirs}/history",
                   headers=as_(world, "producer1")).status_code == 404


def historic_case(world: World) -> str:
    """A case registered and submitted in January 2025 for a producer of Cự Khê (Thanh Oai),
    by the commune officer Cự Khê had then, and in district review (148) by district1."""
    now = world.clock.now()
    world.clock.set(BEFORE_2025)
    try:
        with write_transaction(world.app.db) as conn:
            pid = registry.add_producer(conn, BEFORE_2025, "Cơ sở Nón lá Cự Khê", "household",
                                        "Thanh Oai", "Cự Khê")
            registry.add_user(conn, BEFORE_2025, "cukhe", "commune_officer", None,
                              "Cự Khê, Thanh Oai")
            officer = registry.actor_named(conn, "cukhe")
            code = registry.register_case(conn, BEFORE_2025, officer, registry.Registration(
                pid, "Nón lá", "food", None, None), public_url="")
        world.app.engine.apply(Event(code, "submit", officer, DOCS))
        world.fire(code, "start_review", "district1")
        return code
    finally:
        world.clock.set(now)


def test_an_officer_sees_only_the_cases_of_their_own_commune_or_former_district(
        api: TestClient, world: World) -> None:
    """commune1 (Bình Minh) sees producer1's case, not the Hà Đông one, and commune2 the other
    way round; neither sees the case of Cự Khê registered in January 2025. district1 (Thanh
    Oai, ended 2025-06-30) reads that one, its history, and no other, and may not act on it."""
    binh_minh, ha_dong = world.register("producer1"), world.register("producer2")
    old = historic_case(world)
    for officer, own, others in (("commune1", binh_minh, (ha_dong, old)),
                                 ("commune2", ha_dong, (binh_minh, old)),
                                 ("district1", old, (binh_minh, ha_dong))):
        listed = api.get("/api/v1/cases", headers=as_(world, officer)).json()["items"]
        assert [c["code"] for c in listed] == [own], officer
        assert api.get(f"/api/v1/cases/{own}", headers=as_(world, officer)).status_code == 200
        for other in others:
            r = api.get(f"/api/v1/cases/{other}", headers=as_(world, officer))
            assert r.status_code == 403, (officer, other)
    assert api.get(f"/api/v1/cases/{old}/history",
                   headers=as_(world, "district1")).status_code == 200
    r = fire(api, world, old, "district1", "request_completion", reason="label missing")
    assert r.status_code == 403 and r.json()["params"]["why"]["code"] == "scope_unit_ended"


def test_the_supervisor_reads_every_case_but_changes_none(api: TestClient, world: World) -> None:
    """The supervisor lists everything, and every event it fires is refused with 403."""
    code = in_district_review(world)
    world.register("producer2")
    assert len(api.get("/api/v1/cases", headers=as_(world, "supervisor")).json()["items"]) == 2
    r = fire(api, world, code, "supervisor", "record_district_score", sim_sheets((30, 20, 25)))
    assert r.status_code == 403


def test_the_case_list_filters_by_state_district_and_overdue_and_pages(
        api: TestClient, world: World) -> None:
    """Filters narrow the list; limit/offset page through it with next_offset."""
    codes = [world.register("producer1") for _ in range(3)]
    world.fire(codes[0], "submit", "producer1", DOCS)
    city = as_(world, "city")
    assert [c["code"] for c in api.get("/api/v1/cases?state=registered",
                                       headers=city).json()["items"]] == [codes[0]]
    assert api.get(f"/api/v1/cases?unit={HA_DONG}", headers=city).json()["items"] == []
    assert len(api.get(f"/api/v1/cases?district={BINH_MINH}", headers=city).json()["items"]) == 3
    # "Hà Đông" is the ward (09556) and the old district (old:268): refused, both listed
    ambiguous = api.get("/api/v1/cases?district=Hà Đông", headers=city)
    assert ambiguous.status_code == 422 and ambiguous.json()["code"] == "unit_ambiguous"
    assert "[09556]" in ambiguous.json()["detail"] and "[old:268]" in ambiguous.json()["detail"]
    assert api.get("/api/v1/cases?overdue=true", headers=city).json()["items"] == []
    world.clock.advance(days=30)
    overdue = api.get("/api/v1/cases?overdue=true", headers=city).json()["items"]
    assert [c["code"] for c in overdue] == [codes[0]] and overdue[0]["overdue"]
    page = api.get("/api/v1/cases?limit=2", headers=city).json()
    assert len(page["items"]) == 2 and page["next_offset"] == 2
    rest = api.get("/api/v1/cases?limit=2&offset=2", headers=city).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None


def test_allowed_says_what_the_caller_may_do_now_and_why_not_the_rest(
        api: TestClient, world: World) -> None:
    """GET /allowed is the CLI's ``cases allowed`` for the caller."""
    code = in_district_review(world)
    rows = api.get(f"/api/v1/cases/{code}/allowed", headers=as_(world, DISTRICT_STAGE)).json()
    mine = {r["trigger"] for r in rows if r["allowed"]}
    assert mine == {"request_completion", "record_district_score"}
    assert all(r["why"] for r in rows if not r["allowed"])


def test_a_removed_user_is_refused_on_their_very_next_call(world: World) -> None:
    """Tokens are not cached: a user removed from the database is refused (401) at once."""
    with client(world.app) as api:
        auth = as_(world, "city")
        assert api.get("/api/v1/cases", headers=auth).status_code == 200
        with world.app.db.begin() as conn:
            conn.execute(delete(users).where(users.c.name == "city"))
        assert api.get("/api/v1/cases", headers=auth).status_code == 401
