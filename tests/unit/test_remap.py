"""The 2025 reorganisation on a 2025 dataset (SQLite): ``remap`` moves producers and live cases
of retired communes to their successors, transfers every live case at a district stage once,
audited and with its producer told; the dry run says exactly that and changes nothing; a second
run changes nothing; ``rollup`` counts cases by the old units or the new."""

from __future__ import annotations

import html
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, select, text

from tests.api_support import bearer, client
from tests.support import (
    DOCS,
    OTHER_SUITES,
    TEST_SIGNING_KEY,
    make_app,
    record_intact,
    sim_sheets,
)
from tests.unit.lifecycle_support import snapshot
from workflow import registry, remap
from workflow.bootstrap import App, bootstrap
from workflow.clock import VIETNAM, FixedClock
from workflow.config import Settings
from workflow.domain import outbox as notices
from workflow.domain.facts import Event
from workflow.errors import Forbidden, InvalidInput
from workflow.i18n import label
from workflow.messaging.channels.render import render
from workflow.store import audit, queries
from workflow.store.db import make_engine, write_transaction
from workflow.store.schema import (
    admin_log,
    audit_entries,
    cases,
    outbox,
    producers,
    unit_successors,
)

BEFORE = datetime(2025, 5, 5, 9, 0, tzinfo=VIETNAM)  # a Monday under rule version 148
AFTER = datetime(2025, 9, 1, 9, 0, tzinfo=VIETNAM)  # districts ended two months ago
BINH_MINH, HA_DONG, TAM_HUNG_OLD = "10126", "09556", "old:10138"
CU_KHE, VAN_PHUC = "old:10120", "old:09544"
# The cases of the dataset: key -> (producer, what was done to it before 2025-07-01).
MOVED_ONLY = {"draft", "registered", "ip_check"}
TRANSFERRED = {"pinned_registered", "district_review", "district_review_2", "needs_completion"}
KEPT = {"certified", "rejected"}
UNMAPPED = {"unmapped_review"}


@dataclass
class Dataset:
    app: App
    codes: dict[str, str]
    tokens: dict[str, str]

    def code(self, key: str) -> str:
        return self.codes[key]

    def keys_of(self, codes: list[str]) -> set[str]:
        by_code = {v: k for k, v in self.codes.items()}
        return {by_code[c] for c in codes}


def build_2025(app: App) -> tuple[dict[str, str], dict[str, str]]:
    """Producers in old communes of Hà Nội and the district officers of 2025 acting on 148
    cases, on ``app`` (its clock before 2025-07-01); the mapping then loses Tam Hưng's
    successor, so one producer and one case cannot be mapped. Returns the cases' codes by key
    and the users' tokens."""
    clock: FixedClock = app.clock  # type: ignore[assignment]
    now = clock.now()
    tokens: dict[str, str] = {}
    with write_transaction(app.db) as conn:
        pa = registry.add_producer(conn, now, "HTX Tương Cự Đà", "cooperative", "Thanh Oai",
                                   "Cự Khê", "tuong@example.vn")
        pb = registry.add_producer(conn, now, "Làng lụa Vạn Phúc", "household", "Hà Đông",
                                   "Vạn Phúc")
        pc = registry.add_producer(conn, now, "HTX Mây tre Tam Hưng", "cooperative",
                                   "Thanh Oai", "Tam Hưng")
        for name, role, district, pid in [
                ("pa", "producer", None, pa), ("pb", "producer", None, pb),
                ("pc", "producer", None, pc), ("district1", "district_officer", "Thanh Oai", None),
                ("district2", "district_officer", "Hà Đông", None),
                ("ip", "ip_officer", None, None), ("city", "city_officer", None, None)]:
            tokens[name] = registry.add_user(conn, now, name, role, district, None, pid,
                                             token_days=3650)
    codes: dict[str, str] = {}

    def register(key: str, who: str, pinned: bool = False) -> str:
        with write_transaction(app.db) as conn:
            actor = registry.actor_named(conn, "city" if pinned else who)
            producer = registry.actor_named(conn, who).producer_id or 0
            codes[key] = registry.register_case(conn, clock.now(), actor, registry.Registration(
                producer, f"Sản phẩm {key}", "food", None, "148" if pinned else None),
                public_url=app.settings.public_url)
        return codes[key]

    def fire(key: str, trigger: str, who: str, data: dict[str, Any] | None = None,
             reason: str | None = None) -> None:
        with app.db.connect() as conn:
            actor = registry.actor_named(conn, who)
        app.engine.apply(Event(codes[key], trigger, actor, data or {}, reason))

    def reviewed(key: str, producer: str, district: str) -> None:
        register(key, producer)
        fire(key, "submit", producer, DOCS)
        fire(key, "start_review", district)

    register("draft", "pa")
    register("registered", "pa")
    fire("registered", "submit", "pa", DOCS)
    register("pinned_registered", "pa", pinned=True)
    fire("pinned_registered", "submit", "pa", DOCS)
    reviewed("district_review", "pa", "district1")
    reviewed("district_review_2", "pb", "district2")
    reviewed("needs_completion", "pb", "district2")
    fire("needs_completion", "request_completion", "district2", {"days": 30}, "thiếu ảnh")
    reviewed("ip_check", "pa", "district1")
    fire("ip_check", "record_district_score", "district1", sim_sheets((30, 20, 25)))
    reviewed("certified", "pa", "district1")
    fire("certified", "record_district_score", "district1", sim_sheets((25, 15, 20)))
    reviewed("rejected", "pb", "district2")
    fire("rejected", "record_district_score", "district2", sim_sheets((15, 10, 10)))
    reviewed("unmapped_review", "pc", "district1")
    with write_transaction(app.db) as conn:
        conn.execute(delete(unit_successors).where(unit_successors.c.old_key == TAM_HUNG_OLD))
    return codes, tokens


def officers_of_today(app: App) -> dict[str, str]:
    """The new communes' officers, made after the reorganisation."""
    with write_transaction(app.db) as conn:
        return {name: registry.add_user(conn, app.clock.now(), name, "commune_officer",
                                        commune=unit, token_days=3650)
                for name, unit in (("binhminh", BINH_MINH), ("hadong", HA_DONG))}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str],
                                                                  dict[str, str]]:
    """The 2025 dataset in an SQLite file, built once; each test works on a copy."""
    path = tmp_path_factory.mktemp("remap") / "ocop.db"
    app = make_app(f"sqlite:///{path}", FixedClock(BEFORE))
    try:
        codes, tokens = build_2025(app)
    finally:
        app.close()
    return path, codes, tokens


def open_app(path: Path | str, now: datetime = AFTER, **settings: Any) -> App:
    """The app on a database made earlier (a file, or a URL), without loading the units again
    (which would restore the mapping the dataset took away)."""
    url = path if isinstance(path, str) else f"sqlite:///{path}"
    cfg = replace(Settings(database_url=url, signing_key=TEST_SIGNING_KEY), **OTHER_SUITES,
                  **settings)
    return bootstrap(cfg, clock=FixedClock(now), db=make_engine(cfg.database_url))


@pytest.fixture
def ds(template: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path
       ) -> Iterator[Dataset]:
    """A copy of the dataset, its clock moved to 2025-09-01."""
    path, codes, tokens = template
    shutil.copy(path, tmp_path / "ocop.db")
    app = open_app(tmp_path / "ocop.db")
    yield Dataset(app, codes, dict(tokens))
    app.close()


def everything(app: App) -> dict[str, Any]:
    """Every row a remap may write: the cases' tables, producers and the admin log."""
    out = snapshot(app)
    with app.db.connect() as conn:
        for table in (producers, admin_log):
            out[table.name] = [tuple(r) for r in conn.execute(
                select(table).order_by(table.c.id))]
    return out


def run(app: App, dry_run: bool = False, operator: str = "cli") -> remap.Report:
    return remap.run(app.db, app.clock.now(), app.settings, operator, dry_run=dry_run)


def case_of(app: App, code: str) -> dict[str, Any]:
    with app.db.connect() as conn:
        return queries.case_row(conn, code)


def entries(app: App, code: str, trigger: str) -> list[Any]:
    with app.db.connect() as conn:
        return list(conn.execute(
            select(audit_entries).join(cases, cases.c.id == audit_entries.c.case_id)
            .where(cases.c.code == code, audit_entries.c.trigger == trigger)))


def test_the_dry_run_lists_every_move_and_transfer_and_changes_nothing(ds: Dataset) -> None:
    """Both producers of mapped communes move (Tam Hưng's has no successor: listed with the
    reason); every live case moves; the four at a district stage are transferred to the commune
    officer; closed ones (certified, rejected) stay; nothing is written."""
    before = everything(ds.app)
    report = run(ds.app, dry_run=True)
    assert everything(ds.app) == before
    assert report.dry_run and report.counts() == {
        "producers_moved": 2, "cases_moved": 7, "cases_transferred": 4, "unmapped": 2}
    assert {(p.name, p.old.key, p.new.key) for p in report.producers} == {
        ("HTX Tương Cự Đà", CU_KHE, BINH_MINH), ("Làng lụa Vạn Phúc", VAN_PHUC, HA_DONG)}
    moved = [c.code for c in report.cases if c.new is not None]
    assert ds.keys_of(moved) == MOVED_ONLY | TRANSFERRED
    transferred = [c.code for c in report.cases if c.transfer_to == "commune_officer"]
    assert ds.keys_of(transferred) == TRANSFERRED
    assert {(u.what, u.old.key, u.reason) for u in report.unmapped} == {
        ("producer", TAM_HUNG_OLD, "no_successor"), ("case", TAM_HUNG_OLD, "no_successor")}


def test_the_run_does_exactly_what_the_dry_run_said(ds: Dataset) -> None:
    """Same producers, cases, transfers and unmapped rows, in the same order."""
    said = run(ds.app, dry_run=True).as_dict()
    done = run(ds.app).as_dict()
    assert {**said, "dry_run": False} == done


def test_every_district_stage_case_is_transferred_once_audited_and_its_producer_told(
        ds: Dataset) -> None:
    """Each moved case has one ``reassign_unit`` entry (from its old commune and district, to
    the new commune) and each district-stage case one ``transfer_case`` entry after it, both by
    the operator as the system, state unchanged; the chains verify; the case keeps its old
    district (read access) and takes the new commune; its producer gets one ``transferred``
    notice per channel, linking the status page."""
    run(ds.app, operator="nguyen.operator")
    for key in MOVED_ONLY | TRANSFERRED:
        code, case = ds.code(key), case_of(ds.app, ds.code(key))
        moves = entries(ds.app, code, remap.REASSIGN)
        assert len(moves) == 1, key
        data = json.loads(moves[0].data)
        assert data["to"]["code"] == case["commune_code"] in (BINH_MINH, HA_DONG)
        assert data["from"]["codes"] == {"district": case["district_code"],
                                         "commune": data["from"]["codes"]["commune"]}
        assert data["from"]["codes"]["commune"] in (CU_KHE, VAN_PHUC)
        assert case["district_code"] in ("old:278", "old:268")
        assert (moves[0].actor, moves[0].role, moves[0].from_state, moves[0].to_state) == (
            "nguyen.operator", "system", case["state"], case["state"])
        transfers = entries(ds.app, code, remap.TRANSFER)
        assert len(transfers) == (1 if key in TRANSFERRED else 0), key
        with ds.app.db.connect() as conn:
            notices = conn.execute(select(outbox).where(
                outbox.c.case_id == case["id"], outbox.c.kind == "transferred")).all()
        if key not in TRANSFERRED:
            assert notices == []
            continue
        assert transfers[0].seq == moves[0].seq + 1 == case["audit_seq"]
        assert json.loads(transfers[0].data) == {
            "to_role": "commune_officer", "unit": case["commune_code"],
            "reason": remap.TRANSFER_WHY}
        expected_channels = {"inapp", "email"} if "Cự Đà" in case["producer_name"] else {
            "inapp"}
        assert {n.channel for n in notices} == expected_channels and len(notices) == len(
            expected_channels)
        for n in notices:
            assert n.audit_seq == transfers[0].seq and n.status == "pending"
            subject, body = render("transferred", "vi", n.payload)
            assert code in subject and n.payload["status_url"] in body
    with ds.app.db.connect() as conn:
        assert audit.verify(conn).ok
    record_intact(ds.app)


def test_closed_and_unmapped_cases_keep_their_units_and_history(ds: Dataset) -> None:
    """Certified and rejected cases, and the case of a commune with no successor, are not
    touched; the producer without a successor keeps its unit."""
    before = {key: case_of(ds.app, ds.code(key)) for key in KEPT | UNMAPPED}
    run(ds.app)
    for key, case in before.items():
        assert case_of(ds.app, ds.code(key)) == case, key
    with ds.app.db.connect() as conn:
        kept = conn.execute(select(producers.c.commune_code)
                            .where(producers.c.name == "HTX Mây tre Tam Hưng")).scalar_one()
    assert kept == TAM_HUNG_OLD


def test_producers_move_and_each_move_is_in_the_admin_log(ds: Dataset) -> None:
    """A moved producer takes the new commune (key and name) and leaves its ended district;
    the admin log records each move by the operator, with where it came from."""
    run(ds.app, operator="nguyen.operator")
    with ds.app.db.connect() as conn:
        rows = {r.name: r for r in conn.execute(select(producers))}
        log = [r for r in conn.execute(select(admin_log).order_by(admin_log.c.seq))
               if r.action == remap.PRODUCER_MOVED]
    assert (rows["HTX Tương Cự Đà"].commune_code, rows["HTX Tương Cự Đà"].commune,
            rows["HTX Tương Cự Đà"].district_code) == (BINH_MINH, "Xã Bình Minh", None)
    assert rows["Làng lụa Vạn Phúc"].commune_code == HA_DONG
    assert [(r.actor, r.target) for r in log] == [
        ("nguyen.operator", f"producer:{rows['HTX Tương Cự Đà'].id}"),
        ("nguyen.operator", f"producer:{rows['Làng lụa Vạn Phúc'].id}")]
    assert json.loads(log[0].data)["from"]["codes"] == {"district": "old:278",
                                                        "commune": CU_KHE}


def test_the_successor_commune_officer_acts_and_the_old_district_officer_only_reads(
        ds: Dataset) -> None:
    """After the run the Bình Minh officer scores the transferred district review (200); the
    Thanh Oai district officer is refused (403) and still reads the case and its history."""
    run(ds.app)
    tokens = {**ds.tokens, **officers_of_today(ds.app)}
    code = ds.code("district_review")
    with client(ds.app) as api:
        refused = api.post(f"/api/v1/cases/{code}/events", headers=bearer(tokens["district1"]),
                           json={"trigger": "record_district_score",
                                 "data": sim_sheets((25, 15, 20))})
        assert refused.status_code == 403, refused.text
        seen = api.get(f"/api/v1/cases/{code}", headers=bearer(tokens["district1"]))
        assert seen.status_code == 200
        assert [h["trigger"] for h in seen.json()["history"]][-2:] == [
            remap.REASSIGN, remap.TRANSFER]
        listed = api.get("/api/v1/cases", headers=bearer(tokens["district1"])).json()
        assert code in {c["code"] for c in listed["items"]}
        done = api.post(f"/api/v1/cases/{code}/events", headers=bearer(tokens["binhminh"]),
                        json={"trigger": "record_district_score",
                              "data": sim_sheets((25, 15, 20))})
        assert done.status_code == 200, done.text
        assert done.json()["state"] == "certified"
        other = api.post(f"/api/v1/cases/{ds.code('district_review_2')}/events",
                         headers=bearer(tokens["binhminh"]),
                         json={"trigger": "record_district_score",
                               "data": sim_sheets((25, 15, 20))})
        assert other.status_code == 403  # Hà Đông's case, not Bình Minh's


def test_a_second_run_changes_nothing(ds: Dataset) -> None:
    """The second run moves and transfers nothing (it still lists the unmapped rows) and every
    table is as the first run left it."""
    run(ds.app)
    after_first = everything(ds.app)
    second = run(ds.app)
    assert second.counts() == {"producers_moved": 0, "cases_moved": 0, "cases_transferred": 0,
                               "unmapped": 2}
    assert everything(ds.app) == after_first
    assert run(ds.app, dry_run=True).counts() == second.counts()


def test_a_failure_midway_leaves_no_case_half_moved_and_a_rerun_finishes(
        ds: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    """The producer's notice of the second transfer fails: that case keeps its unit, version
    and chain (its move and transfer rolled back together), the cases before it are done; the
    next run finishes the rest and each case is transferred once."""
    real = notices.status_messages
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the disk is full")
        return real(*args, **kwargs)

    monkeypatch.setattr(notices, "status_messages", failing)
    order = [ds.code(k) for k in sorted(TRANSFERRED, key=lambda k: ds.code(k))]
    second = case_of(ds.app, order[1])
    with pytest.raises(RuntimeError):
        run(ds.app)
    assert case_of(ds.app, order[1]) == second
    assert entries(ds.app, order[1], remap.REASSIGN) == []
    assert len(entries(ds.app, order[0], remap.TRANSFER)) == 1
    monkeypatch.setattr(notices, "status_messages", real)
    rest = run(ds.app)
    assert ds.keys_of([c.code for c in rest.cases if c.transfer_to]) == TRANSFERRED - {
        ds.keys_of([order[0]]).pop()}
    for key in TRANSFERRED:
        assert len(entries(ds.app, ds.code(key), remap.TRANSFER)) == 1
    with ds.app.db.connect() as conn:
        assert audit.verify(conn).ok
    record_intact(ds.app)


def test_with_the_city_as_successor_district_stages_go_to_the_city_office(
        template: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path) -> None:
    """OCOP_DISTRICT_SUCCESSOR=city: the transfers name the city officer, no commune."""
    path, codes, _ = template
    shutil.copy(path, tmp_path / "ocop.db")
    app = open_app(tmp_path / "ocop.db", district_successor="city_officer")
    try:
        report = run(app)
        assert {c.transfer_to for c in report.cases} == {"city_officer", None}
        transfer = entries(app, codes["district_review"], remap.TRANSFER)[0]
        assert json.loads(transfer.data)["unit"] is None
        with app.db.connect() as conn:
            city = registry.actor_named(conn, "city")
        applied = app.engine.apply(Event(codes["district_review"], "record_district_score",
                                         city, sim_sheets((25, 15, 20))))
        assert applied.to_state == "certified"
    finally:
        app.close()


def test_early_july_a_floating_registration_still_waits_on_the_district(
        template: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path) -> None:
    """On 2025-07-03 rule version 148 still governs a start, so the unpinned registered case
    is at a district stage too; from 2025-07-06 (1489) its start is the commune's own."""
    path, codes, _ = template
    shutil.copy(path, tmp_path / "ocop.db")
    app = open_app(tmp_path / "ocop.db", now=datetime(2025, 7, 3, 9, 0, tzinfo=VIETNAM))
    try:
        report = run(app, dry_run=True)
        by_code = {c.code: c for c in report.cases}
        assert by_code[codes["registered"]].transfer_to == "commune_officer"
        assert by_code[codes["pinned_registered"]].transfer_to == "commune_officer"
    finally:
        app.close()


def test_before_the_reorganisation_there_is_nothing_to_remap(
        template: tuple[Path, dict[str, str], dict[str, str]], tmp_path: Path) -> None:
    """On 2025-06-30 every unit is still in force: nothing moves, nothing is transferred."""
    path, _, _ = template
    shutil.copy(path, tmp_path / "ocop.db")
    app = open_app(tmp_path / "ocop.db", now=datetime(2025, 6, 30, 16, 0, tzinfo=VIETNAM))
    try:
        assert run(app).counts() == {"producers_moved": 0, "cases_moved": 0,
                                     "cases_transferred": 0, "unmapped": 0}
    finally:
        app.close()


def test_the_rollup_compares_old_and_new_units_across_the_remap(ds: Dataset) -> None:
    """By new units the counts are the same before and after the remap; by old units too (the
    communes the cases were opened in); a case opened after 2025-07-01 counts under its new
    commune either way."""
    today = AFTER.date()

    def tallies(by: str) -> dict[str | None, tuple[int, int, int]]:
        with ds.app.db.connect() as conn:
            return {t.key: (t.all, t.open, t.certified)
                    for t in remap.rollup(conn, by, today)}

    old_before, new_before = tallies("old"), tallies("new")
    assert old_before == {CU_KHE: (6, 5, 1), VAN_PHUC: (3, 2, 0), TAM_HUNG_OLD: (1, 1, 0)}
    assert new_before == {BINH_MINH: (6, 5, 1), HA_DONG: (3, 2, 0), TAM_HUNG_OLD: (1, 1, 0)}
    run(ds.app)
    officers_of_today(ds.app)
    with write_transaction(ds.app.db) as conn:
        pa = registry.actor_named(conn, "pa")
        registry.register_case(conn, AFTER, pa, registry.Registration(
            pa.producer_id or 0, "Tương nếp", "food"), public_url=ds.app.settings.public_url)
    assert tallies("new") == {**new_before, BINH_MINH: (7, 6, 1)}
    assert tallies("old") == {**old_before, BINH_MINH: (1, 1, 0)}
    with ds.app.db.connect() as conn:
        assert [t.key for t in remap.rollup(conn, "new", today, year=2024)] == []


@pytest.mark.parametrize("operator", ["", "   ", "x" * 121])
def test_a_remap_needs_an_operator_name(ds: Dataset, operator: str) -> None:
    """An empty or over-long ``--as`` is refused with a sentence, before anything is read."""
    with pytest.raises(InvalidInput) as refused:
        run(ds.app, operator=operator)
    assert refused.value.code == "remap_operator_invalid"
    assert "--as" in refused.value.text("en")


def test_a_remap_without_units_is_refused(tmp_path: Path) -> None:
    """With no units loaded there is no mapping to follow: refused, saying to load them."""
    app = make_app(f"sqlite:///{tmp_path / 'empty.db'}", FixedClock(AFTER))
    try:
        with write_transaction(app.db) as conn:
            conn.execute(text("DELETE FROM unit_successors"))
            conn.execute(text("DELETE FROM units"))
        with pytest.raises(InvalidInput) as refused:
            run(app)
        assert refused.value.code == "remap_units_not_loaded"
        assert "ocop units load" in refused.value.text("vi")
    finally:
        app.close()


def test_the_engine_refuses_the_old_district_officer_after_the_transfer(ds: Dataset) -> None:
    """The same refusal without HTTP: Forbidden, naming the ended unit."""
    run(ds.app)
    with ds.app.db.connect() as conn:
        officer = registry.actor_named(conn, "district2")
    with pytest.raises(Forbidden) as refused:
        ds.app.engine.apply(Event(ds.code("district_review_2"), "record_district_score",
                                  officer, sim_sheets((25, 15, 20))))
    assert "2025-06-30" in refused.value.text("en")


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_producers_status_page_shows_the_transfer_in_words(ds: Dataset, lang: str) -> None:
    """The transferred case's own page answers 200 and lists the transfer notice under its
    catalogue name, and the two new timeline entries in words; no system code shows."""
    run(ds.app)
    case = case_of(ds.app, ds.code("district_review"))
    link = notices.status_url("", case["code"], case["status_token"])
    with client(ds.app) as api:
        page = api.get(f"{link}&lang={lang}")
    assert page.status_code == 200, page.text[:300]
    shown = html.unescape(re.sub(r"<[^>]+>", " ", page.text))
    for kind, code in (("notice", "transferred"), ("trigger", remap.REASSIGN),
                       ("trigger", remap.TRANSFER), ("explain", remap.TRANSFER_WHY)):
        assert label(kind, code, lang) in shown, (kind, code)
    assert not {remap.REASSIGN, remap.TRANSFER, remap.TRANSFER_WHY} & set(shown.split())


def test_a_case_opened_since_at_a_district_stage_is_transferred_where_it_is(
        ds: Dataset) -> None:
    """A 148 case the city registers (pinned) after the remap for a moved producer is in the new
    commune already: a later remap only transfers it, once."""
    run(ds.app)
    with write_transaction(ds.app.db) as conn:
        city, pa = registry.actor_named(conn, "city"), registry.actor_named(conn, "pa")
        code = registry.register_case(conn, AFTER, city, registry.Registration(
            pa.producer_id or 0, "Tương nếp", "food", rules="148"),
            public_url=ds.app.settings.public_url)
    ds.app.engine.apply(Event(code, "submit", pa, DOCS))
    report = run(ds.app)
    assert [(c.code, c.new, c.old.key, c.transfer_to) for c in report.cases] == [
        (code, None, BINH_MINH, "commune_officer")]
    assert len(entries(ds.app, code, remap.TRANSFER)) == 1
    assert entries(ds.app, code, remap.REASSIGN) == []
    assert run(ds.app).counts()["cases_transferred"] == 0


def test_a_successor_not_yet_in_force_is_reported_not_used(ds: Dataset) -> None:
    """If the unit the mapping names is not in force on the day, the rows stay where they are
    and the report says why."""
    with write_transaction(ds.app.db) as conn:
        conn.execute(text("UPDATE units SET valid_from = '2026-01-01' WHERE key = :k"),
                     {"k": HA_DONG})
    report = run(ds.app)
    reasons = {(u.what, u.old.key, u.reason) for u in report.unmapped}
    assert ("producer", VAN_PHUC, "successor_not_in_force") in reasons
    assert {u.target for u in report.unmapped if u.reason == "successor_not_in_force"} == {
        "2", ds.code("district_review_2"), ds.code("needs_completion")}
    assert case_of(ds.app, ds.code("district_review_2"))["commune_code"] == VAN_PHUC
