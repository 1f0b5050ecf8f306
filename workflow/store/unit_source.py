"""The units of Vietnam and the 2025 old -> new mapping, read from the ``vietnamadminunits``
package (MIT; pinned in pyproject.toml). It ships both lists — the 63 provinces with their
districts and communes as they stood until 2025-06-30, and the 34 provinces with their
communes from 2025-07-01, with the statistics office's codes — and the official mapping between
them; the README says why this package and not another.

Only the package's data files are read (its SQLite list and its JSON mapping), through
``importlib.resources``: importing the package itself would load its address parser, geocoder
and shapely, none of which the engine needs.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

from workflow.domain.text import fold
from workflow.domain.units import OLD, REORGANISED_ON, strip_type

ENDED_ON = REORGANISED_ON - timedelta(days=1)
PACKAGE = "vietnamadminunits"


@dataclass
class Source:
    """Rows for the ``units`` and ``unit_successors`` tables."""

    units: list[dict[str, Any]] = field(default_factory=list)
    successors: list[dict[str, Any]] = field(default_factory=list)
    version: str = ""


def _row(key: str, code: str, level: str, kind: str, name: str, parent: str | None,
         province: str, old: bool) -> dict[str, Any]:
    _, short = strip_type(fold(name))
    return {"key": key, "code": code, "level": level, "kind": kind, "name": name,
            "fold": short, "parent_key": parent, "province_key": province,
            "valid_from": None if old else REORGANISED_ON, "valid_to": ENDED_ON if old else None}


def _kind(name: str, given: str | None) -> str:
    if given:
        return given
    folded, _ = strip_type(fold(name))
    return (folded or "").capitalize()


@cache
def _read() -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any], str]:
    base = resources.files(PACKAGE) / "data"
    with resources.as_file(base / "dataset.db") as path:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        try:
            legacy = [dict(r) for r in db.execute(
                "SELECT DISTINCT provinceCode, province, provinceKey, districtCode, district, "
                "districtType, districtKey, wardCode, ward, wardType, wardKey "
                "FROM admin_units_legacy")]
            new = [dict(r) for r in db.execute(
                "SELECT DISTINCT provinceCode, province, provinceKey, wardCode, ward, wardType, "
                "wardKey FROM admin_units")]
        finally:
            db.close()
    mapping = json.loads((base / "converter_2025.json").read_text(encoding="utf-8"))
    from importlib.metadata import version
    return legacy, new, mapping, version(PACKAGE)


def read(provinces: Iterable[str] | None = None) -> Source:
    """The units of ``provinces`` (new codes, e.g. ``"01"`` for Hà Nội; ``None``: the whole
    country) in both eras, and the successor of every old commune (and of every old district,
    as the new communes its communes went to)."""
    legacy, new, mapping, package_version = _read()
    wanted = set(provinces) if provinces is not None else None
    src = Source(version=package_version)
    new_keys: dict[tuple[str, str], str] = {}  # (province slug, ward slug) -> unit key
    new_provinces: dict[str, str] = {}  # province slug -> new province code
    for r in sorted(new, key=lambda r: (r["provinceCode"], r["wardCode"])):
        if wanted is not None and r["provinceCode"] not in wanted:
            continue
        pcode = r["provinceCode"]
        if pcode not in new_provinces.values():
            src.units.append(_row(pcode, pcode, "province", _kind(r["province"], None),
                                  r["province"], None, pcode, old=False))
        new_provinces[r["provinceKey"]] = pcode
        new_keys[(r["provinceKey"], r["wardKey"])] = r["wardCode"]
        src.units.append(_row(r["wardCode"], r["wardCode"], "commune",
                              _kind(r["ward"], r["wardType"]), r["ward"], pcode, pcode,
                              old=False))
    # The old provinces that went into the wanted new ones.
    old_into = {old: new_p for new_p, olds in mapping["DICT_PROVINCE"].items()
                if new_p in new_provinces for old in olds}
    seen: set[str] = set()
    old_wards: dict[str, tuple[str, str]] = {}  # "prov_dist_ward" -> (ward key, district key)
    for r in sorted(legacy, key=lambda r: (r["provinceCode"], r["districtCode"],
                                           r["wardCode"] or "")):
        if r["provinceKey"] not in old_into:
            continue
        province = new_provinces[old_into[r["provinceKey"]]]
        pkey, dkey = OLD + r["provinceCode"], OLD + r["districtCode"]
        if pkey not in seen:
            seen.add(pkey)
            src.units.append(_row(pkey, r["provinceCode"], "province",
                                  _kind(r["province"], None), r["province"], None, province,
                                  old=True))
        if dkey not in seen:
            seen.add(dkey)
            src.units.append(_row(dkey, r["districtCode"], "district",
                                  _kind(r["district"], r["districtType"]), r["district"], pkey,
                                  province, old=True))
        slug = f"{r['provinceKey']}_{r['districtKey']}_{r['wardKey'] or ''}"
        if r["wardCode"]:
            wkey = OLD + r["wardCode"]
            if wkey not in seen:
                seen.add(wkey)
                src.units.append(_row(wkey, r["wardCode"], "commune",
                                      _kind(r["ward"], r["wardType"]), r["ward"], dkey,
                                      province, old=True))
            old_wards[slug] = (wkey, dkey)
        else:  # an island district without communes: the district itself is what moves
            old_wards[slug] = (dkey, dkey)
    pairs: dict[tuple[str, str], bool] = {}
    for new_p, wards in mapping["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for new_w, olds in wards.items():
            for slug in olds:
                if slug in old_wards and (new_p, new_w) in new_keys:
                    pairs[(old_wards[slug][0], new_keys[(new_p, new_w)])] = True
    for new_p, olds in mapping["DICT_PROVINCE_WARD_DIVIDED"].items():
        for slug, news in olds.items():
            for n in news:
                if slug in old_wards and (new_p, n["newWardKey"]) in new_keys:
                    pairs[(old_wards[slug][0], new_keys[(new_p, n["newWardKey"])])] = bool(
                        n["isDefaultNewWard"])
    src.successors = [{"old_key": o, "new_key": n, "is_default": d}
                      for (o, n), d in sorted(pairs.items())]
    return src

