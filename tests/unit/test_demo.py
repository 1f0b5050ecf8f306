"""The demo as loaded on 2026-11-30: live cases under Decision 1489 with work waiting for every
demo role, historic 148 and 1048 dossiers, no district officer at work, and a tokens file that
names each demo user's role and scope."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.api_support import client
from tests.support import make_app, record_intact
from workflow import demo, record, registry
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock
from workflow.store import queries
from workflow.store.schema import audit_entries, cases, outbox, producers

TODAY = datetime(2026, 11, 30, 9, 0, tzinfo=VIETNAM)
WAITING = ("draft", "registered", "commune_prescore", "needs_completion", "ip_check",
           "city_rating", "central_review")


@pytest.fixture(scope="module")
def loaded() -> Iterator[tuple[App, dict[str, str]]]:
    app = make_app("sqlite://", FixedClock(TODAY))
    tokens = demo.load(app)
    yield app, tokens
    app.close()


def work(app: App, user: str) -> dict[str, tuple[str, list[str]]]:
    """Case code -> (state, the triggers ``user`` may fire on it today), by the engine's
    own ``allowed`` view; cases with nothing allowed are left out."""
    out: dict[str, tuple[str, list[str]]] = {}
    with app.db.connect() as conn:
        actor = registry.actor_named(conn, user)
        for row in queries.list_cases(conn, app.clock.now()):
            may = [a["trigger"] for a in queries.allowed(conn, row["code"], actor, TODAY)
                   if a["allowed"]]
            if may:
                out[row["code"]] = (row["state"], may)
    return out


def fires(app: App, user: str, state: str, trigger: str) -> bool:
    return any(s == state and trigger in may for s, may in work(app, user).values())


def all_cases(app: App) -> list[dict[str, Any]]:
    with app.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(cases))]


def test_every_demo_role_has_work_waiting_today(loaded: tuple[App, dict[str, str]]) -> None:
    """On 2026-11-30 the officer of Xã Bình Minh (which took in Cự Khê) may start a registered
    case and pre-score
    another; the IP officer check a trademark; the city officer score a case and record a
    central decision; a producer resubmit and another submit a draft."""
    app, _ = loaded
    assert fires(app, "phamthu.binhminh", "registered", "start_review")
    assert fires(app, "phamthu.binhminh", "commune_prescore", "record_commune_prescore")
    assert fires(app, "dokhoa.sokhcn", "ip_check", "verify_ip")
    assert fires(app, "hoangnam.vpdp", "city_rating", "record_city_score")
    assert fires(app, "hoangnam.vpdp", "central_review", "record_central_result")
    assert fires(app, "tohoptac.miendong", "needs_completion", "resubmit")
    assert fires(app, "congty.trasen", "draft", "submit")


def test_the_supervisor_has_an_overdue_case_that_escalated(
        loaded: tuple[App, dict[str, str]]) -> None:
    """A case whose review never started has been escalated to the supervisor (in-app), and
    is still waiting at registration."""
    app, _ = loaded
    with app.db.connect() as conn:
        escalated = conn.execute(
            select(cases.c.state).join(outbox, outbox.c.case_id == cases.c.id)
            .where(outbox.c.kind == "escalation", outbox.c.recipient == "role:supervisor")
        ).scalars().all()
    assert escalated and set(escalated) == {"registered"}


def test_live_cases_are_1489_and_the_history_keeps_148_and_1048(
        loaded: tuple[App, dict[str, str]]) -> None:
    """Every case still under way follows Decision 1489; two 148 certificates are valid today;
    the 1048 certificate of 2022 has expired on time."""
    app, _ = loaded
    rows = all_cases(app)
    assert {r["rule_version"] for r in rows if r["state"] in WAITING} == {"1489"}
    assert set(WAITING) <= {r["state"] for r in rows}
    assert sum(r["rule_version"] == "148" and r["state"] == "certified" for r in rows) == 2
    assert [r["state"] for r in rows if r["rule_version"] == "1048"] == ["expired"]


def test_the_officers_of_retired_units_only_read_their_history(
        loaded: tuple[App, dict[str, str]]) -> None:
    """Districts and the old communes ended on 2025-07-01: no case waits at a district; the
    officers of those units stay in the audit trail, may still sign in, have nothing allowed,
    and read the cases of their old unit (a district officer the 148 case they scored)."""
    app, tokens = loaded
    assert "district_review" not in {r["state"] for r in all_cases(app)}
    for officer in ("buiduc.thanhoai", "daoquang.phuxuyen", "maiphuong.hadong",
                    "nguyenvan.vanphuc"):
        assert officer in tokens and work(app, officer) == {}
        with app.db.connect() as conn:
            assert conn.execute(select(audit_entries.c.seq)
                                .where(audit_entries.c.actor == officer)).first()
            actor = registry.actor_named(conn, officer)
            seen = queries.list_cases(conn, TODAY, actor=actor)
        assert actor.unit_ended is not None and seen, officer


def test_the_producers_moved_to_their_new_communes_on_2025_07_01(
        loaded: tuple[App, dict[str, str]]) -> None:
    """The replay ran the remap on 2025-07-01: every producer is in a commune of today, and
    the cases opened since carry it; the 2022 and 2024 cases keep the units they had."""
    app, _ = loaded
    with app.db.connect() as conn:
        where = {r.name: r.commune_code for r in conn.execute(select(
            producers.c.name, producers.c.commune_code))}
    assert where["HTX Tương Cự Đà"] == "10126" and where["HTX Lụa Vạn Phúc"] == "09556"
    assert not any(code.startswith("old:") for code in where.values())
    rows = all_cases(app)
    assert {r["commune_code"] for r in rows if r["rule_version"] == "1489"} <= set(
        where.values())
    assert all(r["commune_code"].startswith("old:") for r in rows
               if r["rule_version"] == "1048")


def test_the_tokens_file_names_role_scope_and_token_and_each_token_signs_in(
        loaded: tuple[App, dict[str, str]], tmp_path: Path) -> None:
    """One header line starting with #, then name, role, scope, token (last), tab-separated;
    every token is the named user's."""
    app, tokens = loaded
    path = tmp_path / "demo-tokens.txt"
    demo.save_tokens(path, tokens, demo.people(app))
    header, *lines = path.read_text(encoding="utf-8").splitlines()
    assert header.startswith("#") and len(lines) == len(tokens)
    fields = {line.split("\t")[0]: line.split("\t") for line in lines}
    assert fields["phamthu.binhminh"][1:3] == ["commune_officer", "Xã Bình Minh [10126]"]
    assert fields["htx.tuongcuda"][1:3] == ["producer", "HTX Tương Cự Đà"]
    with app.db.connect() as conn:
        for name, (*_, token) in fields.items():
            actor = registry.actor_by_token(conn, token)
            assert actor is not None and actor.name == name


def test_the_sign_in_page_says_where_the_demo_tokens_are(
        loaded: tuple[App, dict[str, str]], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """With a demo tokens file under OCOP_HOME the sign-in page names it; without, it does
    not mention a demo."""
    app, tokens = loaded
    monkeypatch.setenv("OCOP_HOME", str(tmp_path))
    with client(app) as api:
        assert "demo-tokens.txt" not in api.get("/console/sign-in").text
        demo.save_tokens(tmp_path / "demo-tokens.txt", tokens, demo.people(app))
        page = api.get("/console/sign-in").text
    assert str(tmp_path / "demo-tokens.txt") in page and "bản trình diễn" in page


def test_the_demo_record_verifies_with_a_checkpoint(loaded: tuple[App, dict[str, str]]) -> None:
    """The demo's years of history — remap, transfers, sweeps, certificates — replay to its
    rows, every seal and certificate checks, and so does a checkpoint of it."""
    app, _ = loaded
    before = record_intact(app)
    assert before.cases > 10 and before.partial_cases == 0
    record.take_checkpoint(app)
    after = record_intact(app)
    assert after.checkpoint is not None and after.entries == before.entries
