"""Units over HTTP: ``/api/v1/units`` finds a unit by code or name in both eras, and
``/api/v1/units/{key}`` shows one with what it became or took in; the case list filters by a
unit's code or name; producers are registered by commune, compared by code, and cases and
producers carry their units' keys beside the names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_support import TestClient, bearer, client
from tests.support import BINH_MINH, HA_DONG, World

Q = "/api/v1/units"


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def as_(world: World, name: str) -> dict[str, str]:
    return bearer(world.tokens[name])


def test_finding_units_needs_a_signed_in_user_of_any_role(api: TestClient,
                                                          world: World) -> None:
    """No token: 401; a producer may look units up like anyone else."""
    assert api.get(Q, params={"q": "Hà Đông"}).status_code == 401
    assert api.get(Q, params={"q": "Hà Đông"}, headers=as_(world, "producer1")).status_code \
        == 200


def test_a_name_finds_every_unit_it_can_mean_with_its_key(api: TestClient,
                                                          world: World) -> None:
    """"Vạn Phúc" finds both retired communes; "Hà\\u200bĐông" the ward of today and the old
    district, narrowed by ``level``; a code its current and retired unit; nothing is []."""
    def keys(**params: str) -> list[str]:
        answer = api.get(Q, params=params, headers=as_(world, "commune1"))
        assert answer.status_code == 200, answer.text
        return [u["key"] for u in answer.json()]
    assert keys(q="Vạn Phúc") == ["old:00676", "old:09544"]
    assert keys(q="Hà\u200bĐông") == [HA_DONG, "old:268"]
    assert keys(q="Hà Đông", level="district") == ["old:268"]
    assert keys(q="10126") == [BINH_MINH, "old:10126"]
    assert keys(q="Không Có") == []
    assert api.get(Q, params={"q": "x", "level": "city"},
                   headers=as_(world, "commune1")).status_code == 422


def test_a_unit_shows_its_successors_or_predecessors(api: TestClient, world: World) -> None:
    """old:10120 (Cự Khê) became Bình Minh (the default) and part of Phú Lương; 10126 took in
    Cự Khê; a name that means one unit shows it; an unknown code is 404, an ambiguous name 422
    with both candidates."""
    headers = as_(world, "producer2")
    old = api.get(f"{Q}/old:10120", headers=headers).json()
    assert (old["name"], old["parent"], old["valid_to"]) == ("Xã Cự Khê", "old:278",
                                                             "2025-06-30")
    assert [(s["key"], s["default"]) for s in old["successors"]] == [
        (BINH_MINH, True), ("09568", False)]
    new = api.get(f"{Q}/{BINH_MINH}", headers=headers).json()
    assert "old:10120" in [p["key"] for p in new["predecessors"]] and new["successors"] == []
    assert api.get(f"{Q}/Huyện Thanh Oai", headers=headers).json()["within"] == 20
    missing = api.get(f"{Q}/99999", headers=headers)
    assert missing.status_code == 404 and missing.json()["code"] == "unit_not_found"
    vague = api.get(f"{Q}/Vạn Phúc", headers=headers)
    assert vague.status_code == 422 and vague.json()["code"] == "unit_ambiguous"
    assert "[old:00676]" in vague.json()["detail"] and "[old:09544]" in vague.json()["detail"]


def test_the_case_list_filters_by_a_units_code_or_name(api: TestClient, world: World) -> None:
    """``unit`` (or its alias ``district``) takes a code or a name; each item carries the
    commune's key; an ambiguous name is 422 with the candidates."""
    mine, theirs = world.register("producer1"), world.register("producer2")
    headers = as_(world, "city")
    for params in ({"unit": HA_DONG}, {"unit": "Phường Hà\u00a0Đông"}, {"district": HA_DONG}):
        page = api.get("/api/v1/cases", params=params, headers=headers).json()
        assert [c["code"] for c in page["items"]] == [theirs], params
        assert (page["items"][0]["commune_code"], page["items"][0]["district"]) == (
            HA_DONG, None)
    page = api.get("/api/v1/cases", params={"unit": BINH_MINH}, headers=headers).json()
    assert [c["code"] for c in page["items"]] == [mine]
    vague = api.get("/api/v1/cases", params={"unit": "Bình Minh"}, headers=headers)
    assert vague.status_code == 422 and "[old:10135]" in vague.json()["detail"]


def test_a_case_and_a_producer_carry_their_units_keys(api: TestClient, world: World) -> None:
    """No district after 2025-07-01 (null), the commune's name with its key."""
    code = world.register("producer1")
    case = api.get(f"/api/v1/cases/{code}", headers=as_(world, "commune1")).json()
    assert (case["district"], case["commune"], case["commune_code"]) == (
        None, "Xã Bình Minh", BINH_MINH)
    producer = api.get(f"/api/v1/producers/{world.p1}", headers=as_(world, "commune1")).json()
    assert (producer["district_code"], producer["commune_code"]) == (None, BINH_MINH)


def test_an_officer_registers_a_producer_of_their_own_commune_by_code_or_name(
        api: TestClient, world: World) -> None:
    """Bình Minh's officer registers one there by name (201, with the key) and is refused
    Hà Đông's ward typed as its code (403); no commune is 422; a district after 2025 is 422."""
    headers = as_(world, "commune1")
    body = {"name": "HTX mới", "kind": "cooperative"}
    made = api.post("/api/v1/producers", headers=headers,
                    json={**body, "commune": "xã bình minh"})
    assert made.status_code == 201, made.text
    assert (made.json()["commune"], made.json()["commune_code"]) == ("Xã Bình Minh", BINH_MINH)
    other = api.post("/api/v1/producers", headers=headers, json={**body, "commune": HA_DONG})
    assert other.status_code == 403 and other.json()["code"] == "producer_out_of_scope"
    assert api.post("/api/v1/producers", headers=headers, json=body).status_code == 422
    district = api.post("/api/v1/producers", headers=headers,
                        json={**body, "district": "Thanh Oai", "commune": "Bình Minh"})
    assert district.status_code == 422 and district.json()["code"] == "districts_ended"


def test_an_officer_of_a_retired_district_registers_no_producer(
        api: TestClient, world: World) -> None:
    """Thanh Oai ended on 2025-06-30: its officer's request is refused (403), saying so."""
    answer = api.post("/api/v1/producers", headers=as_(world, "district1"),
                      json={"name": "HTX mới", "kind": "cooperative", "commune": BINH_MINH})
    assert answer.status_code == 403
    assert answer.json()["params"]["why"]["code"] == "scope_unit_ended"
