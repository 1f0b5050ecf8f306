"""A scoring event names its council (DOMAIN.md §9): the engine refuses sheets the council may
not give — none named while one is required, an unknown one, the wrong level, unit or year, a
sheet of someone not on it, fewer sheets than its level's quorum, one member twice — and leaves
the case as it was; the sheets it takes record the council and who entered them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support import BINH_MINH, DOCS, HA_DONG, START, World, make_app
from tests.unit.lifecycle_support import CRITERIA
from workflow import councils
from workflow.clock import VIETNAM, FixedClock
from workflow.config import Settings
from workflow.domain import councils as check_councils
from workflow.domain.facts import Actor, Event, Facts
from workflow.domain.scoring import Sheet
from workflow.errors import InvalidInput, OcopError
from workflow.store import queries
from workflow.store.db import write_transaction
from workflow.store.schema import score_sheets

QUORUM = {"commune": 2, "district": 1, "city": 3}
CITY_MEMBERS = ["Bà Nguyễn Thị Lan", "Ông Trần Văn Hùng", "Bà Lê Thị Mai"]
ADMIN = Actor("cli", "admin")


@pytest.fixture(scope="module")
def world() -> Iterator[World]:
    app = make_app("sqlite://", FixedClock(START), council_required=True, quorum=QUORUM)
    try:
        yield World(app)
    finally:
        app.close()


def council(world: World, level: str, unit: str, members: list[str], year: int = 2025,
            actor: Actor = ADMIN) -> int:
    with write_transaction(world.app.db) as conn:
        made = councils.add(conn, world.clock.now(), actor, level, unit, year, members,
                            settings=world.app.settings)
    return int(made["id"])


def sheets(*members: str, council_id: int | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"sheets": [{"member": m, "a": 20, "b": 15, "c": 15} for m in members],
                            "mandatory_ok": True, **extra}
    if council_id is not None:
        data["council"] = council_id
    return data


def city_rating(world: World) -> str:
    """A 1489 case of producer1 (Bình Minh) waiting for the city council's score."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "record_commune_prescore", "commune1", {"criteria": CRITERIA})
    world.fire(code, "record_no_ip", "ip", {}, "no trademark registration yet")
    return code


def district_stage(world: World) -> str:
    """A 148 case of producer1 at its district stage, in September 2025: the commune's."""
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    return code


def snapshot(world: World, code: str) -> tuple[Any, ...]:
    with world.app.db.connect() as conn:
        case = queries.case_row(conn, code)
        count = conn.execute(select(func.count()).select_from(score_sheets)
                             .where(score_sheets.c.case_id == case["id"])).scalar_one()
    return case["state"], case["version"], case["score"], count


def refused(world: World, code: str, trigger: str, who: str, data: dict[str, Any],
            expected: str) -> OcopError:
    before = snapshot(world, code)
    with pytest.raises(OcopError) as caught:
        world.fire(code, trigger, who, data)
    assert caught.value.code == expected, caught.value.message
    assert snapshot(world, code) == before
    return caught.value


def test_a_city_score_without_a_council_is_refused_saying_how_to_make_one(world: World) -> None:
    code = city_rating(world)
    error = refused(world, code, "record_city_score", "city", sheets(*CITY_MEMBERS),
                    "council_missing")
    assert "ocop councils add" in error.text("en") and "ocop councils add" in error.text("vi")


def test_an_unknown_council_is_refused(world: World) -> None:
    code = city_rating(world)
    error = refused(world, code, "record_city_score", "city",
                    sheets(*CITY_MEMBERS, council_id=99_999), "council_not_found")
    assert "99999" in error.text("en")


def test_a_council_of_another_level_is_refused_naming_the_level_allowed(world: World) -> None:
    commune = council(world, "commune", BINH_MINH, CITY_MEMBERS)
    code = city_rating(world)
    error = refused(world, code, "record_city_score", "city",
                    sheets(*CITY_MEMBERS, council_id=commune), "council_wrong_level")
    assert "city-level council" in error.text("en") and "cấp thành phố" in error.text("vi")


def test_a_council_of_another_unit_is_refused_naming_the_cases_unit(world: World) -> None:
    other = council(world, "commune", HA_DONG, ["Ông A", "Bà B"])
    code = district_stage(world)
    error = refused(world, code, "record_district_score", "commune1",
                    sheets("Ông A", "Bà B", council_id=other), "council_wrong_unit")
    assert BINH_MINH in error.text("en") and HA_DONG in error.text("en")


def test_a_council_of_another_year_is_refused(world: World) -> None:
    last_year = council(world, "city", "01", CITY_MEMBERS, year=2024)
    this_year = council(world, "city", "01", CITY_MEMBERS)
    code = city_rating(world)
    error = refused(world, code, "record_city_score", "city",
                    sheets(*CITY_MEMBERS, council_id=last_year), "council_wrong_year")
    assert "2025" in error.text("en")
    # the day it scored decides the year, not the day it is entered
    refused(world, code, "record_city_score", "city",
            sheets(*CITY_MEMBERS, council_id=this_year, scored_on="2024-12-30"),
            "council_wrong_year")


def test_a_sheet_of_someone_not_on_the_council_is_refused_listing_its_members(
        world: World) -> None:
    city = council(world, "city", "01", CITY_MEMBERS)
    code = city_rating(world)
    error = refused(world, code, "record_city_score", "city",
                    sheets(*CITY_MEMBERS[:2], "Ông Người Lạ", council_id=city),
                    "council_member_unknown")
    assert "Ông Người Lạ" in error.text("vi") and all(m in error.text("vi")
                                                      for m in CITY_MEMBERS)


def test_fewer_sheets_than_the_councils_quorum_are_refused(world: World) -> None:
    """The district stage needs one sheet (its quorum), but since July 2025 the commune's
    council sits for it, and a commune council needs two."""
    commune = council(world, "commune", BINH_MINH, ["Ông A", "Bà B"])
    code = district_stage(world)
    error = refused(world, code, "record_district_score", "commune1",
                    sheets("Ông A", council_id=commune), "council_below_quorum")
    assert "2" in error.text("en") and "commune-level" in error.text("en")


def test_one_member_twice_however_composed_is_refused(world: World) -> None:
    city = council(world, "city", "01", CITY_MEMBERS)
    code = city_rating(world)
    decomposed = "Ba\u0300 Le\u0302 Thi\u0323 Mai".upper()  # "BÀ LÊ THỊ MAI", combining marks
    refused(world, code, "record_city_score", "city",
            sheets(*CITY_MEMBERS, decomposed, council_id=city), "duplicate_member")


def test_the_councils_sheets_record_the_council_and_who_entered_them(world: World) -> None:
    city = council(world, "city", "Hà Nội", CITY_MEMBERS)
    code = city_rating(world)
    # names as typed, in another case and composition: the council's members all the same
    typed = [m.upper() for m in CITY_MEMBERS]
    world.fire(code, "record_city_score", "city",
               sheets(*typed, council_id=city, scored_on="2025-08-29"))
    with world.app.db.connect() as conn:
        rows = conn.execute(select(score_sheets.c.council_id, score_sheets.c.entered_by)
                            .where(score_sheets.c.case_id == queries.case_row(conn, code)["id"])
                            ).all()
        shown = councils.show(conn, city)
    assert rows and {(r.council_id, r.entered_by) for r in rows} == {(city, "city")}
    assert [r["member"] for r in shown["rounds"]] == typed
    assert {r["case"] for r in shown["rounds"]} == {code}


def test_the_district_stage_after_2025_is_the_successor_communes_council(world: World) -> None:
    """From 2025-07-01 the commune's council sits for a district stage: a district council
    (made for 2025, when Thanh Oai still existed) is refused, the commune's is taken."""
    thanh_oai = council(world, "district", "old:278", ["Ông A"])
    commune = council(world, "commune", BINH_MINH, ["Ông A", "Bà B"])
    code = district_stage(world)
    error = refused(world, code, "record_district_score", "commune1",
                    sheets("Ông A", council_id=thanh_oai), "council_wrong_level")
    assert "commune-level" in error.text("en")
    world.fire(code, "record_district_score", "commune1",
               sheets("Ông A", "Bà B", council_id=commune))
    assert snapshot(world, code)[3] == 2


def facts(settings: Settings, data: dict[str, Any], council_row: dict[str, Any] | None,
          now: datetime = START) -> Facts:
    case = {"code": "HN-X", "commune_code": BINH_MINH, "commune": "Xã Bình Minh",
            "district_code": None, "district": None}
    return Facts(case, Event("HN-X", "record_district_score", ADMIN, data), now, settings,
                 "148", council=council_row)


def test_without_the_requirement_an_unnamed_council_is_let_through() -> None:
    """OCOP_COUNCIL_REQUIRED=0 (a transition period): no council named passes; one named is
    still checked."""
    lifted = Settings(council_required=False)
    check_councils.check(facts(lifted, {}, None), [Sheet("Ông A", 1, 1, 1)], "district")
    with pytest.raises(InvalidInput) as caught:
        check_councils.check(facts(lifted, {"council": 5}, None), [], "district")
    assert caught.value.code == "council_not_found"


def test_the_city_as_district_successor_takes_the_city_council() -> None:
    """OCOP_DISTRICT_SUCCESSOR=city: the city's council sits for a district stage from
    2025-07-01; before that day the district's own."""
    settings = Settings(district_successor="city_officer")
    row = {"id": 7, "level": "city", "unit_code": "01", "year": 2025, "members": ["Ông A"]}
    check_councils.check(facts(settings, {"council": 7}, row), [Sheet("ông a", 1, 1, 1)],
                         "district")
    before = datetime(2025, 6, 20, 9, 0, tzinfo=VIETNAM)
    with pytest.raises(InvalidInput) as caught:
        check_councils.check(facts(settings, {"council": 7}, row, before),
                             [Sheet("Ông A", 1, 1, 1)], "district")
    assert caught.value.code == "council_wrong_level"
