"""Re-evaluation campaigns on SQLite: the ``--where`` words become checked register filters; a
plan over an imported 1048 cohort counts what the run re-opens; every selected case is re-opened
once, audited with the campaign's id and its producer told with the plan's message; the batch
writes exactly what single engine calls write; a case changed between plan and run is skipped
with why; a refused case writes nothing; a cancelled campaign does not run; ``ocop campaign``
prints the plan, the progress and the outcome."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.cohorts import row, write_csv
from tests.integration.cli_support import Ocop, around
from tests.support import START, World, make_app, record_intact
from workflow import campaigns, importer
from workflow.batch import apply_moving_batch
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock, local
from workflow.domain.facts import Event
from workflow.errors import Conflict, InvalidInput, OcopError
from workflow.store import adminlog
from workflow.store import campaigns as store
from workflow.store.schema import audit_entries, campaign_items, cases, deadlines, outbox

TODAY = local(START).date()
WHERE = "rules=1048 stars>=4 trademark=no"
MESSAGE = "Quyết định 148 yêu cầu giấy chứng nhận nhãn hiệu cho sản phẩm 4 sao."
# A day when a city officer may start a review: rule version 148, the districts just ended
# and their stages passed to the city office (OCOP_DISTRICT_SUCCESSOR=city).
CITY_STARTS = datetime(2025, 7, 2, 9, 0, tzinfo=VIETNAM)


def cohort(n: int) -> list[dict[str, Any]]:
    """``n`` valid certificates: three in four under 1048 (decided early 2023), the rest 148;
    two in three 4★, the others 3★; every other one with a trademark."""
    return [row(i, rule_version="1048" if i % 4 else "148",
                decision_date="2023-01-10" if i % 4 else "2024-03-01",
                stars=4 if i % 3 else 3, trademark_no=f"NH-{i}" if i % 2 else "",
                trademark_holder=f"HTX Nông sản số {i}" if i % 2 else "")
            for i in range(n)]


def selected(rows: list[dict[str, Any]]) -> set[str]:
    """The certificate numbers :data:`WHERE` selects, as the rows say."""
    return {r["certificate_no"] for r in rows if r["rule_version"] == "1048"
            and r["stars"] >= 4 and not r["trademark_no"]}


def imported(app: App, folder: Path, rows: list[dict[str, Any]]) -> World:
    world = World(app)
    importer.run(app.db, write_csv(folder / "cohort.csv", rows), world.actors["system"],
                 app.clock.now())
    return world


@pytest.fixture
def app() -> Iterator[App]:
    made = make_app("sqlite://", FixedClock(START))
    yield made
    made.close()


def codes_by_number(app: App) -> dict[str, str]:
    with app.db.connect() as conn:
        return {r.number: r.code for r in conn.execute(store.selection(
            campaigns.parse_where(conn, "rules=1048,148", TODAY)))}


def states_of(app: App) -> dict[str, str]:
    with app.db.connect() as conn:
        return {r.code: r.state for r in conn.execute(select(cases.c.code, cases.c.state))}


# --- the words -----------------------------------------------------------------------------------

def where(app: App, text: str) -> Any:
    with app.db.connect() as conn:
        return campaigns.parse_where(conn, text, TODAY)


def test_where_words_become_checked_register_filters(app: App) -> None:
    """Comparisons on stars count "4+" as a 4★; issued bounds the decision date; expiring
    within N days; a quoted level with spaces; only valid certificates."""
    f = where(app, 'rules=1048 stars>=4 trademark=no group=food level="Cấp thành phố" unit=10126 '
                   "issued<2021-01-01 issued>=2019-01-01 expiring<=90")
    assert (f.rules, f.stars, f.trademark, f.groups, f.levels) == (
        ("1048",), ("4", "4+", "5"), False, ("food",), ("city",))
    assert f.unit == "10126" and f.statuses == ("valid",) and f.expiring_days == 90
    assert f.decided == (date(2019, 1, 1), date(2020, 12, 31))
    assert where(app, "stars>4").stars == ("5",)
    assert where(app, "stars<4 expiring<30").stars == ("3",)
    assert where(app, "expiring<30").expiring_days == 29
    assert where(app, "stars=4 issued=2020-05-01").decided == (date(2020, 5, 1),
                                                               date(2020, 5, 1))


@pytest.mark.parametrize(("text", "code"), [
    ("rules>1048", "campaign_where_word"), ("colour=red", "campaign_where_word"),
    ("stars>=6", "campaign_where_word"), ("stars", "campaign_where_word"),
    ("expiring>=30", "campaign_where_word"), ("issued<2021-13-01", "campaign_where_date"),
    ("issued<2021-01-01 issued<=2020-01-01", "campaign_where_twice"), ("", "campaign_where_empty"),
    ('unit="Bình', "campaign_where_unreadable"), ("rules=999", "register_rules_unknown"),
    ("trademark=maybe", "register_trademark_invalid"), ("unit=Atlantis", "unit_unknown"),
    ("rules=1048 " * 50, "campaign_where_too_long"),
])
def test_a_bad_word_is_refused_naming_it(app: App, text: str, code: str) -> None:
    """Each refusal names the word (or value) and what is allowed, in one sentence."""
    with pytest.raises(InvalidInput) as refused:
        where(app, text)
    assert refused.value.code == code
    assert refused.value.text("en").count(". ") == 0


# --- a campaign over a cohort ----------------------------------------------------------------

def entries_of(app: App, trigger: str) -> list[Any]:
    with app.db.connect() as conn:
        return conn.execute(select(audit_entries.c.case_id, audit_entries.c.data,
                                   audit_entries.c.reason, audit_entries.c.actor)
                            .where(audit_entries.c.trigger == trigger)).all()


def test_a_campaign_reopens_every_selected_case_once_audited_and_notified(
        app: App, tmp_path: Path) -> None:
    """The plan's count is the run's; each selected case is in re-evaluation with one entry
    naming the campaign and the plan's message, one status notice per channel carrying the
    message; nothing else moved; the plan, start and finish are in the admin log; every
    chain, seal and replay verifies."""
    rows = cohort(160)
    world = imported(app, tmp_path, rows)
    numbers = codes_by_number(app)
    expected = {numbers[n] for n in selected(rows)}
    before = states_of(app)
    city = world.actors["city"]
    made = campaigns.plan(app, city, WHERE, message=MESSAGE, limit=5)
    assert made["count"] == len(expected) == 27 and len(made["cases"]) == 5
    assert states_of(app) == before  # planning changes no case
    seen: list[dict[str, int]] = []
    done = campaigns.run(app, made["id"], city, chunk=15, progress=seen.append)
    assert done["status"] == "done" and done["started_by"] == "city"
    assert done["counts"] == {"done": 27, "skipped": 0, "failed": 0, "left": 0}
    assert [s["left"] for s in seen] == [12, 0]
    after = states_of(app)
    assert {c for c, s in after.items() if s != before[c]} == expected
    assert {after[c] for c in expected} == {"reevaluation"}
    opened = entries_of(app, "open_reevaluation")
    assert len(opened) == 27 and len({e.case_id for e in opened}) == 27
    assert {(json.loads(e.data)["campaign"], json.loads(e.data)["reason"], e.reason, e.actor)
            for e in opened} == {(made["id"], "criteria_change", MESSAGE, "city")}
    with app.db.connect() as conn:
        notices = conn.execute(select(outbox.c.case_id, outbox.c.channel, outbox.c.payload)
                               .where(outbox.c.kind == "status")).all()
        log = [e["action"] for e in adminlog.entries(conn, f"campaign:{made['id']}")]
    assert len(notices) == 27 == len({(n.case_id, n.channel) for n in notices})
    assert {n.payload["reason"] for n in notices} == {MESSAGE}
    assert log == ["campaign_finish", "campaign_start", "campaign_plan"]
    record_intact(app)
    assert campaigns.run(app, made["id"], city)["counts"]["done"] == 27  # again: nothing
    assert len(entries_of(app, "open_reevaluation")) == 27


def test_a_case_changed_between_plan_and_run_is_skipped_with_why(
        app: App, tmp_path: Path) -> None:
    """One case revoked and one re-opened by hand after planning: both skipped and reported,
    neither forced; the others re-opened."""
    world = imported(app, tmp_path, cohort(24))
    made = campaigns.plan(app, world.actors["admin"], WHERE)
    first, second = [c["code"] for c in made["cases"][:2]]
    world.fire(first, "revoke", "city", {"reason_code": "violation"}, "Vi phạm nhãn")
    world.fire(second, "open_reevaluation", "city", {"reason": "inspection"})
    done = campaigns.run(app, made["id"], world.actors["admin"])
    assert done["counts"] == {"done": made["count"] - 2, "skipped": 2, "failed": 0, "left": 0}
    assert {s["code"]: s["detail"]["code"] for s in done["skipped"]} == {
        first: "campaign_skipped_state", second: "campaign_skipped_state"}
    assert states_of(app)[first] == "revoked"
    opened = entries_of(app, "open_reevaluation")
    assert len(opened) == made["count"] - 1  # the hand-made one, and the campaign's
    # An administrator may not re-open a case: the entries name the system.
    assert {e.actor for e in opened if "campaign" in json.loads(e.data)} == {"system"}
    record_intact(app)


def test_a_cancelled_campaign_does_not_run(app: App, tmp_path: Path) -> None:
    """Cancel leaves the items pending and is logged; run is refused and changes nothing;
    a second cancel is refused."""
    world = imported(app, tmp_path, cohort(12))
    city = world.actors["city"]
    made = campaigns.plan(app, city, WHERE)
    shown = campaigns.cancel(app, made["id"], city)
    assert shown["status"] == "cancelled" and shown["counts"]["left"] == made["count"]
    before = states_of(app)
    with pytest.raises(Conflict) as refused:
        campaigns.run(app, made["id"], city)
    assert refused.value.code == "campaign_cancelled"
    assert campaigns.run_chunk(app, made["id"]) == 0
    assert states_of(app) == before
    with pytest.raises(Conflict):
        campaigns.cancel(app, made["id"], city)
    with pytest.raises(OcopError) as forbidden:
        campaigns.plan(app, world.actors["district1"], WHERE)
    assert forbidden.value.code == "role_may_not_do"


def test_start_review_is_refused_at_planning_where_the_city_may_not_start_one(
        app: App, tmp_path: Path) -> None:
    """Under 1489 a review is the commune's to start: planning ``--start-review`` says so."""
    world = imported(app, tmp_path, cohort(4))
    with pytest.raises(InvalidInput) as refused:
        campaigns.plan(app, world.actors["city"], WHERE, start_review=True)
    assert refused.value.code == "campaign_start_review_not_city"
    assert refused.value.params["roles"] == ["commune_officer"]
    with app.db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(campaign_items)).scalar() == 0


# --- the batch against the engine ---------------------------------------------------------------

def written(app: App, code: str) -> dict[str, Any]:
    """What a case's transitions wrote, without ids, hashes and the case's own names."""
    with app.db.connect() as conn:
        case = conn.execute(select(cases).where(cases.c.code == code)).one()._mapping
        cid = case["id"]
        entries = [{k: (json.loads(v) if k == "data" else v) for k, v in e._mapping.items()
                    if k not in ("id", "case_id", "hash", "prev_hash")}
                   for e in conn.execute(select(audit_entries).where(
                       audit_entries.c.case_id == cid, audit_entries.c.seq > 1)
                       .order_by(audit_entries.c.seq))]
        clocks = sorted((d.kind, d.state, d.status, d.due_at, d.working_days, d.level)
                        for d in conn.execute(select(deadlines).where(
                            deadlines.c.case_id == cid)))
        notices = [(m.kind, m.channel, m.recipient, m.lang, m.audit_seq, m.status,
                    m.available_at, {k: v for k, v in m.payload.items()
                                     if k not in ("case_code", "product", "producer",
                                                  "status_url")})
                   for m in conn.execute(select(outbox).where(outbox.c.case_id == cid)
                                         .order_by(outbox.c.audit_seq, outbox.c.channel))]
    for e in entries:
        e["data"].pop("campaign", None)
    keep = ("state", "version", "rule_version", "rules_pinned", "reevaluation_reason", "score",
            "stars", "star_cap", "product_group", "potential_5", "audit_seq", "return_state",
            "trademark_no", "updated_at")
    return {"case": {k: case[k] for k in keep}, "entries": entries, "clocks": clocks,
            "notices": notices}


def test_the_batch_writes_what_single_engine_calls_write(tmp_path: Path) -> None:
    """Two like cases: one re-opened and put under review by two ``engine.apply`` calls, the
    other by a campaign with --start-review (the city office starts reviews as the districts'
    successor): the case rows, entries (but the campaign id), clocks and notices agree."""
    app = make_app("sqlite://", FixedClock(CITY_STARTS), district_successor="city_officer")
    try:
        world = imported(app, tmp_path, [row(i, rule_version="1048", decision_date="2023-01-10")
                                         for i in (1, 2)])
        alone, batched = sorted(codes_by_number(app).values())
        world.fire(alone, "open_reevaluation", "city", {"reason": "criteria_change"}, MESSAGE)
        world.fire(alone, "start_review", "city")
        made = campaigns.plan(app, world.actors["city"], "rules=1048", message=MESSAGE,
                              start_review=True)
        assert [c["code"] for c in made["cases"]] == [batched]
        assert campaigns.run(app, made["id"], world.actors["city"])["counts"]["done"] == 1
        one, other = written(app, alone), written(app, batched)
        assert one["case"]["state"] == "district_review" and len(one["entries"]) == 2
        assert one == other
        record_intact(app)
    finally:
        app.close()


def test_a_refused_case_writes_nothing_and_the_rest_proceed(app: App, tmp_path: Path) -> None:
    """In one batch, a case given a trigger the batch does not take, and one whose second
    event is refused, are returned as errors with nothing of theirs written; the third is
    re-opened."""
    world = imported(app, tmp_path, [row(i, rule_version="1048", decision_date="2023-01-10")
                                     for i in range(3)])
    first, second, third = sorted(codes_by_number(app).values())
    city = world.actors["city"]
    with app.db.begin() as conn:
        locked = {r.code: dict(r._mapping) for r in conn.execute(store.LOCK_CASES, {
            "ids": list(conn.execute(select(cases.c.id)).scalars())})}
        results = apply_moving_batch(conn, app.engine, [
            [Event(first, "revoke", city, {"reason": "violation"})],
            [Event(second, "open_reevaluation", city, {"reason": "expiry"}),
             Event(second, "start_review", city)],
            [Event(third, "open_reevaluation", city, {"reason": "expiry"})]], locked)
    assert [r.code if isinstance(r, OcopError) else [a.to_state for a in r]
            for r in results] == ["not_moving_trigger", "role_may_not", ["reevaluation"]]
    assert states_of(app) == {first: "certified", second: "certified", third: "reevaluation"}
    record_intact(app)


# --- the command line --------------------------------------------------------------------------

@pytest.fixture
def ocop(app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Ocop:
    return around(app, capsys, monkeypatch, "en")


def test_ocop_campaign_plan_run_show_list_and_cancel(
        app: App, ocop: Ocop, tmp_path: Path) -> None:
    """The plan prints the count and the cases; run prints progress lines (no terminal) and
    the outcome; show and list the counts; a cancelled campaign's run is refused in one
    sentence."""
    imported(app, tmp_path, cohort(24))
    note = tmp_path / "message.txt"
    note.write_text(MESSAGE + "\n", encoding="utf-8")
    planned = ocop.ok("campaign", "plan", "--where", WHERE, "--message-file", str(note),
                      "--limit", "2")
    assert planned.out.startswith("Campaign 1 planned: 4 cases to re-open")
    assert "… and 2 more." in planned.out and "ocop campaign run 1" in planned.out
    ran = ocop.ok("campaign", "run", "1", "--chunk", "3")
    assert ran.err.splitlines() == ["done 3, skipped 0, failed 0, left 1",
                                    "done 4, skipped 0, failed 0, left 0"]
    assert "done 4, skipped 0, failed 0, left 0" in ran.out and "started by cli" in ran.out
    shown = ocop.ok("campaign", "show", "1", "--json").json()
    assert (shown["status"], shown["message"], shown["planned_by"]) == ("done", MESSAGE, "cli")
    ocop.ok("campaign", "plan", "--where", "rules=148", "--json")
    assert [c["status"] for c in ocop.ok("campaign", "list", "--json").json()] == [
        "planned", "done"]
    ocop.ok("campaign", "cancel", "2")
    refused = ocop("campaign", "run", "2")
    assert refused.code != 0 and refused.err.startswith("error: Campaign 2 was cancelled")
    assert ocop("campaign", "plan", "--where", "stars>=9").err.startswith(
        "error: The selection word \"stars>=9\" is not allowed; allowed: rules (=), ")
