"""``ocop councils add|list|show`` on PostgreSQL through the installed console script, in real
processes: the operator and a commune officer (``--as``) make councils, a refusal (out of reach,
below the configured quorum) exits with one sentence and writes nothing, a city score names the
council, ``show`` lists that round, and ``ocop audit verify`` covers the councils' log entries."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support import BINH_MINH, DOCS, HA_DONG, START, TEST_SIGNING_KEY, World, make_app
from tests.unit.lifecycle_support import CRITERIA, assert_one_sentence
from workflow.clock import FixedClock
from workflow.store.schema import admin_log, councils

pytestmark = pytest.mark.postgres

OCOP = str(Path(sys.executable).with_name("ocop"))
MEMBERS = ["Bà Nguyễn Thị Lan", "Ông Trần Văn Hùng", "Bà Lê Thị Mai"]


def ocop(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=url, OCOP_HOME=str(home), OCOP_LANG="en",
               OCOP_SIMULATION="1", OCOP_NOW=START.isoformat(), OCOP_QUORUM_CITY="3",
               OCOP_SIGNING_KEY=TEST_SIGNING_KEY)
    return subprocess.run([OCOP, *args], capture_output=True, text=True, timeout=120, env=env,
                          cwd=home, check=False)


def ok(url: str, home: Path, *args: str) -> Any:
    done = ocop(url, home, *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout.strip()


def test_councils_from_the_command_line_score_a_case_and_verify(pg_url: str,
                                                                 tmp_path: Path) -> None:
    app = make_app(pg_url, FixedClock(START), council_required=True, quorum={"city": 3})
    try:
        world = World(app)
        code = world.register()
        world.fire(code, "submit", "producer1", DOCS)
        world.fire(code, "start_review", "commune1")
        world.fire(code, "record_commune_prescore", "commune1", {"criteria": CRITERIA})
        world.fire(code, "record_no_ip", "ip", {}, "no trademark registration yet")

        member_args = [a for m in MEMBERS for a in ("--member", m)]
        city_id = ok(pg_url, tmp_path, "councils", "add", "--level", "city", "--unit",
                     "Hà Nội", "--year", "2025", *member_args)
        assert city_id.isdigit()
        mine = ok(pg_url, tmp_path, "councils", "add", "--level", "commune", "--unit",
                  BINH_MINH, "--year", "2025", "--member", "Ông A", "--as", "commune1",
                  "--json")
        assert mine["created_by"] == "commune1" and mine["unit"]["key"] == BINH_MINH

        with app.db.connect() as conn:
            before = conn.execute(select(func.count()).select_from(councils)).scalar_one()
            logged = conn.execute(select(func.count()).select_from(admin_log)).scalar_one()
        for args, exit_code in (
                (["--level", "commune", "--unit", HA_DONG, "--as", "commune1",
                  "--member", "Ông A"], 4),
                (["--level", "city", "--unit", "01", "--member", "Ông A", "--member", "Bà B"],
                 2)):
            done = ocop(pg_url, tmp_path, "councils", "add", "--year", "2025", *args)
            assert done.returncode == exit_code, done.stderr
            (line,) = [x for x in done.stderr.splitlines() if x.strip()]
            assert_one_sentence(line.removeprefix("error: "))
        with app.db.connect() as conn:
            assert conn.execute(select(func.count()).select_from(councils)).scalar_one() \
                == before
            assert conn.execute(select(func.count()).select_from(admin_log)).scalar_one() \
                == logged

        world.fire(code, "record_city_score", "city", {
            "council": int(city_id), "mandatory_ok": True,
            "sheets": [{"member": m, "a": 30, "b": 20, "c": 25} for m in MEMBERS]})
        shown = ok(pg_url, tmp_path, "councils", "show", city_id, "--json")
        assert [r["member"] for r in shown["rounds"]] == MEMBERS
        assert {(r["case"], r["entered_by"]) for r in shown["rounds"]} == {(code, "city")}
        text = ok(pg_url, tmp_path, "councils", "show", city_id)
        assert code in text and "Bà Lê Thị Mai" in text
        listed = ok(pg_url, tmp_path, "councils", "list", "--unit", "01", "--json")
        assert [c["id"] for c in listed] == [int(city_id)]
        assert ocop(pg_url, tmp_path, "councils", "show", "999999").returncode == 3
        verified = ocop(pg_url, tmp_path, "audit", "verify")
        assert verified.returncode == 0, verified.stdout + verified.stderr
    finally:
        app.close()
