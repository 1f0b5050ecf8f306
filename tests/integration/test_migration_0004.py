"""Upgrading a database from before seals and signatures (schema 0003) with ``ocop db
upgrade``: the cases that exist are sealed and their certificates signed with the office's key in
the same transaction, and ``ocop audit verify`` then finds the record intact; without the
upgrade's key the marks would be missing, and verify says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from sqlalchemy import select

from tests.support import World, make_app
from tests.unit.lifecycle_support import Driver, case_state, path_between
from workflow.store.migrate import alembic_config
from workflow.store.schema import cases, certificates

OCOP = str(Path(sys.executable).with_name("ocop"))


def ocop(url: str, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update(OCOP_DATABASE_URL=url, OCOP_LANG="en", OCOP_HOME=str(home),
               OCOP_SIGNING_KEY=os.environ["OCOP_SIGNING_KEY"])
    return subprocess.run([OCOP, *args], capture_output=True, text=True, timeout=120, env=env,
                          check=False)


def without_trademark(drive: Driver, *targets: str) -> str:
    """A 1489 case driven through ``targets`` (its certificates pending) the way a release
    before 0006 could have: no trademark certificate recorded, so no number for the
    downgrade to drop (the IP check records none and caps the stars at 3)."""
    code = drive.new_case("1489")
    drive.world.decide_at_once = False
    try:
        start = "draft"
        for target in targets:
            for trigger, source, dest in path_between("1489", start, target):
                drive.step(code, "1489", "record_no_ip" if trigger == "verify_ip" else trigger,
                           source, dest)
            start = target
    finally:
        drive.world.decide_at_once = True
    assert case_state(drive.world.app, code) == targets[-1]
    return code


def test_the_upgrade_seals_and_signs_what_exists(pg_url: str, tmp_path: Path) -> None:
    app = make_app(pg_url)
    world = World(app)
    drive = Driver(world)
    # Certified without its decision (pending): a certificate as 0003 could hold it, with no
    # decision date or body for the downgrade to drop; and with no trademark certificate, so
    # no trademark number (0006) for it to drop either.
    certified = without_trademark(drive, "city_rating", "certified")
    without_trademark(drive, "city_rating")
    app.close()
    cfg = alembic_config(pg_url)
    command.downgrade(cfg, "0003")  # the previous release's schema: no seal, no signature
    upgraded = ocop(pg_url, tmp_path, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    verified = ocop(pg_url, tmp_path, "audit", "verify", "--json")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    report = json.loads(verified.stdout)
    assert report["ok"] and report["cases"] == 2
    app = make_app(pg_url)
    try:
        with app.db.connect() as conn:
            assert conn.execute(select(cases.c.audit_seal).where(
                cases.c.code == certified)).scalar_one()
            assert conn.execute(select(certificates.c.signature)).scalar_one()
    finally:
        app.close()


def test_a_case_without_a_seal_is_named(pg_url: str, tmp_path: Path) -> None:
    """A migration run without the key (a script calling ``upgrade`` bare) leaves the marks
    empty: verify does not pass such a record as intact."""
    app = make_app(pg_url)
    code = Driver(World(app)).reach("1489", "registered")
    app.close()
    cfg = alembic_config(pg_url)
    command.downgrade(cfg, "0003")
    command.upgrade(cfg, "heads")
    verified = ocop(pg_url, tmp_path, "audit", "verify", "--json")
    assert verified.returncode == 1
    report = json.loads(verified.stdout)
    assert report["first_break"]["case"] == code
    assert report["first_break"]["code"] == "break_seal"
