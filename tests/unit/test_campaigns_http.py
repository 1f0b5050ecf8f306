"""Re-evaluation campaigns over HTTP and in the console, on an on-disk SQLite database (the
background run writes from its own thread): the API previews without writing, saves a plan
(201), lists and shows it, runs it in the background (202) to the end, cancels; refuses as the
core does (401, 403, 404, 409, 422 naming what is allowed); the console's list, preview, saved
plan and progress page render, and a forged CSRF value changes nothing. On PostgreSQL, two
runs at once re-open each case once."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.api_support import TestClient, bearer, client
from tests.cohorts import row, write_csv
from tests.support import START, World, make_app
from tests.unit.console_support import post_sign_in
from workflow import campaigns, importer
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.store.schema import audit_entries, cases
from workflow.store.schema import campaigns as campaign_rows

WHERE = "rules=1048 stars>=4 trademark=no"


def cohort(n: int) -> list[dict[str, Any]]:
    """``n`` valid 1048 certificates: two in three 4★, every other one with a trademark."""
    return [row(i, rule_version="1048", decision_date="2023-01-10", stars=4 if i % 3 else 3,
                trademark_no=f"NH-{i}" if i % 2 else "",
                trademark_holder=f"HTX số {i}" if i % 2 else "") for i in range(n)]


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    app = make_app(f"sqlite:///{tmp_path / 'ocop.db'}", FixedClock(START))
    world = World(app)
    importer.run(app.db, write_csv(tmp_path / "cohort.csv", cohort(24)),
                 world.actors["system"], START)
    yield world
    app.close()


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def auth(world: World, who: str) -> dict[str, str]:
    return {**bearer(world.tokens[who]), "Accept-Language": "en"}


def reopened(world: World) -> int:
    with world.app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(cases).where(
            cases.c.state == "reevaluation")).scalar_one())


def planned(world: World) -> int:
    with world.app.db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(campaign_rows)).scalar_one())


def finished(api: TestClient, world: World, campaign_id: int) -> dict[str, Any]:
    """Poll the campaign until it is done and its background thread has ended (at most
    10 s)."""
    deadline = time.monotonic() + 10
    while True:
        shown: dict[str, Any] = api.get(f"/api/v1/campaigns/{campaign_id}",
                                        headers=auth(world, "city")).json()
        running = [t for t in threading.enumerate() if t.name == f"campaign-{campaign_id}"]
        if (shown["status"] == "done" and not running) or time.monotonic() > deadline:
            return shown
        time.sleep(0.05)


# --- the API ---------------------------------------------------------------------------------

def test_preview_plan_list_show_and_run_in_the_background(api: TestClient, world: World) -> None:
    """The preview writes nothing; the plan's count is the preview's; the run answers 202
    and its thread re-opens every selected case once; a second run adds nothing."""
    city = auth(world, "city")
    seen = api.post("/api/v1/campaigns/preview", json={"where": WHERE, "limit": 2}, headers=city)
    assert seen.status_code == 200, seen.text
    assert seen.json()["count"] == 8 and len(seen.json()["cases"]) == 2
    assert planned(world) == 0 and reopened(world) == 0
    made = api.post("/api/v1/campaigns", json={"where": WHERE, "message": "Thiếu nhãn hiệu."},
                    headers=city)
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    assert made.headers["location"] == f"/api/v1/campaigns/{cid}"
    assert (made.json()["count"], made.json()["status"]) == (8, "planned")
    listed = api.get("/api/v1/campaigns", headers=auth(world, "supervisor")).json()
    assert [(c["id"], c["status"], c["counts"]["left"]) for c in listed] == [(cid, "planned", 8)]
    started = api.post(f"/api/v1/campaigns/{cid}/run", headers=city)
    assert started.status_code == 202, started.text
    assert started.json()["id"] == cid and started.json()["status"] in ("running", "done")
    shown = finished(api, world, cid)
    assert shown["status"] == "done" and shown["started_by"] == "city"
    assert shown["counts"] == {"done": 8, "skipped": 0, "failed": 0, "left": 0}
    assert shown["message"] == "Thiếu nhãn hiệu." and shown["finished_at"] is not None
    assert reopened(world) == 8
    again = api.post(f"/api/v1/campaigns/{cid}/run", headers=city)
    assert again.status_code == 202 and again.json()["status"] == "done"
    assert reopened(world) == 8


def test_a_running_campaign_is_run_by_one_thread_of_this_process(
        api: TestClient, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """While its thread runs, a second POST starts none; skipped items say why."""
    made = campaigns.plan(world.app, world.actors["city"], WHERE)
    first = made["cases"][0]["code"]
    world.fire(first, "revoke", "city", {"reason_code": "violation"}, "Vi phạm nhãn")
    threads: list[int] = []
    real_run = campaigns.run

    def slow_run(*args: Any, **kwargs: Any) -> dict[str, Any]:
        threads.append(1)
        time.sleep(0.3)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(campaigns, "run", slow_run)
    city = auth(world, "city")
    assert api.post(f"/api/v1/campaigns/{made['id']}/run", headers=city).status_code == 202
    assert api.post(f"/api/v1/campaigns/{made['id']}/run", headers=city).status_code == 202
    shown = finished(api, world, made["id"])
    assert threads == [1]
    assert shown["counts"] == {"done": 7, "skipped": 1, "failed": 0, "left": 0}
    assert [(s["code"], s["detail"]["code"]) for s in shown["skipped"]] == [
        (first, "campaign_skipped_state")]
    assert "no longer certified" in shown["skipped"][0]["why"]


def test_cancel_and_the_refusals(api: TestClient, world: World) -> None:
    """401 signed out; 403 for readers who may not plan and for producers; 404 unknown; 409
    a cancelled campaign's run and a second cancel; 422 bad words, reason, message."""
    city = auth(world, "city")
    made = api.post("/api/v1/campaigns", json={"where": WHERE}, headers=city).json()
    assert api.get("/api/v1/campaigns").status_code == 401
    assert api.get("/api/v1/campaigns", headers=auth(world, "producer1")).status_code == 403
    assert api.get("/api/v1/campaigns", headers=auth(world, "commune1")).status_code == 403
    assert api.post("/api/v1/campaigns/preview", json={"where": WHERE},
                    headers=auth(world, "supervisor")).status_code == 403
    assert api.get("/api/v1/campaigns/999", headers=city).status_code == 404
    assert api.post("/api/v1/campaigns/999/run", headers=city).status_code == 404
    cancelled = api.post(f"/api/v1/campaigns/{made['id']}/cancel", headers=city)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    refused = api.post(f"/api/v1/campaigns/{made['id']}/run", headers=city)
    assert refused.status_code == 409 and refused.json()["code"] == "campaign_cancelled"
    assert api.post(f"/api/v1/campaigns/{made['id']}/cancel", headers=city).status_code == 409
    for body, words in (({"where": "colour=red"}, "allowed: rules (=)"),
                        ({"where": WHERE, "reason": "whim"}, "criteria_change"),
                        ({"where": WHERE, "message": "x" * 2001}, "2000"),
                        ({"where": WHERE, "extra": 1}, "extra"),
                        ({"where": ""}, "where")):
        r = api.post("/api/v1/campaigns/preview", json=body, headers=city)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert words in r.json()["detail"], (body, r.json()["detail"])
    assert reopened(world) == 0 and planned(world) == 1


# --- the console -----------------------------------------------------------------------------

CSRF = re.compile(r'name="csrf" value="([^"]*)"')


def signed_in(api: TestClient, world: World, who: str = "city") -> str:
    """Sign in; the plan form's CSRF value."""
    assert post_sign_in(api, who, world.tokens[who]).status_code == 303
    page = api.get("/console/campaigns?lang=en")
    assert page.status_code == 200, page.text
    return str(CSRF.findall(page.text)[-1])


def test_the_console_previews_saves_runs_and_shows_progress(api: TestClient,
                                                           world: World) -> None:
    """Preview by GET and by POST saves nothing; "Save the plan" opens the campaign's page
    (no refresh while planned); "Run" goes back to it; the page shows the counts, the bar,
    no refresh once done; the list shows the campaign; vi and en."""
    csrf = signed_in(api, world)
    listed = api.get("/console/campaigns?lang=vi")
    assert 'data-testid="nav-campaigns"' in listed.text and "Lưu kế hoạch" in listed.text
    assert "expiring (= &lt;= &lt;)" in listed.text and "Bộ tiêu chí thay đổi" in listed.text
    got = api.get("/console/campaigns", params={"where": WHERE, "lang": "en"})
    assert 'data-count="8"' in got.text and got.text.count('data-testid="campaign-case"') == 8
    posted = api.post("/console/campaigns?lang=en", data={
        "where": WHERE, "act": "preview", "csrf": "", "start_review": "1"})
    assert posted.status_code == 422 and "cannot start the reviews" in posted.text
    assert planned(world) == 0
    saved = api.post("/console/campaigns?lang=en", data={
        "where": WHERE, "reason": "criteria_change", "message": "", "act": "save",
        "csrf": csrf})
    assert saved.status_code == 303, saved.text
    assert re.fullmatch(r"/console/campaigns/\d+\?lang=en", saved.headers["location"])
    page = api.get(saved.headers["location"])
    assert 'data-status="planned"' in page.text and 'http-equiv="refresh"' not in page.text
    assert '<progress value="0" max="8"' in page.text
    cid = planned(world)
    ran = api.post(f"/console/campaigns/{cid}/run?lang=en", data={"csrf": csrf})
    assert ran.status_code == 303 and ran.headers["location"] == f"/console/campaigns/{cid}?lang=en"
    assert finished(api, world, cid)["counts"]["done"] == 8
    done = api.get(f"/console/campaigns/{cid}?lang=vi")
    assert 'data-testid="campaign-done">8<' in done.text
    assert 'data-testid="campaign-left">0<' in done.text
    assert '<progress value="8" max="8"' in done.text and "đã xong" in done.text
    assert 'http-equiv="refresh"' not in done.text and 'data-testid="campaign-run"' not in done.text
    assert f'data-campaign="{cid}" data-status="done"' in api.get("/console/campaigns").text


def test_a_running_campaign_page_refreshes_itself_and_lists_why_items_were_skipped(
        api: TestClient, world: World) -> None:
    """Started (not yet run): the page refreshes every 2 s and offers Run and Cancel."""
    made = campaigns.plan(world.app, world.actors["city"], WHERE)
    campaigns.start(world.app, made["id"], world.actors["city"])
    signed_in(api, world, "supervisor")
    page = api.get(f"/console/campaigns/{made['id']}?lang=en")
    assert '<meta http-equiv="refresh" content="2">' in page.text
    assert 'data-testid="campaign-run"' not in page.text  # a supervisor only reads
    for unknown in ("999", "x1", "9" * 20):
        assert api.get(f"/console/campaigns/{unknown}").status_code == 404


def test_a_forged_or_cross_site_form_changes_nothing(api: TestClient, world: World) -> None:
    """A wrong CSRF value saves no plan, runs and cancels nothing; another site is refused;
    a producer is refused the page."""
    csrf = signed_in(api, world)
    made = campaigns.plan(world.app, world.actors["city"], WHERE)
    forged = api.post("/console/campaigns", data={"where": WHERE, "act": "save",
                                                  "csrf": csrf[:-2] + "xx"})
    assert forged.status_code == 422 and planned(world) == 1
    for act in ("run", "cancel"):
        r = api.post(f"/console/campaigns/{made['id']}/{act}", data={"csrf": "forged"})
        assert r.status_code == 422, r.text
    cross = api.post(f"/console/campaigns/{made['id']}/run", data={"csrf": csrf},
                     headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert campaigns.show(world.app, made["id"])["status"] == "planned" and reopened(world) == 0
    api.cookies.clear()
    assert post_sign_in(api, "producer1", world.tokens["producer1"]).status_code == 303
    assert api.get("/console/campaigns").status_code == 403


# --- PostgreSQL ------------------------------------------------------------------------------

@pytest.mark.postgres
def test_on_postgresql_two_runs_at_once_reopen_each_case_once(pg_app: App,
                                                              tmp_path: Path) -> None:
    """Two POSTs of run at once, and the core's runner beside the background thread: every
    selected case re-opened by exactly one entry."""
    world = World(pg_app)
    importer.run(pg_app.db, write_csv(tmp_path / "cohort.csv", cohort(60)),
                 world.actors["system"], START)
    with client(pg_app) as api:
        city = auth(world, "city")
        made = api.post("/api/v1/campaigns", json={"where": WHERE}, headers=city).json()
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda _: api.post(
                f"/api/v1/campaigns/{made['id']}/run", headers=city), range(2)))
        campaigns.run(pg_app, made["id"], world.actors["city"], chunk=3)
        shown = finished(api, world, made["id"])
    assert [a.status_code for a in answers] == [202, 202]
    assert shown["counts"] == {"done": 20, "skipped": 0, "failed": 0, "left": 0}
    with pg_app.db.connect() as conn:
        opened = conn.execute(select(audit_entries.c.case_id, func.count())
                              .where(audit_entries.c.trigger == "open_reevaluation")
                              .group_by(audit_entries.c.case_id)).all()
    assert len(opened) == 20 and {n for _, n in opened} == {1}
