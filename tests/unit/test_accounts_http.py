"""Accounts over HTTP: ``/api/v1/users`` for administrators only (403 problem documents for
everyone else), each change taking effect on the very next request (no token cache), 401s
that say whether a token is unknown, disabled or expired; and the console's accounts page,
linked for administrators only, whose forms disable, enable, issue a token shown once,
re-scope and delete."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.api_support import TestClient, bearer, client
from tests.support import HA_DONG, World
from tests.unit.console_support import post_sign_in
from workflow.store.schema import admin_log, users
from workflow.web.console.routes import SESSION


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def as_(world: World, who: str) -> dict[str, str]:
    return bearer(world.tokens[who])


def actions(world: World) -> list[tuple[str, str, str]]:
    with world.app.db.connect() as conn:
        return [tuple(r) for r in conn.execute(
            select(admin_log.c.actor, admin_log.c.action, admin_log.c.target)
            .order_by(admin_log.c.seq))]


@pytest.mark.parametrize("who", ["city", "supervisor", "commune1", "producer1", "ip"])
def test_only_administrators_may_use_the_users_api(api: TestClient, world: World,
                                                   who: str) -> None:
    """Every endpoint answers 403 with a sentence naming who may; nothing is logged."""
    auth = as_(world, who)
    answers = [api.get("/api/v1/users", headers=auth),
               api.get("/api/v1/users/ip", headers=auth),
               api.post("/api/v1/users", headers=auth, json={"name": "x", "role": "admin"}),
               api.post("/api/v1/users/ip/disable", headers=auth),
               api.post("/api/v1/users/ip/enable", headers=auth),
               api.post("/api/v1/users/ip/rotate-token", headers=auth),
               api.put("/api/v1/users/commune1/scope", headers=auth, json={"commune": HA_DONG}),
               api.delete("/api/v1/users/ip", headers=auth)]
    for r in answers:
        assert r.status_code == 403, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["code"] == "role_may_not_do"
        assert "may not manage accounts" in r.json()["detail"]
    assert actions(world) == []
    assert api.get("/api/v1/users").status_code == 401


def test_an_administrator_creates_lists_and_shows_an_account(api: TestClient,
                                                             world: World) -> None:
    """POST answers 201 with the token (once) and a Location; the list and the account show
    role, unit with code and name, creator, expiry, and no token or hash."""
    auth = as_(world, "admin")
    made = api.post("/api/v1/users", headers=auth,
                    json={"name": "thu", "role": "commune_officer", "commune": "Hà Đông"})
    assert made.status_code == 201, made.text
    body = made.json()
    assert made.headers["location"] == "/api/v1/users/thu" and len(body["token"]) > 40
    assert (body["created_by"], body["state"], body["unit"]["key"]) == (
        "admin", "active", HA_DONG)
    assert api.get("/api/v1/cases", headers=bearer(body["token"])).status_code == 200
    shown = api.get("/api/v1/users/thu", headers=auth).json()
    assert "token" not in shown and "token_hash" not in shown
    assert shown["unit"] == {"key": HA_DONG, "code": HA_DONG, "name": "Phường Hà Đông",
                             "level": "commune"}
    assert shown["last_used_at"] is not None  # the call above used the token
    listed = api.get("/api/v1/users", headers=auth).json()
    assert [u["name"] for u in listed] == sorted(u["name"] for u in listed)
    assert len(listed) == 11
    assert api.get("/api/v1/users/nobody", headers=auth).status_code == 404
    again = api.post("/api/v1/users", headers=auth, json={"name": "thu", "role": "admin"})
    assert again.status_code == 422 and again.json()["code"] == "user_exists"


def test_disable_rotate_and_delete_take_effect_on_the_next_request(api: TestClient,
                                                                   world: World) -> None:
    """Each 401 says why: disabled, then (re-enabled and rotated) unknown for the old token,
    then unknown after the delete. Every change is logged under the administrator."""
    auth, mine = as_(world, "admin"), as_(world, "city")
    assert api.get("/api/v1/cases", headers=mine).status_code == 200
    assert api.post("/api/v1/users/city/disable", headers=auth).json()["state"] == "disabled"
    r = api.get("/api/v1/cases", headers=mine)
    assert r.status_code == 401 and r.json()["code"] == "token_account_disabled"
    assert "city" in r.json()["detail"] and "enable" in r.json()["detail"]
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert api.post("/api/v1/users/city/enable", headers=auth).status_code == 200
    assert api.get("/api/v1/cases", headers=mine).status_code == 200
    new = api.post("/api/v1/users/city/rotate-token", headers=auth).json()["token"]
    assert api.get("/api/v1/cases", headers=mine).json()["code"] == "token_unknown"
    assert api.get("/api/v1/cases", headers=bearer(new)).status_code == 200
    assert api.delete("/api/v1/users/city", headers=auth).status_code == 204
    assert api.get("/api/v1/cases", headers=bearer(new)).status_code == 401
    assert [a for _, a, _ in actions(world)] == ["disable", "enable", "rotate_token", "delete"]
    assert {who for who, _, _ in actions(world)} == {"admin"}


def test_an_expired_token_is_a_401_saying_so(api: TestClient, world: World) -> None:
    """At ``token_expires_at`` the token stops; the sentence gives the day."""
    with world.app.db.begin() as conn:
        expires = conn.execute(select(users.c.token_expires_at)
                               .where(users.c.name == "ip")).scalar_one()
    world.clock.set(expires)
    r = api.get("/api/v1/cases", headers=as_(world, "ip"))
    assert r.status_code == 401 and r.json()["code"] == "token_expired"
    assert r.json()["params"]["user"] == "ip"


def test_the_api_refuses_self_disable_bad_scope_and_state_with_sentences(
        api: TestClient, world: World) -> None:
    """Self-disable and self-delete 403; re-scoping a non-officer, giving two units or none,
    and enabling an enabled account 422."""
    auth = as_(world, "admin")
    for r in (api.post("/api/v1/users/admin/disable", headers=auth),
              api.delete("/api/v1/users/admin", headers=auth)):
        assert r.status_code == 403 and r.json()["code"] == "account_self"
    cases = [("city", {"commune": HA_DONG}, "rescope_officers_only"),
             ("commune1", {"commune": HA_DONG, "district": "Thanh Oai"}, "rescope_one_unit"),
             ("commune1", {}, "rescope_one_unit")]
    for name, body, code in cases:
        r = api.put(f"/api/v1/users/{name}/scope", headers=auth, json=body)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    r = api.post("/api/v1/users/ip/enable", headers=auth)
    assert r.status_code == 422 and r.json()["code"] == "account_not_disabled"
    moved = api.put("/api/v1/users/commune1/scope", headers=auth, json={"commune": HA_DONG})
    assert moved.status_code == 200 and moved.json()["unit"]["key"] == HA_DONG
    assert actions(world) == [("admin", "set_scope", "user:commune1")]


# --- the console -------------------------------------------------------------------------


def sign_in(api: TestClient, world: World, who: str) -> None:
    r = post_sign_in(api, who, world.tokens[who])
    assert r.status_code == 303 and SESSION in r.cookies, r.text


def csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
    assert found, page
    return found.group(1)


def test_the_accounts_page_is_linked_and_open_for_administrators_only(
        api: TestClient, world: World) -> None:
    """The header links it for an administrator; a supervisor sees no link and is refused
    with a 403 page in Vietnamese."""
    sign_in(api, world, "supervisor")
    assert "/console/accounts" not in api.get("/console/inbox").text
    refused = api.get("/console/accounts")
    assert refused.status_code == 403 and "quản lý tài khoản" in refused.text
    sign_in(api, world, "admin")
    assert 'href="/console/accounts"' in api.get("/console/inbox").text
    page = api.get("/console/accounts")
    assert page.status_code == 200
    for name in world.tokens:
        assert f'data-user="{name}"' in page.text
    assert "Mã truy cập hết hạn" in page.text and "Người tạo" in page.text


def test_the_console_disables_rotates_rescopes_and_deletes_through_forms(
        api: TestClient, world: World) -> None:
    """Each form changes the account and says so; the new token is shown once on the answer
    page (not in an address) and works; a form without its CSRF value changes nothing."""
    sign_in(api, world, "admin")
    token = csrf(api.get("/console/accounts").text)
    done = api.post("/console/accounts/city/disable", data={"csrf": token})
    assert done.status_code == 303 and "done=disable" in done.headers["location"]
    page = api.get(done.headers["location"]).text
    assert 'data-user="city" data-state="disabled"' in page and "Đã khóa tài khoản city" in page
    rotated = api.post("/console/accounts/ip/rotate", data={"csrf": token})
    assert rotated.status_code == 200 and rotated.headers["cache-control"] == "no-store"
    new = re.search(r'data-testid="token">([^<]+)<', rotated.text)
    assert new is not None and new.group(1) not in (api.get("/console/accounts").text)
    assert api.get("/api/v1/cases", headers=bearer(new.group(1))).status_code == 200
    assert api.get("/api/v1/cases", headers=as_(world, "ip")).status_code == 401
    moved = api.post("/console/accounts/commune1/scope", data={"csrf": token, "unit": HA_DONG})
    assert moved.status_code == 303
    unconfirmed = api.post("/console/accounts/producer2/delete", data={"csrf": token})
    assert unconfirmed.status_code == 422 and "--yes" in unconfirmed.text
    forged = api.post("/console/accounts/producer2/delete", data={"confirm": "yes"})
    assert forged.status_code == 422 and 'data-user="producer2"' in forged.text
    gone = api.post("/console/accounts/producer2/delete", data={"csrf": token, "confirm": "yes"})
    assert gone.status_code == 303
    assert 'data-user="producer2"' not in api.get("/console/accounts").text
    assert [a for _, a, _ in actions(world)] == ["disable", "rotate_token", "set_scope",
                                                 "delete"]


def test_the_console_refuses_an_administrator_locking_themself_out(
        api: TestClient, world: World) -> None:
    """No disable or delete button for oneself, and a forged post is refused (403)."""
    sign_in(api, world, "admin")
    page = api.get("/console/accounts").text
    token = csrf(page)
    row = page[page.index('data-user="admin"'):].split("</tr>")[0]
    assert 'data-action="disable"' not in row and 'data-action="delete"' not in row
    r = api.post("/console/accounts/admin/disable", data={"csrf": token})
    assert r.status_code == 403 and "quản trị viên khác" in r.text
    assert actions(world) == []
