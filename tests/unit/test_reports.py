"""The programme's figures: a cohort shaped like Hà Nội's 2018–2020 register counted back by
stars and group; new products per year against a target, a re-certified product counted once;
stage durations and deadline compliance from real lifecycles on a simulated clock; expiries by
quarter against hand-counted certificates; tables, CSV, Excel and charts; and the CLI."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import insert, select, update

from tests.cohorts import hanoi_2018_2020, row, write_csv
from tests.integration.cli_support import Ocop, around
from tests.support import DOCS, START, World, make_app
from tests.unit.lifecycle_support import CRITERIA
from workflow import importer, reports
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock
from workflow.domain.facts import Actor
from workflow.errors import Forbidden, InvalidInput
from workflow.store import adminlog, units
from workflow.store import reports as store
from workflow.store.db import write_transaction
from workflow.store.register import Filters
from workflow.store.schema import certificates
from workflow.sweep import Sweeper

SYSTEM = Actor("system", "system")
CITY = Actor("city", "city_officer")
ANY_2018_2020 = Filters(years=(2018, 2020), statuses=())


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    """The 630-product 2018–2020 cohort, imported once for the module."""
    app = make_app("sqlite://", FixedClock(START))
    with app.db.connect() as conn:
        communes = [u.name for u in units.listing(conn, "commune") if u.valid_to is None][:40]
    path = write_csv(tmp_path_factory.mktemp("cohort") / "hanoi.csv", hanoi_2018_2020(communes))
    importer.run(app.db, path, SYSTEM, START)
    yield app
    app.close()


def by_key(report: dict[str, object], dim: str) -> dict[object, tuple[int, float]]:
    rows = report["rows"]
    assert isinstance(rows, list)
    return {r[dim]: (r["count"], r["share"]) for r in rows}


def test_the_2018_2020_cohort_is_counted_by_stars_and_by_group(cohort: App) -> None:
    """421 4★, 195 3★ and 14 proposed for 5★; 74.1 % food and 18.3 % souvenirs."""
    with cohort.db.connect() as conn:
        stars = store.counts(conn, ["stars"], ANY_2018_2020)
        groups = store.counts(conn, ["group"], ANY_2018_2020)
        valid = store.counts(conn, ["stars"], Filters())
    assert stars["total"] == 630
    assert by_key(stars, "stars") == {"4": (421, 66.8), "3": (195, 31.0), "4+": (14, 2.2)}
    shares = {k: share for k, (_, share) in by_key(groups, "group").items()}
    assert shares["food"] == 74.1 and shares["souvenir_furniture_decor"] == 18.3
    assert valid == {"by": ["stars"], "total": 0, "rows": []}  # every one expired by 2025


def test_counts_combine_dimensions_and_name_the_units(cohort: App) -> None:
    """Two dimensions group together; a unit row carries the commune's name."""
    with cohort.db.connect() as conn:
        both = store.counts(conn, ["year", "stars"], ANY_2018_2020)
        unit = store.counts(conn, ["unit"], ANY_2018_2020)
        food_2020 = store.counts(conn, ["level"], Filters(groups=("food",), years=(2020, 2020),
                                                          statuses=()))
    # Decisions run day by day from 2019-01-10: the first 421 (4★) reach into March 2020.
    assert [(r["year"], r["stars"], r["count"]) for r in both["rows"]] == [
        (2019, "4", 356), (2020, "3", 195), (2020, "4", 65), (2020, "4+", 14)]
    assert len(unit["rows"]) == 40 and all(r["unit_name"] for r in unit["rows"])
    assert food_2020["total"] == sum(r["count"] for r in food_2020["rows"]) < 467
    with cohort.db.connect() as conn, pytest.raises(InvalidInput) as bad:
        store.counts(conn, ["colour"], Filters())
    assert bad.value.code == "report_by_unknown"


def test_counts_each_dimension_in_one_statement_match_counts_one_by_one(cohort: App) -> None:
    """The report set's single read of the register gives what each count alone gives."""
    dims = ["stars", "group", "unit", "year", "level", "rules"]
    with cohort.db.connect() as conn:
        each = store.counts_each(conn, dims, ANY_2018_2020)
        alone = {d: store.counts(conn, [d], ANY_2018_2020) for d in dims}
        food = store.new_per_year(conn, Filters(groups=("food",), statuses=()))
    assert each == alone
    assert sum(r["new"] for r in food) == 467  # narrowed: read through the register


def test_new_per_year_stands_against_the_target_set(cohort: App) -> None:
    """2019 and 2020 against their targets; a year with only a target shows 0 new."""
    with write_transaction(cohort.db) as conn:
        store.targets_set(conn, 2019, 400, CITY, START)
        store.targets_set(conn, 2019, 300, CITY, START)  # set again: changed
        store.targets_set(conn, 2026, 400, CITY, START)
    with cohort.db.connect() as conn:
        rows = store.new_per_year(conn, Filters(statuses=()))
        log = adminlog.entries(conn, target="target:2019")
        listed = store.targets_list(conn)
    assert rows == [
        {"year": 2019, "new": 356, "target": 300, "gap": -56, "percent": 118.7},
        {"year": 2020, "new": 274, "target": None, "gap": None, "percent": None},
        {"year": 2026, "new": 0, "target": 400, "gap": 400, "percent": 0.0}]
    assert [e["data"]["products"] for e in log] == [300, 400]
    assert log[0]["data"]["before"] == 400 and log[0]["action"] == "target_set"
    assert [(t["year"], t["products"]) for t in listed] == [(2019, 300), (2026, 400)]


def test_targets_are_set_by_the_city_within_bounds() -> None:
    """Only city officers and administrators; years 2000–2100; 0 < products ≤ 100,000."""
    app = make_app("sqlite://", FixedClock(START))
    try:
        for actor, year, products, error in (
                (Actor("p", "producer", producer_id=1), 2026, 400, Forbidden),
                (CITY, 1999, 400, InvalidInput), (CITY, 2026, 0, InvalidInput),
                (CITY, 2026, 100_001, InvalidInput)):
            with write_transaction(app.db) as conn, pytest.raises(error):
                store.targets_set(conn, year, products, actor, START)
        with app.db.connect() as conn:
            assert store.targets_list(conn) == [] and adminlog.entries(conn) == []
    finally:
        app.close()


def test_a_recertified_product_is_new_once(tmp_path: Path) -> None:
    """A product whose certificate was superseded by a later one counts in its first year."""
    app = make_app("sqlite://", FixedClock(START))
    try:
        path = write_csv(tmp_path / "two.csv", [row(1, decision_date="15/06/2023"),
                                               row(2, decision_date="15/06/2024")])
        importer.run(app.db, path, SYSTEM, START)
        with write_transaction(app.db) as conn:
            first = conn.execute(select(certificates).where(
                certificates.c.number == "OCOP-HN-00001")).one()._mapping
            conn.execute(update(certificates).where(certificates.c.id == first["id"])
                         .values(status="superseded"))
            conn.execute(insert(certificates).values(
                {**{k: v for k, v in first.items() if k != "id"}, "number": "OCOP-HN-R1",
                 "decision_date": date(2025, 3, 1), "valid_to": date(2028, 2, 29),
                 "status": "valid", "stars": 5}))
        with app.db.connect() as conn:
            rows = store.new_per_year(conn, Filters(statuses=()))
            now = store.counts(conn, ["year", "stars"], Filters())
        assert [(r["year"], r["new"]) for r in rows] == [(2023, 1), (2024, 1)]
        assert [(r["year"], r["stars"], r["count"]) for r in now["rows"]] == [
            (2024, "4", 1), (2025, "5", 1)]
    finally:
        app.close()


# --- lifecycles on a simulated clock ------------------------------------------------------

@pytest.fixture(scope="module")
def lives() -> Iterator[World]:
    """Four 1489 cases with known gaps (days): draft 1, 2, 3, 10; registered 2, 4, 6 (the
    fourth never reviewed, escalated by the sweep); the first case's pre-score 37 days, across
    its escalation."""
    world = World(make_app("sqlite://", FixedClock(START)))
    clock = world.clock
    codes = []
    for draft, registered in ((1, 2), (2, 4), (3, 6), (10, None)):
        clock.set(START)
        code = world.register()
        clock.advance(days=draft)
        world.fire(code, "submit", "producer1", DOCS)
        if registered is not None:
            clock.advance(days=registered)
            world.fire(code, "start_review", "commune1")
        codes.append(code)
    clock.set(START + timedelta(days=40))
    Sweeper(world.app.engine).run()
    world.fire(codes[0], "record_commune_prescore", "commune1", {"criteria": CRITERIA})
    yield world
    world.app.close()


def test_stage_durations_give_median_and_p90_by_nearest_rank(lives: World) -> None:
    """draft [1, 2, 3, 10] → median 2, p90 10; registered [2, 4, 6] → 4 and 6; an escalation
    inside a stay does not end it."""
    with lives.app.db.connect() as conn:
        rows = {r["state"]: r for r in store.stage_durations(conn)}
        late = store.stage_durations(conn, since=START + timedelta(days=30))
        commune = store.stage_durations(conn, actor=lives.actors["commune2"])
    assert rows["draft"] == {"state": "draft", "count": 4, "median": 2.0, "p90": 10.0}
    assert rows["registered"] == {"state": "registered", "count": 3, "median": 4.0,
                                  "p90": 6.0}
    assert rows["commune_prescore"] == {"state": "commune_prescore", "count": 1,
                                        "median": 37.0, "p90": 37.0}
    assert set(rows) == {"draft", "registered", "commune_prescore"}
    assert late == [{"state": "commune_prescore", "count": 1, "median": 37.0, "p90": 37.0}]
    assert commune == []  # another commune's officer sees none of these cases


def test_compliance_counts_kept_and_missed_stage_deadlines(lives: World) -> None:
    """Three reviews started in time, one escalated; the pre-scores all escalated."""
    with lives.app.db.connect() as conn:
        rows = {r["kind"]: r for r in store.deadline_compliance(conn)}
    assert rows["review_start"] == {"state": "registered", "kind": "review_start", "kept": 3,
                                    "missed": 1, "running": 0, "percent": 75.0}
    assert rows["commune_prescore"] == {"state": "commune_prescore",
                                        "kind": "commune_prescore", "kept": 0, "missed": 3,
                                        "running": 0, "percent": 0.0}
    assert rows["ip_check"]["running"] == 1 and rows["ip_check"]["percent"] is None


def test_expiries_by_quarter_match_hand_counted_certificates(tmp_path: Path) -> None:
    """Decisions of 2023-01-10, 2023-02-20, 2023-06-30 and 2024-01-05 end (36 months) in
    2026-Q1 (two), 2026-Q2 and 2027-Q1; a 2026-Q1 one filtered out by group."""
    app = make_app("sqlite://", FixedClock(START))
    try:
        days = ("10/01/2023", "20/02/2023", "30/06/2023", "05/01/2024")
        path = write_csv(tmp_path / "four.csv", [
            row(n, decision_date=d, group="Đồ uống" if n == 1 else "Thực phẩm")
            for n, d in enumerate(days)])
        importer.run(app.db, path, SYSTEM, START)
        with app.db.connect() as conn:
            ahead = store.expiries_by_quarter(conn, date(2025, 9, 1), 8)
            food = store.expiries_by_quarter(conn, date(2025, 9, 1), 8, Filters(groups=("food",)))
            short = store.expiries_by_quarter(conn, date(2025, 9, 1), 2)
        assert [(r["quarter"], r["count"]) for r in ahead] == [
            ("2025-Q3", 0), ("2025-Q4", 0), ("2026-Q1", 2), ("2026-Q2", 1), ("2026-Q3", 0),
            ("2026-Q4", 0), ("2027-Q1", 1), ("2027-Q2", 0)]
        assert [r["count"] for r in food][2] == 1
        assert short == [{"quarter": "2025-Q3", "count": 0}, {"quarter": "2025-Q4", "count": 0}]
    finally:
        app.close()


def test_the_report_set_runs_every_report(cohort: App) -> None:
    """Every report with its defaults, in one call."""
    with cohort.db.connect() as conn:
        found = store.report_set(conn, START.date())
    assert set(found) == {"counts", "new_per_year", "stages", "compliance", "expiries"}
    assert set(found["counts"]) == {"stars", "group", "year", "level", "rules"}
    assert sum(r["new"] for r in found["new_per_year"]) == 630
    assert len(found["expiries"]) == 8


# --- formats ---------------------------------------------------------------------------------

def test_tables_csv_and_excel_carry_the_labels(cohort: App) -> None:
    """Vietnamese and English words for stars and groups; CSV with a BOM; a workbook."""
    with cohort.db.connect() as conn:
        data = store.counts(conn, ["stars"], ANY_2018_2020)
    vi = reports.render("counts", data, "table", "vi").decode()
    assert "Sản phẩm theo hạng sao" in vi and "4★, đề xuất 5★" in vi
    assert any(line.split()[-2:] == ["421", "66.8"] for line in vi.splitlines())
    en = reports.render("counts", data, "table", "en").decode()
    assert "4★, proposed for 5★" in en and "Total" in en
    raw = reports.render("counts", data, "csv", "en")
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0] == ["Stars", "Products", "Share (%)"] and rows[-1][1] == "630"
    book = load_workbook(io.BytesIO(reports.render("counts", data, "xlsx", "vi")))
    values = [[c.value for c in r] for r in book.active.iter_rows()]  # type: ignore[union-attr]
    assert values[0][0] == "Sản phẩm theo hạng sao" and values[3] == ["4★", 421, 66.8]
    assert json.loads(reports.render("counts", data, "json", "en")) == data


def test_charts_are_png_and_svg_with_the_vietnamese_title(cohort: App) -> None:
    """A PNG of sensible size; an SVG that parses, carries the title and is deterministic."""
    with write_transaction(cohort.db) as conn:
        store.targets_set(conn, 2020, 300, CITY, START)
    with cohort.db.connect() as conn:
        data = store.counts(conn, ["stars"], ANY_2018_2020)
        new = store.new_per_year(conn, Filters(statuses=()))
    png = reports.render("new", new, "png", "vi")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and 5_000 < len(png) < 500_000
    svg = reports.render("counts", data, "svg", "vi")
    root = ET.fromstring(svg)
    assert root.tag.endswith("svg")
    texts = "".join(root.itertext())
    assert "Sản phẩm theo hạng sao" in texts and "4★ → 5★" in texts
    assert reports.render("counts", data, "svg", "vi") == svg
    assert "Sản phẩm mới mỗi năm so với chỉ tiêu" in reports.render("new", new, "svg",
                                                                    "vi").decode()


# --- the command line ------------------------------------------------------------------------

@pytest.fixture
def ocop(cohort: App, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Ocop:
    return around(cohort, capsys, monkeypatch, "en")


def test_the_cli_reports_counts_and_the_other_reports(ocop: Ocop, tmp_path: Path) -> None:
    """``ocop report --by stars,group`` and each subcommand, in every format."""
    shown = ocop.ok("report", "--by", "stars", "--year", "2018-2020", "--status", "any")
    assert "Products by stars" in shown.out and "4★, proposed for 5★" in shown.out
    both = ocop.ok("report", "--by", "stars,group", "--status", "any", "--format", "json")
    assert both.json()["total"] == 630 and both.json()["by"] == ["stars", "group"]
    food = ocop.ok("report", "counts", "--group", "food", "--status", "any", "--format", "csv")
    assert food.out.splitlines()[-1] == "Total,467,100.0"
    out = tmp_path / "stars.png"
    ocop.ok("report", "--status", "any", "--format", "png", "--out", str(out))
    assert out.read_bytes().startswith(b"\x89PNG")
    assert "2019" in ocop.ok("report", "new-per-year").out
    assert ocop.ok("report", "new", "--format", "json").json()[0]["new"] == 356
    assert "Time spent in each stage" in ocop.ok("report", "stages", "--since",
                                                 "2025-01-01").out
    assert ocop.ok("report", "compliance", "--format", "json").json() == []
    quarters = ocop.ok("report", "expiries", "--quarters", "3", "--format", "json").json()
    assert [q["quarter"] for q in quarters] == ["2025-Q3", "2025-Q4", "2026-Q1"]
    bad = ocop("report", "--by", "colour")
    assert bad.code == 2 and "colour" in bad.err and "stars" in bad.err
    assert ocop("report", "--stars", "6").code == 2


def test_the_cli_sets_and_lists_targets(ocop: Ocop) -> None:
    """``ocop targets set 2027 450`` as the operator; a producer may not."""
    assert "2027: 450" in ocop.ok("targets", "set", "2027", "450").out
    assert ocop.ok("targets", "set", "2027", "500", "--json").json()["products"] == 500
    assert "2027: 500 products (set by cli)" in ocop.ok("targets", "list").out
    refused = ocop("targets", "set", "1999", "400")
    assert refused.code == 2 and "2000" in refused.err


def test_days_in_a_period_are_whole_days_in_vietnam() -> None:
    """The last day of a period is taken in whole."""
    since, until = reports.period(date(2025, 9, 3), date(2025, 9, 3))
    assert since == datetime(2025, 9, 3, tzinfo=VIETNAM)
    assert until is not None and until.date() == date(2025, 9, 3) and until.hour == 23
    assert reports.period(None, None) == (None, None)
