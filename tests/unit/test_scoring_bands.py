"""Star bands at their edges (49.99, 50, 69.99, 70, 89.99, 90), the mean of members' totals to
two decimals, and the same edges through the engine (DOMAIN.md §3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.lifecycle_support import DISTRICT_STAGE, Driver, case_row
from workflow.domain.scoring import Sheet, capped, mean_score, stars_for
from workflow.store.queries import case_view

EDGES = [(0, 1), (29.99, 1), (30, 2), (49.99, 2), (50, 3), (69.99, 3), (70, 4), (89.99, 4),
         (90, 5), (100, 5)]


@pytest.mark.parametrize(("score", "stars"), EDGES)
def test_stars_for_puts_each_band_edge_in_the_upper_band(score: float, stars: int) -> None:
    """Lower edges are inclusive: 50 is 3★, 49.99 is 2★; 90 is 5★, 89.99 is 4★."""
    assert stars_for(score) == stars


def test_a_cap_lowers_stars_and_no_cap_keeps_them() -> None:
    """The IP cap is an upper bound only."""
    assert (capped(5, 3), capped(2, 3), capped(4, None)) == (3, 2, 4)


@pytest.mark.parametrize(("totals", "mean"), [
    ((69.98, 70.0), 69.99), ((70.0, 69.99, 69.99), 69.99), ((49.99, 50.0), 50.0),
    ((33.33, 33.33, 33.34), 33.33), ((89.99,), 89.99), ((100, 0), 50.0)])
def test_the_case_score_is_the_mean_of_members_totals_to_two_decimals(
        totals: tuple[float, ...], mean: float) -> None:
    """Means are rounded half up to two decimals: 49.995 is 50.00 (and so 3★)."""
    sheets = [Sheet(f"m{i}", t, 0, 0) for i, t in enumerate(totals)]
    assert mean_score(sheets) == mean


def test_a_sheet_total_is_not_disturbed_by_binary_floating_point() -> None:
    """33.33 + 22.22 + 14.44 is exactly 69.99 on a sheet, not 69.99000000000001."""
    assert Sheet("m", 33.33, 22.22, 14.44).total == 69.99


def two_sheets_with_mean(version: str, mean: float) -> dict[str, Any]:
    """Two members whose totals differ by 0.02 and average exactly ``mean``."""
    low, high = round(mean - 0.01, 2), round(mean + 0.01, 2)
    from tests.unit.lifecycle_support import sheet_parts
    sheets = [{"member": f"member {i}", **dict(zip("abc", sheet_parts(version, t), strict=True))}
              for i, t in enumerate((low, high), 1)]
    return {"sheets": sheets, "mandatory_ok": True}


# Rejected cases keep their score but have no stars; during central review the case shows 4★
# ("4★, proposed for 5★") until the central result (DOMAIN.md §9).
DISTRICT_148 = [(49.99, "rejected", None), (50, "certified", 3), (69.99, "certified", 3),
                (70, "ip_check", 4), (89.99, "ip_check", 4), (90, "ip_check", 5)]
CITY_1489 = [(49.99, "rejected", None), (50, "certified", 3), (69.99, "certified", 3),
             (70, "certified", 4), (89.99, "certified", 4), (90, "central_review", 4)]


@pytest.mark.parametrize(("mean", "dest", "stars"), DISTRICT_148)
def test_148_district_scores_route_at_the_band_edges(drive: Driver, mean: float, dest: str,
                                                     stars: int | None) -> None:
    """Two sheets averaging each edge route the case as the bands say; 49.99 is 2★ and not
    recognised, 69.99 is a district 3★, 70 is potential 4★."""
    code = drive.reach("148", "district_review")
    applied = drive.world.fire(code, "record_district_score", DISTRICT_STAGE,
                               two_sheets_with_mean("148", mean))
    assert applied.to_state == dest
    row = case_row(drive.world.app, code)
    assert (row["score"], row["stars"]) == (mean, stars)


@pytest.mark.parametrize(("mean", "dest", "stars"), CITY_1489)
def test_1489_city_scores_route_at_the_band_edges(drive: Driver, mean: float, dest: str,
                                                  stars: int | None) -> None:
    """At the city under 1489: 49.99 rejected, 50–69.99 3★, 70–89.99 4★, 90 to the ministry."""
    code = drive.reach("1489", "city_rating")
    applied = drive.world.fire(code, "record_city_score", "city",
                               two_sheets_with_mean("1489", mean))
    assert applied.to_state == dest
    with drive.world.app.db.connect() as conn:
        v = case_view(conn, code)
    assert (v["score"], v["stars"]) == (mean, stars)
    if dest == "certified":
        assert v["certificate"]["stars"] == stars
    if dest == "central_review":
        assert v["certificate"]["stars"] == 4


@pytest.mark.parametrize(("mean", "dest"), [(49.99, "rejected"), (50, "city_rating"),
                                            (89.99, "city_rating")])
def test_1048_district_scores_route_at_the_band_edges(drive: Driver, mean: float,
                                                      dest: str) -> None:
    """Under 1048 the district passes everything from 50 on to the city."""
    code = drive.reach("1048", "district_review")
    assert drive.world.fire(code, "record_district_score", DISTRICT_STAGE,
                            two_sheets_with_mean("1048", mean)).to_state == dest


def test_the_sheets_are_kept_with_the_audit_entry_that_recorded_them(drive: Driver) -> None:
    """Each member's sheet is stored with its total and the score's audit sequence number."""
    code = drive.reach("148", "district_review")
    applied = drive.world.fire(code, "record_district_score", DISTRICT_STAGE,
                               two_sheets_with_mean("148", 69.99))
    from sqlalchemy import select

    from workflow.store.schema import score_sheets
    with drive.world.app.db.connect() as conn:
        rows = conn.execute(select(score_sheets).where(
            score_sheets.c.case_id == case_row(drive.world.app, code)["id"])).all()
    assert sorted(r.total for r in rows) == [69.98, 70.0]
    assert {(r.audit_seq, r.level, r.rule_version) for r in rows} == {
        (applied.seq, "district", "148")}
