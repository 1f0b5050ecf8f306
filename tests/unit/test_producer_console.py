"""The producer's console, as a browser uses it: from the office's invitation (API or the
console form) through the password page to a signed-in producer who opens an application; the
link refused when used, expired, unknown or posted from another site; signing in with the
password; the applications page and the case page's banner saying what the office asked."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select

from tests.api_support import TestClient, bearer, client
from tests.support import World
from tests.unit.console_support import codes_shown, post_sign_in, readable
from tests.unit.lifecycle_support import Driver
from workflow import invitations
from workflow.store.db import write_transaction
from workflow.store.schema import admin_log, cases, certificates, users
from workflow.store.schema import invitations as invitation_rows
from workflow.web.console.routes import SESSION

PASSWORD = "tương-bần-cự-đà"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def invite(world: World, who: str = "commune1", account: str = "htx-tuong") -> str:
    """The path of a fresh invitation link for producer1's cooperative."""
    with write_transaction(world.app.db) as conn:
        made = invitations.invite(conn, world.clock.now(), world.actors[who], world.p1,
                                  account, public_url=world.app.settings.public_url)
    return urlsplit(made.link).path


def set_password(api: TestClient, path: str, password: str = PASSWORD,
                 repeat: str | None = None, **options: Any) -> httpx.Response:
    sent: httpx.Response = api.post(path, data={
        "password": password, "repeat": password if repeat is None else repeat}, **options)
    return sent


def state(world: World) -> tuple[int, int, int, int]:
    """Users, admin-log entries, used invitations and cases: what a refusal leaves alone."""
    with world.app.db.connect() as conn:
        return tuple(conn.execute(select(func.count()).select_from(t).where(*w)).scalar_one()
                     for t, w in ((users, ()), (admin_log, ()),
                                  (invitation_rows, (invitation_rows.c.used_at.is_not(None),)),
                                  (cases, ())))  # type: ignore[return-value]


def test_from_the_offices_link_to_a_new_application(api: TestClient, world: World) -> None:
    """The officer asks the API for a link (201); the producer opens it (the producer and the
    account named, Vietnamese by default, no referrer, not cached), sets a password, is signed
    in and sent to their applications, opens a new one and lands on its page: a draft case of
    their producer registered under the new account, in the audit trail."""
    made = api.post(f"/api/v1/producers/{world.p1}/invitations", json={"account": "htx-tuong"},
                    headers=bearer(world.tokens["commune1"]))
    assert made.status_code == 201, made.text
    body = made.json()
    assert set(body) == {"link", "account", "producer", "expires_at"}
    assert body["expires_at"].startswith("2025-09-08T09:00")
    path = urlsplit(body["link"]).path
    page = api.get(path)
    assert page.status_code == 200, page.text
    assert "HTX Tương Cự Đà" in page.text and "htx-tuong" in page.text
    assert "Thiết lập tài khoản OCOP" in page.text and not codes_shown(page.text)
    assert page.headers["referrer-policy"] == "same-origin"
    assert page.headers["cache-control"] == "no-store"
    assert "Set up your OCOP account" in api.get(path, params={"lang": "en"}).text
    done = set_password(api, path)
    assert done.status_code == 303 and done.headers["location"] == "/console/applications"
    assert SESSION in done.cookies
    mine = api.get("/console/applications", params={"lang": "en"})
    assert mine.status_code == 200 and 'data-testid="no-applications"' in mine.text
    form = api.get("/console/applications/new", params={"lang": "en"})
    assert form.status_code == 200
    assert '<option value="food"' in form.text and "Food" in form.text
    csrf = CSRF.search(form.text)
    assert csrf is not None
    opened = api.post("/console/applications/new", data={
        "csrf": csrf.group(1), "product": "Tương bần Cự Đà", "group": "food",
        "subgroup": "seasonings"})
    assert opened.status_code == 303, opened.text
    code = opened.headers["location"].rsplit("/", 1)[1]
    with world.app.db.connect() as conn:
        case = conn.execute(select(cases).where(cases.c.code == code)).one()
    assert (case.state, case.producer_id, case.product_group) == ("draft", world.p1, "food")
    trail = api.get(f"/api/v1/cases/{code}", headers=bearer(world.tokens["city"])).json()
    assert [(h["trigger"], h["actor"], h["role"]) for h in trail["history"]] == [
        ("register", "htx-tuong", "producer")]
    listed = api.get("/console/applications", params={"lang": "en"})
    row = re.search(rf'<tr data-code="{code}" data-state="draft">.*?</tr>', listed.text, re.S)
    assert row and "Tương bần Cự Đà" in row.group() and "Draft" in row.group()
    assert "Complete the dossier and submit it for review." in readable(row.group())
    assert api.get(opened.headers["location"]).status_code == 200


def test_a_used_link_is_refused_and_changes_nothing(api: TestClient, world: World) -> None:
    path = invite(world)
    assert set_password(api, path).status_code == 303
    before = state(world)
    again = api.get(path, params={"lang": "en"})
    assert again.status_code == 410 and "already used" in again.text
    assert set_password(api, path, "another password 1").status_code == 410
    assert state(world) == before


def test_an_expired_or_unknown_link_is_refused(api: TestClient, world: World) -> None:
    path = invite(world)
    world.clock.advance(days=7)
    before = state(world)
    expired = api.get(path, params={"lang": "en"})
    assert expired.status_code == 410 and "expired on 2025-09-08" in expired.text
    assert set_password(api, path).status_code == 410
    unknown = api.get(path[:-2] + "xx", params={"lang": "en"})
    assert unknown.status_code == 404 and "not known" in unknown.text
    assert set_password(api, path[:-2] + "xx").status_code == 404
    assert api.get("/console/invite/" + "a" * 300).status_code == 404
    assert state(world) == before


@pytest.mark.parametrize(("password", "repeat", "words"), [
    ("ngắn", "ngắn", "at least 10 characters"),
    ("htx-tuong", "htx-tuong", "at least 10 characters"),
    ("HTX-TUONG-", "HTX-TUONG-", "may not be the account name"),
    ("long enough 1", "long enough 2", "differ"),
])
def test_a_password_against_the_rules_shows_the_form_again(
        api: TestClient, world: World, password: str, repeat: str, words: str) -> None:
    path = invite(world, account="htx-tuong-")
    before = state(world)
    shown = set_password(api, f"{path}?lang=en", password, repeat)
    assert shown.status_code == 422 and words in shown.text
    assert 'name="password"' in shown.text
    assert state(world) == before
    assert set_password(api, path).status_code == 303  # the link still works


def test_a_password_form_from_another_site_is_refused(api: TestClient, world: World) -> None:
    path = invite(world)
    before = state(world)
    forged = set_password(api, path, headers={"Origin": "https://evil.example"})
    assert forged.status_code == 403
    assert state(world) == before


def test_signing_in_with_the_password(api: TestClient, world: World) -> None:
    """The account's password signs in like a token; a wrong one is refused with the very
    sentence a wrong token or an unknown name gets; token sign-in works as before."""
    assert set_password(api, invite(world)).status_code == 303
    api.cookies.clear()
    ok = post_sign_in(api, "htx-tuong", PASSWORD)
    assert ok.status_code == 303 and SESSION in ok.cookies
    assert api.get("/console/applications").status_code == 200
    api.cookies.clear()
    wrong = post_sign_in(api, "htx-tuong", PASSWORD + "!", lang="en")
    api.cookies.clear()
    wrong_token = post_sign_in(api, "commune1", world.tokens["commune2"], lang="en")
    api.cookies.clear()
    nobody = post_sign_in(api, "nobody", PASSWORD, lang="en")
    sentences = [re.search(r'data-testid="error">([^<]+)<', r.text) for r in
                 (wrong, wrong_token, nobody)]
    assert all(s is not None for s in sentences)
    assert len({s.group(1) for s in sentences if s}) == 1
    assert {r.status_code for r in (wrong, wrong_token, nobody)} == {401}
    api.cookies.clear()
    assert post_sign_in(api, "commune1", world.tokens["commune1"]).status_code == 303
    assert post_sign_in(api, "commune1", PASSWORD).status_code == 401  # no password of its own


def test_only_producers_have_applications(api: TestClient, world: World) -> None:
    assert post_sign_in(api, "commune1", world.tokens["commune1"]).status_code == 303
    assert api.get("/console/applications").status_code == 403
    assert api.get("/console/applications/new").status_code == 403


def test_a_new_application_with_an_unknown_group_shows_the_form_again(
        api: TestClient, world: World) -> None:
    assert post_sign_in(api, "producer1", world.tokens["producer1"]).status_code == 303
    form = api.get("/console/applications/new")
    csrf = CSRF.search(form.text)
    assert csrf is not None
    before = state(world)
    shown = api.post("/console/applications/new?lang=en", data={
        "csrf": csrf.group(1), "product": "Tương", "group": "cars"})
    assert shown.status_code == 422 and "cars" in shown.text
    stale = api.post("/console/applications/new?lang=en", data={
        "csrf": "stale", "product": "Tương", "group": "food"})
    assert stale.status_code == 422 and "expired" in stale.text
    assert state(world) == before


def test_the_office_makes_a_link_in_the_console(api: TestClient, world: World) -> None:
    """The commune officer's form shows the link once; it works; a producer of another commune
    is refused with the sentence and no link."""
    assert post_sign_in(api, "commune1", world.tokens["commune1"]).status_code == 303
    form = api.get("/console/invitations", params={"lang": "en"})
    assert form.status_code == 200 and 'name="account"' in form.text
    csrf = CSRF.search(form.text)
    assert csrf is not None
    made = api.post("/console/invitations?lang=en", data={
        "csrf": csrf.group(1), "producer": str(world.p1), "account": "htx-tuong", "days": "3"})
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    link = re.search(r'data-testid="invitation-link">([^<]+)<', made.text)
    assert link is not None
    assert "The invitation link for the account htx-tuong of HTX Tương Cự Đà" in made.text
    before = state(world)
    other = api.post("/console/invitations?lang=en", data={
        "csrf": csrf.group(1), "producer": str(world.p2), "account": "lua"})
    assert other.status_code == 403 and 'data-testid="invitation-link"' not in other.text
    assert state(world) == before
    api.cookies.clear()
    assert set_password(api, urlsplit(link.group(1)).path).status_code == 303
    assert post_sign_in(api, "ip", world.tokens["ip"]).status_code == 303
    assert api.get("/console/invitations").status_code == 403


def test_the_api_refuses_an_invitation_out_of_scope(api: TestClient, world: World) -> None:
    before = state(world)
    for who, status in (("commune2", 403), ("producer1", 403), ("supervisor", 403)):
        r = api.post(f"/api/v1/producers/{world.p1}/invitations", json={"account": "x-y"},
                     headers=bearer(world.tokens[who]))
        assert r.status_code == status, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    taken = api.post(f"/api/v1/producers/{world.p1}/invitations", json={"account": "producer1"},
                     headers=bearer(world.tokens["city"]))
    assert taken.status_code == 422
    assert state(world) == before


def test_the_banner_shows_what_the_office_asked_and_the_certificate(
        api: TestClient, world: World) -> None:
    """In needs_completion the producer's case page names the officer's reason and the
    completion deadline (10 days asked: 11 September), and the applications page says the
    same; a certified case offers its certificate's PDF. Officers see no banner."""
    drive = Driver(world)
    waiting = drive.reach("1489", "needs_completion")
    certified = drive.reach("1489", "certified")
    assert post_sign_in(api, "producer1", world.tokens["producer1"]).status_code == 303
    page = api.get(f"/console/cases/{waiting}", params={"lang": "en"})
    banner = re.search(r'data-testid="completion-request">.*?</section>', page.text, re.S)
    assert banner is not None
    words = readable(banner.group())
    assert "the product label is missing" in words and "2025-09-11" in words
    assert "Resubmit" in words
    vi = api.get(f"/console/cases/{waiting}", params={"lang": "vi"}).text
    assert "11/09/2025" in vi and "Cơ quan đề nghị bổ sung hồ sơ" in vi
    listed = api.get("/console/applications", params={"lang": "en"}).text
    row = re.search(rf'<tr data-code="{waiting}".*?</tr>', listed, re.S)
    assert row and "Complete the dossier by 2025-09-11 09:00: the product label is missing" \
        in readable(row.group())
    done = api.get(f"/console/cases/{certified}").text
    number = re.search(r'href="/certificates/([^"]+)\.pdf\?lang=\w+" data-testid="certificate-'
                       r'download"', done)
    with world.app.db.connect() as conn:
        issued = conn.execute(select(certificates.c.number).join(
            cases, cases.c.id == certificates.c.case_id).where(cases.c.code == certified)
        ).scalar_one()
    assert number is not None and number.group(1) == issued
    assert 'data-testid="completion-request"' not in done
    api.cookies.clear()
    assert post_sign_in(api, "commune1", world.tokens["commune1"]).status_code == 303
    staff = api.get(f"/console/cases/{waiting}").text
    assert 'data-testid="completion-request"' not in staff



def test_the_invited_account_is_listed_with_the_others(api: TestClient, world: World) -> None:
    """An account set up through a link has no token expiry (it signs in with its password):
    the administrators' list, page and API show it as an active producer account."""
    assert set_password(api, invite(world)).status_code == 303
    listed = api.get("/api/v1/users/htx-tuong", headers=bearer(world.tokens["admin"]))
    assert listed.status_code == 200, listed.text
    shown = listed.json()
    assert (shown["role"], shown["state"], shown["token_expires_at"], shown["created_by"]) == (
        "producer", "active", None, "commune1")
    api.cookies.clear()
    assert post_sign_in(api, "admin", world.tokens["admin"]).status_code == 303
    page = api.get("/console/accounts")
    assert page.status_code == 200 and 'data-user="htx-tuong"' in page.text
