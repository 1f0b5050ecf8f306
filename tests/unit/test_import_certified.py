"""``ocop import certified``: a cohort shaped like Hà Nội's 2018–2020 certificates imported and
counted back, every chain verifying; a file with a bad row of each kind refused whole with every
row named and nothing written; a re-import changing nothing; corrections audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.cohorts import hanoi_2018_2020, row, write_csv
from tests.integration.cli_support import Ocop, around
from tests.support import BINH_MINH, START, make_app, record_intact
from tests.unit.lifecycle_support import snapshot
from workflow import importer
from workflow.bootstrap import App
from workflow.clock import FixedClock, local
from workflow.store import units

TODAY = local(START).date()


@pytest.fixture
def app() -> Iterator[App]:
    app = make_app("sqlite://", FixedClock(START))
    yield app
    app.close()


@pytest.fixture
def ocop(app: App, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> Ocop:
    return around(app, capsys, monkeypatch)


def count(app: App, sql: str) -> Any:
    with app.db.connect() as conn:
        return conn.execute(text(sql)).all()


def test_the_2018_2020_cohort_is_imported_and_counted_back(app: App, tmp_path: Path,
                                                           ocop: Ocop) -> None:
    with app.db.connect() as conn:
        communes = [u.name for u in units.listing(conn, "commune") if u.valid_to is None][:40]
    path = write_csv(tmp_path / "hanoi-2018-2020.csv", hanoi_2018_2020(communes))
    result = ocop("import", "certified", str(path), "--json")
    assert result.code == 0, result.err
    assert result.json()["new"] == 630
    stars = dict(count(app, "SELECT stars, COUNT(*) FROM certificates GROUP BY stars"))
    assert stars == {4: 435, 3: 195}
    assert count(app, "SELECT COUNT(*) FROM cases WHERE potential_5") == [(14,)]
    assert count(app, "SELECT COUNT(*) FROM cases WHERE trademark_no IS NOT NULL") == [(315,)]
    groups = dict(count(app, "SELECT product_group, COUNT(*) FROM cases GROUP BY 1"))
    assert round(100 * groups["food"] / 630, 1) == 74.1
    assert round(100 * groups["souvenir_furniture_decor"] / 630, 1) == 18.3
    # 36 months from a 2019–2020 decision ended before September 2025: expired, no clocks.
    assert count(app, "SELECT state, COUNT(*) FROM cases GROUP BY state") == [("expired", 630)]
    assert count(app, "SELECT status, COUNT(*) FROM certificates GROUP BY 1") == [("expired", 630)]
    assert count(app, "SELECT COUNT(*) FROM deadlines") == [(0,)]
    assert count(app, "SELECT trigger, from_state, actor, COUNT(*) FROM audit_entries "
                      "GROUP BY 1, 2, 3") == [("imported", None, "system", 630)]
    record_intact(app)
    again = ocop("import", "certified", str(path))
    assert again.code == 0 and "0 mới, 0 thay đổi, 630 không đổi" in again.out


def test_a_valid_certificate_has_its_clocks_and_a_legacy_commune_its_successor(
        app: App, tmp_path: Path, ocop: Ocop) -> None:
    path = write_csv(tmp_path / "one.csv", [row(1, score="88,5", trademark_no="4-0123456",
                                                 trademark_holder="HTX Tương Cự Đà"),
                                             row(2, certificate_no="125/GCN-UBND")], bom=False)
    assert ocop("import", "certified", str(path)).code == 0
    (case,) = count(app, "SELECT state, commune_code, district_code, stars, score, code "
                         "FROM cases WHERE trademark_no = '4-0123456'")
    assert case[:5] == ("certified", BINH_MINH, None, 4, 88.5)
    assert case[5].startswith("HN-2024-")
    (cert,) = count(app, "SELECT number, status, CAST(valid_to AS TEXT), decision_no, signature "
                         "FROM certificates WHERE number = 'OCOP-HN-00001'")
    assert cert[:4] == ("OCOP-HN-00001", "valid", "2027-06-14", "1/QĐ-UBND") and cert[4]
    kinds = {k for (k,) in count(app, "SELECT DISTINCT kind FROM deadlines WHERE status = 'open'")}
    assert kinds == {"cert_notice_90", "cert_notice_30", "cert_expiry"}
    record_intact(app)
    from tests.api_support import client
    with client(app) as c:
        check = c.get("/verify/OCOP-HN-00001?format=json").json()
        # A real number with a slash is checked, drawn as a QR code and printed like any other.
        slashed = c.get("/verify/125/GCN-UBND?format=json")
        qr, pdf = c.get("/verify/125/GCN-UBND/qr.svg"), c.get("/certificates/125/GCN-UBND.pdf")
    assert check["valid_today"] is True and check["authentic"] is True
    assert slashed.status_code == 200 and slashed.json()["number"] == "125/GCN-UBND"
    assert qr.headers["content-type"] == "image/svg+xml" and b"125/GCN-UBND" in qr.content
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")


BAD = [
    (5, "group", row(3, group="Đồ gốm Bát Tràng")),
    (6, "stars", row(4, stars="sáu")),
    (7, "certificate_no", row(5, certificate_no="OCOP-HN-00002")),  # row 2's number again
    (8, "decision_date", row(6, decision_date="ngày 31/02/2024")),
    (9, "commune", row(7, commune="Xã Không Có Thật", district="Huyện Hư Cấu")),
    (10, "decision_date", row(8, decision_date=(TODAY + timedelta(days=3)).isoformat())),
    (11, "product", row(9, product="")),
    (12, "stars", row(10, stars=6)),
    (13, "certificate_no", row(11, certificate_no="HN-TP-2025-ĐÃCÓ")),  # in the database
]


def test_a_file_with_bad_rows_is_refused_whole_with_every_row_named(
        app: App, tmp_path: Path, ocop: Ocop) -> None:
    taken = write_csv(tmp_path / "taken.csv", [row(99, certificate_no="HN-TP-2025-ĐÃCÓ")])
    assert ocop("import", "certified", str(taken)).code == 0
    with app.db.begin() as conn:  # the number now names a case no import made
        conn.execute(text("DELETE FROM audit_entries WHERE trigger = 'imported'"))
    rows = [row(1), row(2, certificate_no="OCOP-HN-00002")] + [r for _, _, r in BAD]
    path = write_csv(tmp_path / "xấu.csv", rows)
    before = snapshot(app)
    result = ocop("import", "certified", str(path))
    assert snapshot(app) == before, "a refused file changed the database"
    assert result.code == 2
    lines = result.err.splitlines()
    for (number, column, _), line in zip(BAD, lines, strict=False):
        assert line.startswith(f"Dòng {number}, cột {column}: "), line
    assert "Đồ gốm Bát Tràng" in lines[0] and "Xã Không Có Thật, Huyện Hư Cấu" in lines[4]
    assert len(lines) == len(BAD) + 1
    assert lines[-1].startswith('Lỗi: Tệp "xấu.csv" bị từ chối toàn bộ')


def test_a_missing_column_is_refused(app: App, tmp_path: Path, ocop: Ocop) -> None:
    path = tmp_path / "thiếu.csv"
    path.write_text("Tên chủ thể,Xã/Phường\nHTX Tương,Cự Khê\n", encoding="utf-8")
    result = ocop("import", "certified", str(path))
    assert result.code == 2 and "Dòng 1, cột producer_kind:" in result.err
    assert count(app, "SELECT COUNT(*) FROM cases") == [(0,)]


def test_a_corrected_row_is_listed_then_applied_as_an_audited_correction(
        app: App, tmp_path: Path, ocop: Ocop) -> None:
    first = write_csv(tmp_path / "a.csv", [row(1), row(2)])
    assert ocop("import", "certified", str(first)).code == 0
    fixed = write_csv(tmp_path / "b.csv", [row(1, stars=5, decision_date="2021-03-01",
                                                product="Tương bần Cự Đà"), row(2)])
    before = snapshot(app)
    dry = ocop("import", "certified", str(fixed), "--dry-run")
    assert snapshot(app) == before
    assert "stars: 4 → 5" in dry.out and "decision_date: 2024-06-15 → 2021-03-01" in dry.out
    assert "0 mới, 1 thay đổi, 1 không đổi" in dry.out
    assert ocop("import", "certified", str(fixed)).code == 0
    (case,) = count(app, "SELECT state, stars, product FROM cases WHERE id = 1")
    assert case == ("expired", 5, "Tương bần Cự Đà")
    assert count(app, "SELECT status FROM deadlines WHERE case_id = 1 AND status = 'open'") == []
    record_intact(app)
    assert "0 mới, 0 thay đổi, 2 không đổi" in ocop("import", "certified", str(fixed)).out


def test_the_template_has_both_header_rows(tmp_path: Path, ocop: Ocop) -> None:
    from openpyxl import load_workbook
    out = tmp_path / "mẫu.xlsx"
    assert ocop("import", "template", "--out", str(out)).code == 0
    book = load_workbook(out, read_only=True)
    header, keys = list(book.worksheets[0].iter_rows(values_only=True))[:2]
    book.close()
    assert header[0] == "Tên chủ thể" and keys == importer.KEYS


def test_only_the_city_staff_import_and_a_semicolon_csv_reads(app: App, tmp_path: Path,
                                                              ocop: Ocop) -> None:
    from workflow import registry
    from workflow.store.db import write_transaction
    with write_transaction(app.db) as conn:
        shop = registry.add_producer(conn, START, "Hộ ông Nguyễn Văn Ân", "household", None,
                                     BINH_MINH)
        registry.add_user(conn, START, "an", "producer", producer_id=shop)
        registry.add_user(conn, START, "vp", "city_officer")
    path = tmp_path / "chấm-phẩy.csv"
    write_csv(path, [row(1, commune="Bình Minh", district="Thanh Oai")])
    path.write_text(path.read_text(encoding="utf-8-sig").replace(",", ";"), encoding="utf-8")
    refused = ocop("import", "certified", str(path), "--as", "an")
    assert refused.code == 4 and "không được nhập" in refused.err
    assert count(app, "SELECT COUNT(*) FROM cases") == [(0,)]
    assert ocop("import", "certified", str(path), "--as", "vp").code == 0
    assert count(app, "SELECT actor, role FROM audit_entries") == [("vp", "city_officer")]
    record_intact(app)
