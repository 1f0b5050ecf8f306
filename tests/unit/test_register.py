"""The programme register on SQLite: the Hà Nội 2018–2020 cohort (630 products) and a few
valid certificates imported once, then read back through every filter as a person types it
(stars with potential 5★ apart, groups by key or label, old and new units, years, trademark,
expiry, status), paged in SQL, exported as ``.xlsx`` and ``.csv`` with as many rows as the
total, refused with a sentence for every bad value, and read with ``ocop register``."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select, text

from tests.cohorts import hanoi_2018_2020, row, write_csv
from tests.integration.cli_support import Ocop, around
from tests.support import BINH_MINH, HA_DONG, START, make_app
from workflow import importer, register
from workflow.bootstrap import App
from workflow.clock import FixedClock, local
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput
from workflow.store import register as store_register
from workflow.store import units
from workflow.store.register import Filters

TODAY = local(START).date()
CU_KHE, THANH_OAI = "old:10120", "old:278"
# Valid certificates besides the (long expired) cohort: three typed with the legacy commune
# "Cự Khê, Thanh Oai" (the import records them under Bình Minh, which took it in), two that
# stay recorded under Cự Khê itself, and one in Hà Đông ending 29 days after TODAY.
LEGACY = [row(2000 + i, commune="Cự Khê", district="Thanh Oai") for i in range(3)]
OLD_RECORDED = [row(2010 + i, commune="Cự Khê", district="Thanh Oai",
                    decision_date="2023-01-10") for i in range(2)]
EXPIRING = [row(2020, commune=HA_DONG, district="", stars=3, decision_date="2022-10-01")]


def build(app: App, folder: Path) -> App:
    """Import the cohort and the valid rows into ``app``; the two :data:`OLD_RECORDED` cases
    then keep the units they were certified in before 2025, as closed cases do
    (:mod:`workflow.remap`), so only ``unit_now`` ties them to Bình Minh."""
    with app.db.connect() as conn:
        communes = [u.name for u in units.listing(conn, "commune")
                    if u.valid_to is None and u.key != BINH_MINH][:40]
    rows = hanoi_2018_2020(communes) + LEGACY + OLD_RECORDED + EXPIRING
    path = write_csv(folder / "register.csv", rows)
    importer.run(app.db, path, Actor("system", "system"), START)
    with app.db.begin() as conn:
        conn.execute(text(
            "UPDATE cases SET commune_code = :commune, district_code = :district WHERE id IN "
            "(SELECT case_id FROM certificates WHERE number IN ('OCOP-HN-02010', "
            "'OCOP-HN-02011'))"), {"commune": CU_KHE, "district": THANH_OAI})
    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[App]:
    made = make_app("sqlite://", FixedClock(START))
    yield build(made, tmp_path_factory.mktemp("register"))
    made.close()


def parsed(app: App, **raw: Any) -> Filters:
    with app.db.connect() as conn:
        return register.parse(conn, raw, TODAY)


def total(app: App, actor: Actor | None = None, **raw: Any) -> int:
    with app.db.connect() as conn:
        found = register.page(conn, register.parse(conn, raw, TODAY), actor, limit=1)
    return int(found["total"])


COHORT = {"status": "any", "year": "2019-2020"}


@pytest.mark.parametrize(("raw", "expected"), [
    ({"stars": "4"}, 421), ({"stars": "4+"}, 14), ({"stars": "3"}, 195),
    ({"stars": ["4", "4+"]}, 435), ({"stars": "4,4+,5★"}, 435), ({"stars": "5"}, 0),
    ({"group": "food"}, 467), ({"group": "Thực phẩm"}, 467), ({"group": "Food"}, 467),
    ({"group": "Lưu niệm, nội thất, trang trí"}, 115),
    ({"group": "souvenir_furniture_decor,fabric_garment"}, 127),
    ({"level": "city"}, 210), ({"level": "Cấp huyện"}, 420),
    ({"rules": "1048"}, 630), ({"trademark": "yes"}, 315), ({"trademark": "không"}, 315),
    ({"year": "2019"}, 356), ({"status": "expired"}, 630), ({"status": "revoked"}, 0),
])
def test_each_filter_counts_the_cohort_as_the_office_does(app: App, raw: dict[str, Any],
                                                          expected: int) -> None:
    """Over the 2018–2020 cohort: 421 plain 4★ (the 14 proposed for 5★ apart), 195 3★, 467
    food (74.1 %), 115 souvenirs and décor (18.3 %), a group named by key or by its label in
    either language, levels, rules, trademark, a single year."""
    assert total(app, **{**COHORT, **raw}) == expected
    if raw.get("group") == "food":
        assert round(100 * expected / 630, 1) == 74.1


def test_by_default_only_valid_certificates_are_listed(app: App) -> None:
    """Without ``status`` the register lists valid certificates: the six imported after 2022,
    none of the cohort's; ``any`` lists every product once."""
    assert total(app) == 6
    assert total(app, rules="148") == 6
    assert total(app, status="any") == 636
    assert parsed(app, status="any").statuses == ()


def test_a_new_commune_finds_what_was_recorded_under_the_old_one(app: App) -> None:
    """Bình Minh finds the rows typed as "Cự Khê, Thanh Oai" (recorded under Bình Minh) and
    the cases still recorded under the old Cự Khê (through the commune that now owns it); the
    old commune and the old district find only the latter."""
    assert parsed(app, unit="10126").unit == BINH_MINH
    assert total(app, unit="10126") == 5
    with pytest.raises(InvalidInput) as twice:  # the new Bình Minh, and an old one in Thanh Oai
        parsed(app, unit="Bình Minh")
    assert twice.value.code == "unit_ambiguous" and "[10126]" in twice.value.text("vi")
    assert parsed(app, unit="Cự Khê, Thanh Oai").unit == CU_KHE
    assert total(app, unit="Cự Khê, Thanh Oai") == 2
    assert total(app, unit="Huyện Thanh Oai") == 2
    with app.db.connect() as conn:
        page = register.page(conn, parsed(app, unit=CU_KHE), None, 10, lang="en")
    places = {tuple(i["units"].values()) for i in page["items"]}
    assert places == {("Xã Cự Khê", "Huyện Thanh Oai", "Xã Bình Minh")}


def test_expiring_within_n_days_counts_valid_certificates_ending_by_then(app: App) -> None:
    """The Hà Đông certificate ends on 2025-09-30, 29 days after today."""
    assert total(app, expiring="29") == 1
    assert total(app, expiring="28") == 0
    assert total(app, expiring="3650", status="any") == 6


def test_a_page_is_ordered_by_year_then_number_with_the_filtered_total(app: App) -> None:
    """Newest decisions first, then the certificate number; offsets walk the same order and
    an item carries its words in the reader's language."""
    f = parsed(app)
    with app.db.connect() as conn:
        first = register.page(conn, f, None, limit=4)
        rest = register.page(conn, f, None, limit=4, offset=4)
        potential = register.page(conn, parsed(app, stars="4+", status="any"), None, 1,
                                  lang="en")["items"][0]
    numbers = [i["number"] for i in first["items"] + rest["items"]]
    assert numbers == ["OCOP-HN-02000", "OCOP-HN-02001", "OCOP-HN-02002", "OCOP-HN-02010",
                       "OCOP-HN-02011", "OCOP-HN-02020"]
    assert first["total"] == rest["total"] == 6
    top = first["items"][0]
    assert (top["year"], top["stars"], top["stars_label"], top["group"]) == (
        2024, "4", "4★", {"key": "food", "label": "Thực phẩm"})
    assert top["decision"] == {"no": "2000/QĐ-UBND", "date": "2024-06-15",
                               "body": "UBND thành phố Hà Nội"}
    assert (top["valid_to"], top["status"], top["rules"]) == ("2027-06-14", "valid", "148")
    assert (potential["stars"], potential["stars_label"]) == ("4+", "4★, proposed for 5★")


@pytest.mark.parametrize(("raw", "code", "shown"), [
    ({"stars": "6"}, "register_stars_unknown", '"6"'),
    ({"group": "xyz"}, "register_group_unknown", '"xyz"'),
    ({"group": "food,gốm"}, "register_group_unknown", '"gốm"'),
    ({"year": "20x9"}, "register_year_invalid", '"20x9"'),
    ({"year": "2020-2019"}, "register_year_invalid", '"2020-2019"'),
    ({"unit": "Xã Không Có Thật"}, "unit_unknown", '"Xã Không Có Thật"'),
    ({"unit": "99999"}, "unit_unknown", '"99999"'),
    ({"unit": ["10126", "09556"]}, "register_filter_twice", '"10126"'),
    ({"expiring": "-3"}, "register_expiring_invalid", '"-3"'),
    ({"expiring": "99999"}, "register_expiring_invalid", '"99999"'),
    ({"status": "foo"}, "register_status_unknown", '"foo"'),
    ({"trademark": "maybe"}, "register_trademark_invalid", '"maybe"'),
    ({"level": "commune"}, "register_level_unknown", '"commune"'),
    ({"rules": "999"}, "register_rules_unknown", '"999"'),
])
def test_a_bad_filter_is_refused_naming_it_and_what_is_allowed(
        app: App, raw: dict[str, Any], code: str, shown: str) -> None:
    """Each bad value is an InvalidInput whose one sentence, in Vietnamese and English,
    quotes what was typed."""
    with pytest.raises(InvalidInput) as refused:
        parsed(app, **raw)
    assert refused.value.code == code
    for lang in ("vi", "en"):
        sentence = refused.value.text(lang)
        assert shown in sentence and sentence.endswith(".") and "\n" not in sentence


@pytest.mark.parametrize(("limit", "offset", "order", "code"), [
    (0, 0, "year", "register_limit_invalid"), (100000, 0, "year", "register_limit_invalid"),
    (10, -1, "year", "register_offset_invalid"), (10, 0, "price", "register_order_unknown"),
])
def test_a_bad_page_is_refused(app: App, limit: int, offset: int, order: str,
                               code: str) -> None:
    """Page sizes run from 1 to 500; offsets are not negative; orders are the known ones."""
    with app.db.connect() as conn, pytest.raises(InvalidInput) as refused:
        register.page(conn, Filters(), None, limit, offset, order)
    assert refused.value.code == code
    assert "500" in refused.value.text("en") or code != "register_limit_invalid"


def test_a_commune_officer_reads_only_their_commune(app: App) -> None:
    """The officer of Bình Minh sees what is recorded there and what is still recorded under
    the old Cự Khê it took in (``unit_now``)."""
    officer = Actor("bm", "commune_officer", unit=BINH_MINH)
    assert total(app, officer) == 5
    assert total(app, Actor("hd", "commune_officer", unit=HA_DONG)) == 1


def test_the_exports_hold_as_many_rows_as_the_total(app: App) -> None:
    """The workbook and the CSV (UTF-8 with a BOM) hold the header in the reader's language
    and one row per product the filters select."""
    f = parsed(app, status="any", stars="4,4+", year="2019-2020")
    book_bytes, csv_bytes = io.BytesIO(), io.BytesIO()
    with app.db.connect() as conn:
        assert register.export(conn, f, None, "xlsx", book_bytes, "en") == 435
        assert register.export(conn, f, None, "csv", csv_bytes, "vi") == 435
    book_bytes.seek(0)
    book = load_workbook(book_bytes, read_only=True)
    sheet = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert sheet[0][:3] == ("Case", "Product", "Producer") and len(sheet) == 436
    assert {r[5] for r in sheet[1:]} == {"4★", "4★, proposed for 5★"}
    raw = csv_bytes.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert lines[0][:2] == ["Mã hồ sơ", "Tên sản phẩm"] and len(lines) == 436
    assert {line[9] for line in lines[1:]} == {"hết hiệu lực"}


# --- the command line ------------------------------------------------------------------------

@pytest.fixture
def ocop(app: App, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Ocop:
    return around(app, capsys, monkeypatch, "vi")


def test_ocop_register_list_prints_a_page_and_the_total(ocop: Ocop) -> None:
    """One line per product, then "N of TOTAL" in the user's language; --json the page."""
    listed = ocop("register", "list", "--stars", "4", "--status", "any", "--year",
                  "2019-2020", "--limit", "3")
    assert listed.code == 0, listed.err
    lines = listed.out.strip().splitlines()
    assert len(lines) == 4 and lines[-1] == "3 trên tổng số 421"
    as_json = ocop("register", "list", "--unit", "10126", "--json").json()
    assert (as_json["total"], as_json["limit"], len(as_json["items"])) == (5, 50, 5)


def test_ocop_register_refuses_a_bad_filter_with_exit_2(ocop: Ocop) -> None:
    """A bad value is one sentence on stderr and exit code 2."""
    refused = ocop("register", "list", "--stars", "6")
    assert refused.code == 2 and '"6"' in refused.err and "4+" in refused.err


def test_ocop_register_export_writes_the_file_its_suffix_names(ocop: Ocop,
                                                                tmp_path: Path) -> None:
    """.xlsx and .csv by suffix, ``-`` CSV on stdout; another suffix is refused."""
    out = tmp_path / "sổ.xlsx"
    done = ocop("register", "export", "--status", "any", "--rules", "1048", "--out", str(out))
    assert done.code == 0 and "630" in done.out
    book = load_workbook(out, read_only=True)
    assert len(list(book.worksheets[0].iter_rows(values_only=True))) == 631
    book.close()
    assert ocop("register", "export", "--out", str(tmp_path / "a.pdf")).code == 2
    piped = ocop("register", "export", "--out", "-").out
    assert piped.startswith("\ufeff") and len(piped.strip().splitlines()) == 7


def test_ocop_register_as_a_staff_user_sees_their_reach(app: App, ocop: Ocop) -> None:
    """``--as`` scopes the list to that user's reach."""
    from workflow import registry
    from workflow.store.db import write_transaction
    with write_transaction(app.db) as conn:
        registry.add_user(conn, START, "bm-register", "commune_officer", None, BINH_MINH)
    found = ocop("register", "list", "--as", "bm-register", "--json").json()
    assert found["total"] == 5


def test_the_valid_only_path_picks_what_the_ranking_picks(tmp_path: Path) -> None:
    """Valid certificates read without ranking (the default filter's fast path) are exactly the
    current certificates the ranking calls valid, here with a case that also holds an older
    superseded certificate and a newer one awaiting its decision."""
    fresh = make_app("sqlite://", FixedClock(START))
    try:
        importer.run(fresh.db, write_csv(tmp_path / "two.csv", [row(1), row(2)]),
                     Actor("system", "system"), START)
        with fresh.db.begin() as conn:
            conn.execute(text(
                "INSERT INTO certificates (case_id, number, stars, level, rule_version, "
                "issued_on, valid_to, status, created_at) SELECT case_id, number || :tail, 4, "
                "'city', '148', :day, NULL, :status, created_at FROM certificates "
                "WHERE number = 'OCOP-HN-00001'"),
                [{"tail": "-old", "day": "2020-01-01", "status": "superseded"},
                 {"tail": "-new", "day": TODAY.isoformat(), "status": "pending"}])
        picked = {}
        with fresh.db.connect() as conn:
            for fast in (False, True):
                reg = store_register.current(valid_only=fast).subquery()
                picked[fast] = set(conn.execute(
                    select(reg.c.case_id, reg.c.number).where(reg.c.status == "valid")))
            every = conn.execute(select(func.count()).select_from(
                store_register.table(f=Filters(statuses=())))).scalar_one()
        assert picked[True] == picked[False] and len(picked[True]) == 2
        assert every == 2  # one row a product, whatever it holds
    finally:
        fresh.close()
