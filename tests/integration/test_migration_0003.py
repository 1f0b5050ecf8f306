"""Upgrading a database made by the previous release (schema 0002, units as free text) to units
by code, on SQLite and on PostgreSQL: each name that means one unit gets its code — whatever
zero-width, no-break or case variant it was typed in — and each that means none or several is
not guessed: its code stays empty, the row is listed in ``unit_unresolved`` and by ``ocop units
unresolved``, and every name is kept as it was typed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import require
from tests.support import pg_database
from workflow.clock import VIETNAM
from workflow.store.db import make_engine
from workflow.store.migrate import upgrade

OCOP = str(Path(sys.executable).with_name("ocop"))
MADE = datetime(2024, 10, 7, 9, 0, tzinfo=VIETNAM)
ZW, NBSP = "Hà\u200bĐông", "Hà\u00a0Đông"
# producers and cases: (district, commune) as release 0002 stored them -> expected codes
PLACES: list[tuple[str | None, str | None, str | None, str | None]] = [
    ("Thanh Oai", "Cự Khê", "old:278", "old:10120"),
    (ZW, "Vạn Phúc", "old:268", "old:09544"),
    ("hà đông", "vạn phúc", "old:268", "old:09544"),
    (NBSP, "Phường Vạn\u00a0Phúc", "old:268", "old:09544"),
    ("Thanh Oai", "Xã Không Có", "old:278", None),  # no such commune in Thanh Oai
    ("Quận Không Có", "Cự Khê", None, None),  # no such district
    (ZW, None, "old:268", None),  # no commune at all
]
# users: (name, role, district, commune) -> expected unit key
PEOPLE: list[tuple[str, str, str | None, str | None, str | None]] = [
    ("d_zw", "district_officer", ZW, None, "old:268"),
    ("d_lower", "district_officer", "hà đông", None, "old:268"),
    ("c_cukhe", "commune_officer", "Thanh Oai", "Cự Khê", "old:10120"),
    ("c_vanphuc", "commune_officer", None, "Vạn Phúc", None),  # Thanh Trì's or Hà Đông's?
    ("city", "city_officer", None, None, None),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'release-0002.db'}"
        return
    require("postgres")
    with pg_database() as pg:
        yield pg


def made_by_release_0002(engine: sa.Engine) -> None:
    """The schema at 0002 and rows as that release wrote them: names only."""
    upgrade(engine, "0002")
    meta = sa.MetaData()
    producers, cases, users = (sa.Table(t, meta, autoload_with=engine)
                               for t in ("producers", "cases", "users"))
    with engine.begin() as conn:
        for i, (district, commune, _, _) in enumerate(PLACES, 1):
            conn.execute(sa.insert(producers).values(
                id=i, name=f"Producer {i}", kind="household", district=district,
                commune=commune, webhook_secret="s" * 64, lang="vi", created_at=MADE))
            conn.execute(sa.insert(cases).values(
                id=i, code=f"HN-2024-{i:06d}", producer_id=i, product=f"Product {i}",
                product_group="food", district=district, commune=commune, state="draft",
                version=1, rule_version="148", rules_pinned=False, dossier={"documents": []},
                status_token=f"t{i}", audit_seq=0, audit_head="0" * 64, created_at=MADE,
                updated_at=MADE))
        for i, (name, role, district, commune, _) in enumerate(PEOPLE, 1):
            conn.execute(sa.insert(users).values(
                id=i, name=name, role=role, district=district, commune=commune,
                token_hash=f"{i:064d}", created_at=MADE))


def rows(engine: sa.Engine, sql: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def ocop(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=url, OCOP_LANG="en")
    return subprocess.run([OCOP, *args], capture_output=True, text=True, timeout=120, env=env,
                          check=False)


def test_upgrading_resolves_unique_names_and_lists_the_rest(url: str) -> None:
    """Codes where a name means one unit (the zero-width, no-break and lower-case Hà Đông
    included); the unknown commune, the unknown district, the missing commune and the
    ambiguous "Vạn Phúc" officer listed with their reasons; no name changed."""
    engine = make_engine(url)
    try:
        made_by_release_0002(engine)
        names_before = {t: rows(engine, f"SELECT id, district, commune FROM {t} ORDER BY id")
                        for t in ("producers", "cases", "users")}
        upgrade(engine)
        for table in ("producers", "cases"):
            codes = rows(engine, f"SELECT district_code, commune_code FROM {table} ORDER BY id")
            assert codes == [(d, c) for _, _, d, c in PLACES], table
        assert rows(engine, "SELECT unit_code FROM users ORDER BY id") == [
            (key,) for *_, key in PEOPLE]
        for table, before in names_before.items():
            assert rows(engine, f"SELECT id, district, commune FROM {table} ORDER BY id") \
                == before, f"{table}: names were changed"
        listed = rows(engine, "SELECT table_name, row_id, reason FROM unit_unresolved "
                              "ORDER BY table_name, row_id")
    finally:
        engine.dispose()
    expected = {(t, i) for t in ("producers", "cases") for i in (5, 6, 7)} | {("users", 4)}
    assert {(t, i) for t, i, _ in listed} == expected
    reasons = {(t, i): r for t, i, r in listed}
    assert "no unit named" in reasons["cases", 5] and "Xã Không Có" in reasons["cases", 5]
    assert reasons["producers", 6].startswith("district: no unit named")
    assert reasons["producers", 7] == "no commune"
    assert "ambiguous" in reasons["users", 4]
    assert "[old:00676]" in reasons["users", 4] and "[old:09544]" in reasons["users", 4]


def test_ocop_units_unresolved_lists_the_rows_after_the_upgrade(url: str) -> None:
    """The real ``ocop``: ``db upgrade`` from 0002 keeps the units the migration loaded, and
    ``units unresolved`` lists the seven rows with their names, as text and as JSON."""
    engine = make_engine(url)
    try:
        made_by_release_0002(engine)
    finally:
        engine.dispose()
    upgraded = ocop(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    listed = ocop(url, "units", "unresolved", "--json")
    assert listed.returncode == 0, listed.stderr
    found = json.loads(listed.stdout)
    assert [(r["table"], r["id"]) for r in found] == [
        ("producers", 5), ("producers", 6), ("producers", 7), ("cases", 5), ("cases", 6),
        ("cases", 7), ("users", 4)]
    assert found[-1]["commune"] == "Vạn Phúc" and found[0]["commune"] == "Xã Không Có"
    text = ocop(url, "units", "unresolved")
    assert text.returncode == 0 and len(text.stdout.strip().splitlines()) == 7
    assert "users #4: district —, commune Vạn Phúc — " in text.stdout
    shown = ocop(url, "units", "show", "old:09544", "--json")
    assert json.loads(shown.stdout)["successors"][0]["key"] == "09556"
