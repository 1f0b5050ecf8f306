"""Cohorts shaped like Hà Nội's register, shared by the import, register, report and bench code:
the 2018–2020 cohort (630 products) and the mid-2025 register (3,317), and the files that carry
them (the import template's two header rows, then the rows)."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from workflow import importer

OTHER_GROUPS = ("beverage", "herbal", "fabric_garment", "rural_tourism")
GROUPS = ("Thực phẩm", "Đồ uống", "Thảo dược", "Thủ công mỹ nghệ", "Sinh vật cảnh",
          "Dịch vụ du lịch cộng đồng, du lịch nông thôn và điểm du lịch")



def write_csv(path: Path, rows: list[dict[str, Any]], bom: bool = True) -> Path:
    """The template's two header rows, then ``rows`` (UTF-8, with a BOM as Excel writes)."""
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow([vi for _, vi, _ in importer.COLUMNS])
        writer.writerow(importer.KEYS)
        for row in rows:
            writer.writerow([row.get(k, "") for k in importer.KEYS])
    return path


def row(n: int, **over: Any) -> dict[str, Any]:
    base = {"producer": f"HTX Nông sản số {n}", "producer_kind": "Hợp tác xã",
            "province": "Thành phố Hà Nội", "district": "Thanh Oai", "commune": "Cự Khê",
            "product": f"Tương bần số {n}", "group": "Thực phẩm", "stars": 4,
            "level": "Cấp thành phố", "certificate_no": f"OCOP-HN-{n:05d}",
            "decision_no": f"{n}/QĐ-UBND", "decision_date": "15/06/2024",
            "decision_body": "UBND thành phố Hà Nội", "rule_version": "148",
            "trademark_no": "", "trademark_holder": "", "score": ""}
    return {**base, **over}


def hanoi_2018_2020(communes: list[str]) -> list[dict[str, Any]]:
    """630 products: 421 4★, 195 3★, 14 4★ proposed for 5★; 467 food (74.1 %), 115 souvenirs,
    furniture and décor (18.3 %), the rest in the other 1048 groups; decisions 2019–2020."""
    stars = [4] * 421 + [3] * 195 + [4] * 14
    groups = (["Thực phẩm"] * 467 + ["Lưu niệm, nội thất, trang trí"] * 115
              + [OTHER_GROUPS[i % 4] for i in range(48)])
    out = []
    for n in range(630):
        day = date(2019, 1, 10) + timedelta(days=n)
        out.append(row(n, group=groups[(n * 11) % 630], stars=stars[n],
                       potential_5="x" if n >= 616 else "", rule_version="1048",
                       district="", commune=communes[n % len(communes)],
                       decision_date=day.isoformat(), level="district" if n % 3 else "city",
                       score=f"{60 + stars[n] * 5 + n % 10}",
                       trademark_no=f"NH-{n}" if n % 2 else "",
                       trademark_holder="Hội nông dân xã" if n % 2 else ""))
    return out


def mid_2025(communes: list[str]) -> list[list[Any]]:
    """3,317 rows; decisions from 2019 to June 2025 (rules 1048 before 2021, then 148)."""
    stars = [5] * 6 + [4] * 22 + [4] * 1571 + [3] * 1718
    rows = []
    for n, star in enumerate(stars):
        day = date(2019, 3, 1) + timedelta(days=(n * 37) % 2300)
        rules = "1048" if day.year < 2021 else "148"
        group = GROUPS[n % 6] if rules == "148" else ("Thực phẩm", "Đồ uống", "Thảo dược")[n % 3]
        values = {"producer": f"Chủ thể số {n % 2900}", "producer_kind": "Hộ sản xuất",
                  "commune": communes[n % len(communes)], "product": f"Sản phẩm số {n}",
                  "group": group, "stars": star, "potential_5": "x" if 6 <= n < 28 else None,
                  "level": "central" if star == 5 else "city", "certificate_no": f"HN-{n:06d}",
                  "decision_no": f"{n}/QĐ-UBND", "decision_date": day,
                  "decision_body": "UBND thành phố Hà Nội", "rule_version": rules}
        rows.append([values.get(k) for k in importer.KEYS])
    return rows


def workbook(path: Path, rows: list[list[Any]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append([vi for _, vi, _ in importer.COLUMNS])
    sheet.append(list(importer.KEYS))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path
