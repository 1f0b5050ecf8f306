"""The console's inbox: "my work" by default — the cases on which the signed-in user has an
allowed action, most urgent first — and the other views one click away. "My work" is one SQL
condition built from the lifecycle table; it must agree with the engine's ``allowed`` view."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from states.model import DISCRETIONARY_TRIGGERS
from tests.api_support import TestClient, client
from tests.support import DOCS, START, World
from tests.unit.console_support import post_sign_in
from workflow.store import inbox, queries
from workflow.store.schema import cases
from workflow.web.api.config import ApiConfig
from workflow.web.console import forms


def sign_in(api: TestClient, world: World, who: str) -> None:
    r = post_sign_in(api, who, world.tokens[who])
    assert r.status_code == 303


def listed(page: str) -> list[str]:
    return re.findall(r'<tr class="[^"]*" data-code="([^"]+)"', page)


def engine_work(world: World, who: str, codes: list[str]) -> set[str]:
    """The cases on which the engine's ``allowed`` gives ``who`` an action a person fires that
    moves the case on (not withdraw, revoke or re-open)."""
    actor, now = world.actors[who], world.clock.now()
    with world.app.db.connect() as conn:
        return {code for code in codes
                if any(a["allowed"] and a["trigger"] not in forms.SYSTEM_ONLY
                       and a["trigger"] not in DISCRETIONARY_TRIGGERS
                       for a in queries.allowed(conn, code, actor, now,
                                                 settings=world.app.engine.settings))}


PEOPLE = ("producer1", "producer2", "commune1", "commune2", "district1", "district2", "ip",
          "city", "supervisor", "admin")


@pytest.mark.parametrize("who", PEOPLE)
def test_my_work_is_exactly_the_cases_the_engine_lets_me_act_on(
        shared: World, data: dict[str, tuple[str, str]], who: str) -> None:
    """For every case of the mixed data set (every state of 1048, 148 and 1489, another
    commune's cases, a re-evaluation whose rules follow today's version) the SQL "my work"
    condition and the engine's per-case ``allowed`` view name the same cases."""
    actor, now = shared.actors[who], shared.clock.now()
    with shared.app.db.connect() as conn:
        rows = queries.list_cases(conn, now, actor=actor, limit=10_000,
                                  where=inbox.work_condition(actor, now))
    mine = {r["code"] for r in rows}
    assert mine == engine_work(shared, who, list(data))
    if who in ("producer1", "commune1", "ip", "city"):
        assert mine, f"{who} should have work in the mixed data set"


def test_the_floating_reevaluation_is_work_under_todays_rules(
        shared: World, data: dict[str, tuple[str, str]]) -> None:
    """A 148 case (evaluated in July 2025, rules not pinned) re-opened in September is started
    by the commune officer of its commune (1489), not the other commune's nor a district's."""
    with shared.app.db.connect() as conn:
        (code,) = conn.execute(select(cases.c.code).where(
            cases.c.code.in_(list(data)), cases.c.state == "reevaluation",
            cases.c.rule_version == "148", cases.c.created_at < START)).scalars().all()
    now = shared.clock.now()
    with shared.app.db.connect() as conn:
        for who, expected in (("commune1", True), ("commune2", False), ("district1", False)):
            actor = shared.actors[who]
            rows = queries.list_cases(conn, now, actor=actor, limit=10_000,
                                      where=inbox.work_condition(actor, now))
            assert (code in {r["code"] for r in rows}) is expected, who


def test_my_work_is_one_query_however_many_cases(
        shared: World, data: dict[str, tuple[str, str]]) -> None:
    """The inbox does not run the engine per case: listing "my work" is one SQL statement."""
    statements: list[str] = []
    engine = shared.app.db

    def count(_conn: object, _cursor: object, sql: str, *_: object) -> None:
        statements.append(sql)
    event.listen(engine, "before_cursor_execute", count)
    try:
        actor, now = shared.actors["city"], shared.clock.now()
        with engine.connect() as conn:
            rows = queries.list_cases(conn, now, actor=actor,
                                      where=inbox.work_condition(actor, now))
    finally:
        event.remove(engine, "before_cursor_execute", count)
    selects = [sql for sql in statements if sql.lstrip().upper().startswith("SELECT")]
    assert len(rows) > 5 and len(selects) == 1, statements


def test_the_inbox_opens_on_my_work_and_leaves_out_cases_i_cannot_act_on(
        api: TestClient, shared: World, data: dict[str, tuple[str, str]]) -> None:
    """The IP officer's inbox lists the trademark checks only, not certified, expired or
    draft cases; the "all" view has those too."""
    sign_in(api, shared, "ip")
    page = api.get("/console/inbox").text
    states_listed = {data[c][1] for c in listed(page) if c in data}
    assert states_listed == {"ip_check"}
    assert 'data-view="mine" class="on"' in page
    every = listed(api.get("/console/inbox?view=all").text)
    assert {data[c][1] for c in every if c in data} >= {"certified", "expired", "draft"}


def test_the_other_views_are_one_click_away_and_filter(
        api: TestClient, shared: World, data: dict[str, tuple[str, str]]) -> None:
    """Tabs link to "all" and "overdue"; the by-state view lists one state only; a supervisor,
    who never acts, opens on all cases and has no "my work" tab."""
    sign_in(api, shared, "city")
    page = api.get("/console/inbox").text
    assert 'href="/console/inbox?view=all"' in page and 'href="/console/inbox?view=overdue"' in page
    by_state = listed(api.get("/console/inbox?view=state&state=certified").text)
    assert by_state and {data[c][1] for c in by_state if c in data} == {"certified"}
    sign_in(api, shared, "supervisor")
    page = api.get("/console/inbox").text
    assert 'data-view="mine"' not in page and 'data-view="all" class="on"' in page
    assert len(listed(page)) >= len(data)


def test_the_overdue_view_lists_only_late_cases_latest_due_last(
        api: TestClient, shared: World) -> None:
    """Two cases past their review-start deadline and one fresh: only the late two, the one
    due first on top."""
    first, second = shared.register(), None
    shared.fire(first, "submit", "producer1", DOCS)
    shared.clock.advance(days=2)
    second = shared.register()
    shared.fire(second, "submit", "producer1", DOCS)
    shared.clock.advance(days=40)
    fresh = shared.register()
    shared.fire(fresh, "submit", "producer1", DOCS)
    sign_in(api, shared, "commune1")
    late = listed(api.get("/console/inbox?view=overdue").text)
    assert first in late and second in late and fresh not in late
    assert late.index(first) < late.index(second)
    mine = listed(api.get("/console/inbox").text)
    assert mine.index(first) < mine.index(second) < mine.index(fresh)


def test_an_unknown_view_or_state_falls_back_without_an_error(
        api: TestClient, shared: World) -> None:
    """``?view=nonsense`` is the default view and an unknown state lists every state."""
    sign_in(api, shared, "city")
    assert api.get("/console/inbox?view=nonsense").status_code == 200
    r = api.get("/console/inbox?view=state&state=<b>x</b>")
    assert r.status_code == 200 and "<b>x</b>" not in r.text


def test_a_long_list_comes_a_page_at_a_time_and_says_how_many_in_all(
        shared: World, data: dict[str, tuple[str, str]]) -> None:
    """With 5 rows a page, the supervisor's "all" view says "1–5 of T", links to the next page
    (keeping the view), and the pages together list every case once."""
    sign_in_as = shared.tokens["supervisor"]
    with client(shared.app, ApiConfig(page_limit=5)) as api:
        post_sign_in(api, "supervisor", sign_in_as)
        page = api.get("/console/inbox?view=all").text
        with shared.app.db.connect() as conn:
            total = queries.count_cases(conn, shared.clock.now())
        assert f"Hồ sơ 1–5 trên tổng số {total}" in page
        assert 'href="/console/inbox?view=all&amp;page=2"' in page and 'rel="prev"' not in page
        pages = -(-total // 5)
        seen: list[str] = []
        for n in range(1, pages + 1):
            seen += listed(api.get(f"/console/inbox?view=all&page={n}").text)
        assert len(seen) == len(set(seen)) == total
        last = api.get(f"/console/inbox?view=all&page={pages}").text
        assert 'rel="next"' not in last and 'rel="prev"' in last
        assert api.get("/console/inbox?page=abc").status_code == 200
