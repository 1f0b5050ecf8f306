"""The issue's first must-show, before the 2025 reorganisation and on PostgreSQL: two communes
named Vạn Phúc (Thanh Trì and Hà Đông). The officer of Vạn Phúc, Hà Đông is refused — 403 on
the API, exit 4 from the real ``ocop`` process, the console's 403 page — when reading,
submitting, starting the review of, or registering producers and cases in Vạn Phúc, Thanh Trì,
and nothing changes; the officer of that Vạn Phúc may. Scope compares unit keys, so the
zero-width, no-break and case variants of "Hà Đông" make officers of the one unit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from tests.api_support import TestClient, bearer, client
from tests.support import DOCS, make_app
from tests.unit.console_support import post_sign_in
from tests.unit.lifecycle_support import assert_one_sentence, snapshot
from workflow import registry
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock
from workflow.domain.facts import Event
from workflow.store import queries
from workflow.store.db import write_transaction
from workflow.web.console.routes import SESSION, csrf_for

pytestmark = pytest.mark.postgres
SPRING = datetime(2025, 3, 3, 9, 0, tzinfo=VIETNAM)  # a Monday before 2025-07-01
OCOP = str(Path(sys.executable).with_name("ocop"))
THANH_TRI, HA_DONG = "old:00676", "old:09544"  # Xã Vạn Phúc, Phường Vạn Phúc


@dataclass
class Spring:
    """Two Vạn Phúc producers, their officers, and two cases of the Thanh Trì producer: one
    registered under 1489 (the commune starts its review), one still a draft."""

    app: App
    url: str
    producers: dict[str, int]
    tokens: dict[str, str]
    registered: str
    draft: str


@pytest.fixture
def spring(pg_url: str) -> Iterator[Spring]:
    app = make_app(pg_url, FixedClock(SPRING))
    now = app.clock.now()
    with write_transaction(app.db) as conn:
        producers = {
            "tt": registry.add_producer(conn, now, "HTX nông sản Vạn Phúc", "cooperative",
                                        "Thanh Trì", "Vạn Phúc"),
            "hd": registry.add_producer(conn, now, "Làng lụa Vạn Phúc", "household",
                                        "Hà Đông", "Vạn Phúc")}
        people = [("producer_tt", "producer", None, producers["tt"]),
                  ("officer_tt", "commune_officer", "Vạn Phúc, Thanh Trì", None),
                  ("officer_hd", "commune_officer", "Vạn Phúc, Hà Đông", None),
                  ("city", "city_officer", None, None)]
        tokens = {name: registry.add_user(conn, now, name, role, None, commune, pid)
                  for name, role, commune, pid in people}
        city, producer = (registry.actor_named(conn, n) for n in ("city", "producer_tt"))
        registered = registry.register_case(conn, now, city, registry.Registration(
            producers["tt"], "Gạo nếp cái hoa vàng", "food", rules="1489"), public_url="")
        draft = registry.register_case(conn, now, producer, registry.Registration(
            producers["tt"], "Bánh chưng", "food"), public_url="")
        submitter = registry.actor_named(conn, "producer_tt")
    app.engine.apply(Event(registered, "submit", submitter, DOCS))
    yield Spring(app, pg_url, producers, tokens, registered, draft)
    app.close()


def state_of(s: Spring, code: str) -> tuple[str, int]:
    with s.app.db.connect() as conn:
        row = queries.case_row(conn, code)
    return row["state"], row["version"]


def test_the_units_are_the_two_vạn_phúc_and_scope_keys(spring: Spring) -> None:
    """Same name, two units: each producer and officer carries its own commune's key."""
    with spring.app.db.connect() as conn:
        producers = {k: registry.get_producer(conn, v)["commune_code"]
                     for k, v in spring.producers.items()}
        officers = {n: registry.actor_named(conn, n).unit for n in ("officer_tt", "officer_hd")}
    assert producers == {"tt": THANH_TRI, "hd": HA_DONG}
    assert officers == {"officer_tt": THANH_TRI, "officer_hd": HA_DONG}


def test_the_api_refuses_the_other_vạn_phúc_officer_with_403(spring: Spring) -> None:
    """Read, list, submit, start the review, see the producer, register a case for it: 403
    (or not listed) for the Hà Đông officer, nothing written; the Thanh Trì officer reads it
    and starts the review."""
    s, other = spring, bearer(spring.tokens["officer_hd"])
    before = snapshot(s.app)
    with client(s.app) as api:
        assert api.get(f"/api/v1/cases/{s.registered}", headers=other).status_code == 403
        listed = api.get("/api/v1/cases", headers=other).json()
        assert listed["total"] == 0 and listed["items"] == []
        submit = api.post(f"/api/v1/cases/{s.draft}/events", headers=other,
                          json={"trigger": "submit", "data": DOCS})
        start = api.post(f"/api/v1/cases/{s.registered}/events", headers=other,
                         json={"trigger": "start_review"})
        see = api.get(f"/api/v1/producers/{s.producers['tt']}", headers=other)
        register = api.post("/api/v1/cases", headers=other, json={
            "producer": s.producers["tt"], "product": "Miến dong", "group": "food"})
        for answer in (submit, start, see, register):
            assert answer.status_code == 403, answer.text
        assert start.json()["code"] == "may_not_see_case"  # says nothing of its state
        assert "Vạn Phúc [old:00676]" in start.json()["detail"]
        assert "[old:09544]" in start.json()["detail"]
        assert snapshot(s.app) == before
        own = bearer(s.tokens["officer_tt"])
        assert api.get(f"/api/v1/cases/{s.registered}", headers=own).status_code == 200
        assert api.post(f"/api/v1/cases/{s.registered}/events", headers=own,
                        json={"trigger": "start_review"}).status_code == 200
    assert state_of(s, s.registered)[0] == "commune_prescore"


@pytest.mark.parametrize("where", [{"district": "Thanh Trì", "commune": "Vạn Phúc"},
                                   {"commune": "Vạn Phúc, Thanh Trì"},
                                   {"commune": "old:00676"}, {"commune": "00676"}])
def test_the_api_refuses_registering_a_producer_in_the_other_vạn_phúc(
        spring: Spring, where: dict[str, str]) -> None:
    """Whether the Thanh Trì commune is typed with its district, after a comma or as its
    code, the Hà Đông officer may not register a producer there (403, nothing written)."""
    before = snapshot(spring.app)
    with client(spring.app) as api:
        answer = api.post("/api/v1/producers", headers=bearer(spring.tokens["officer_hd"]),
                          json={"name": "Hộ kinh doanh mới", "kind": "household", **where})
    assert answer.status_code == 403, answer.text
    assert answer.json()["code"] == "producer_out_of_scope"
    assert snapshot(spring.app) == before


def test_an_ambiguous_commune_is_refused_with_both_candidates(spring: Spring) -> None:
    """"Vạn Phúc" alone: 422 listing both with their keys; the officer's own, typed with its
    district in a zero-width variant, is registered with its key (201)."""
    headers = bearer(spring.tokens["officer_hd"])
    with client(spring.app) as api:
        before = snapshot(spring.app)
        vague = api.post("/api/v1/producers", headers=headers,
                         json={"name": "Hộ mới", "kind": "household", "commune": "Vạn Phúc"})
        assert vague.status_code == 422 and vague.json()["code"] == "unit_ambiguous"
        assert {"[old:00676]", "[old:09544]"} <= {c[-11:] for c in
                                                  vague.json()["params"]["candidates"]}
        assert snapshot(spring.app) == before
        made = api.post("/api/v1/producers", headers=headers, json={
            "name": "Hộ mới", "kind": "household", "district": "hà\u200bđông",
            "commune": "VẠN PHÚC"})
    assert made.status_code == 201, made.text
    assert (made.json()["commune_code"], made.json()["district_code"]) == (HA_DONG, "old:268")


@pytest.mark.parametrize("typed", ["Vạn Phúc, Hà\u200bĐông", "vạn phúc, hà đông",
                                   "Vạn\u00a0Phúc, HÀ ĐÔNG", "old:09544"])
def test_variants_of_ha_dong_make_officers_of_the_one_unit(spring: Spring, typed: str) -> None:
    """An officer whose commune was typed with a zero-width space, in lower or upper case, or
    as the key, is the Hà Đông Vạn Phúc's: reads its producer, not Thanh Trì's."""
    with write_transaction(spring.app.db) as conn:
        token = registry.add_user(conn, SPRING, "variant", "commune_officer", None, typed)
    with client(spring.app) as api:
        mine = api.get(f"/api/v1/producers/{spring.producers['hd']}", headers=bearer(token))
        other = api.get(f"/api/v1/producers/{spring.producers['tt']}", headers=bearer(token))
    assert (mine.status_code, other.status_code) == (200, 403)
    assert mine.json()["commune_code"] == HA_DONG


def ocop(s: Spring, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=s.url, OCOP_LANG="en", OCOP_SIMULATION="1",
               OCOP_NOW="2025-03-03T10:00:00+07:00")
    return subprocess.run([OCOP, *args], capture_output=True, text=True, timeout=120, env=env,
                          check=False)


def test_the_cli_refuses_the_other_vạn_phúc_officer_with_exit_4(spring: Spring) -> None:
    """The real ``ocop``: showing, submitting, starting the review and registering a case as
    the Hà Đông officer each exit 4 with one sentence and change nothing; the Thanh Trì
    officer's show succeeds and names the unit with its key."""
    s = spring
    before = snapshot(s.app)
    for args in (("cases", "show", s.registered, "--as", "officer_hd"),
                 ("cases", "advance", s.draft, "submit", "--as", "officer_hd",
                  "--data", json.dumps(DOCS)),
                 ("cases", "advance", s.registered, "start_review", "--as", "officer_hd"),
                 ("cases", "register", "--as", "officer_hd", "--producer",
                  str(s.producers["tt"]), "--product", "Miến dong", "--group", "food")):
        done = ocop(s, *args)
        assert done.returncode == 4, (args, done.returncode, done.stderr)
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("error: ") and done.stdout == ""
        assert_one_sentence(line.removeprefix("error: "))
    assert snapshot(s.app) == before
    shown = ocop(s, "cases", "show", s.registered, "--as", "officer_tt")
    assert shown.returncode == 0, shown.stderr
    assert "commune Xã Vạn Phúc [old:00676]" in shown.stdout
    listed = ocop(s, "cases", "list", "--as", "officer_hd", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout)["total"] == 0


def console(api: TestClient, s: Spring, who: str) -> str:
    """Sign ``who`` in; the forms' anti-forgery value."""
    answer = post_sign_in(api, who, s.tokens[who])
    assert answer.status_code == 303, answer.text
    return csrf_for(api.cookies[SESSION])


def test_the_console_refuses_the_other_vạn_phúc_officer_with_403(spring: Spring) -> None:
    """The case page is a 403 page, the inbox lists nothing, the submit and start-review forms
    are refused with 403 and change nothing; the Thanh Trì officer's page and inbox show the
    unit with its key."""
    s = spring
    with client(s.app) as api:
        csrf = console(api, s, "officer_hd")
        before = snapshot(s.app)
        page = api.get(f"/console/cases/{s.registered}")
        assert page.status_code == 403 and s.registered in page.text
        inbox = api.get("/console/inbox?view=all")
        assert inbox.status_code == 200 and s.registered not in inbox.text
        for code, trigger in ((s.draft, "submit"), (s.registered, "start_review")):
            form = {"trigger": trigger, "csrf": csrf, "form_key": f"k-{trigger}",
                    **({"documents": DOCS["documents"]} if trigger == "submit" else {})}
            answer = api.post(f"/console/cases/{code}/events", data=form)
            assert answer.status_code == 403, (trigger, answer.status_code)
        assert snapshot(s.app) == before
    with client(s.app) as api:
        console(api, s, "officer_tt")
        page = api.get(f"/console/cases/{s.registered}")
        inbox = api.get("/console/inbox?view=all")
    assert page.status_code == 200 and s.registered in inbox.text
    assert 'Xã Vạn Phúc <small class="hint" data-unit="old:00676">' in inbox.text
    assert 'data-unit="old:00676"' in page.text and "Xã Vạn Phúc" in page.text


def test_two_communes_with_the_very_same_name_are_told_apart_by_key(spring: Spring) -> None:
    """Xã Phú Cường of Sóc Sơn and Xã Phú Cường of Ba Vì have the same type and name, so only
    the key separates them: Sóc Sơn's officer may neither read, submit nor start the review of
    a Ba Vì case (403), Ba Vì's officer may."""
    s = spring
    now = s.app.clock.now()
    with write_transaction(s.app.db) as conn:
        pid = registry.add_producer(conn, now, "HTX Phú Cường", "cooperative", "Ba Vì",
                                    "Phú Cường")
        tokens = {n: registry.add_user(conn, now, n, "commune_officer", None, f"Phú Cường, {d}")
                  for n, d in (("soc_son", "Sóc Sơn"), ("ba_vi", "Ba Vì"))}
        code = registry.register_case(conn, now, registry.actor_named(conn, "city"),
                                      registry.Registration(pid, "Chè", "food", rules="1489"),
                                      public_url="")
        names = {registry.actor_named(conn, n).commune for n in tokens}
    assert names == {"Xã Phú Cường"}
    with client(s.app) as api:
        other, own = bearer(tokens["soc_son"]), bearer(tokens["ba_vi"])
        assert api.get(f"/api/v1/cases/{code}", headers=other).status_code == 403
        for trigger, data in (("submit", DOCS), ("start_review", {})):
            refused = api.post(f"/api/v1/cases/{code}/events", headers=other,
                               json={"trigger": trigger, "data": data})
            assert refused.status_code == 403, trigger
            done = api.post(f"/api/v1/cases/{code}/events", headers=own,
                            json={"trigger": trigger, "data": data})
            assert done.status_code == 200, done.text
    assert state_of(s, code) == ("commune_prescore", 3)
