"""``ocop units remap`` on PostgreSQL, through the installed console script in real processes:
the 2025 dataset's dry run and run agree, every district-stage case is transferred once with
its chain verifying, a second run changes nothing, two runs at once still transfer each case
once, and the roll-up compares the old units with the new."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from tests.support import TEST_SIGNING_KEY, make_app
from tests.unit.lifecycle_support import assert_one_sentence
from tests.unit.test_remap import (
    BEFORE,
    BINH_MINH,
    CU_KHE,
    HA_DONG,
    MOVED_ONLY,
    TRANSFERRED,
    build_2025,
    everything,
    open_app,
)
from workflow import remap
from workflow.clock import FixedClock
from workflow.store.db import make_engine
from workflow.store.schema import audit_entries, cases, producers

pytestmark = pytest.mark.postgres

OCOP = str(Path(sys.executable).with_name("ocop"))
NOW = "2025-09-01T09:00:00+07:00"


class Ocop:
    """The ``ocop`` console script against one PostgreSQL database, at a simulated time."""

    def __init__(self, url: str, home: Path) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
        self.env.update(OCOP_DATABASE_URL=url, OCOP_HOME=str(home), OCOP_LANG="en",
                        OCOP_SIMULATION="1", OCOP_NOW=NOW,
                        OCOP_SIGNING_KEY=TEST_SIGNING_KEY)  # the key the test's app seals with
        self.home = home

    def args(self, *args: str) -> list[str]:
        return [OCOP, *args]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.args(*args), capture_output=True, text=True, timeout=120,
                              env=self.env, cwd=self.home, check=False)

    def json(self, *args: str) -> Any:
        done = self.run(*args, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


@pytest.fixture
def dataset(pg_url: str, tmp_path: Path) -> Iterator[tuple[Ocop, dict[str, str]]]:
    """The 2025 dataset on a fresh PostgreSQL database (made before 2025-07-01, in process)."""
    app = make_app(pg_url, FixedClock(BEFORE))
    try:
        codes, _ = build_2025(app)
    finally:
        app.close()
    yield Ocop(pg_url, tmp_path), codes


def keys(codes: dict[str, str], listed: list[str]) -> set[str]:
    by_code = {v: k for k, v in codes.items()}
    return {by_code[c] for c in listed}


def test_dry_run_run_and_second_run_through_the_cli(
        dataset: tuple[Ocop, dict[str, str]], pg_url: str) -> None:
    """The dry run (JSON) lists the run's moves and transfers and writes nothing; the run does
    exactly that; ``ocop audit verify`` passes; the second run writes nothing."""
    ocop, codes = dataset
    app = open_app(pg_url)
    try:
        before = everything(app)
        said = ocop.json("units", "remap", "--dry-run")
        assert everything(app) == before
        assert said["counts"] == {"producers_moved": 2, "cases_moved": 7,
                                  "cases_transferred": 4, "unmapped": 2}
        done = ocop.json("units", "remap", "--as", "ops.hanoi")
        assert done == {**said, "dry_run": False}
        moved = [c["code"] for c in done["cases"] if c["to"]]
        assert keys(codes, moved) == MOVED_ONLY | TRANSFERRED
        assert keys(codes, [c["code"] for c in done["cases"] if c["transferred_to"]]) == \
            TRANSFERRED
        verified = ocop.run("audit", "verify")
        assert verified.returncode == 0 and "intact" in verified.stdout
        with app.db.connect() as conn:
            actors = set(conn.execute(select(audit_entries.c.actor).where(
                audit_entries.c.trigger.in_([remap.REASSIGN, remap.TRANSFER]))).scalars())
        assert actors == {"ops.hanoi"}
        after = everything(app)
        again = ocop.json("units", "remap")
        assert again["counts"] == {"producers_moved": 0, "cases_moved": 0,
                                   "cases_transferred": 0, "unmapped": 2}
        assert everything(app) == after
    finally:
        app.close()


def test_the_text_report_names_moves_transfers_and_what_could_not_be_mapped(
        dataset: tuple[Ocop, dict[str, str]]) -> None:
    """Without ``--json``: the counts in words, one line per case, the unmapped row's reason,
    and the dry run saying it changed nothing."""
    ocop, codes = dataset
    done = ocop.run("units", "remap", "--dry-run")
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Producers moved: 2" in out and "Cases moved: 7; transferred: 4" in out
    line = next(x for x in out.splitlines() if codes["district_review"] in x)
    assert f"[{CU_KHE}] → Xã Bình Minh [{BINH_MINH}]" in line
    assert "transferred to Commune officer" in line
    assert "the mapping names no successor" in out
    assert out.rstrip().endswith("Dry run: nothing was changed.")


def test_two_remaps_at_once_transfer_each_case_once(
        dataset: tuple[Ocop, dict[str, str]], pg_url: str) -> None:
    """Two ``ocop units remap`` processes, both held at the first producer's row lock until
    each has read its list of work: between them every producer and case is changed once
    (the row lock and the re-check under it), and the chains verify."""
    ocop, codes = dataset
    holder = make_engine(pg_url)
    try:
        with holder.connect() as conn, conn.begin():
            conn.execute(select(producers.c.id).with_for_update())
            procs = [subprocess.Popen(ocop.args("units", "remap", "--json"),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True, env=ocop.env, cwd=ocop.home)
                     for _ in range(2)]
            wait_until_blocked(holder, 2)
    finally:
        holder.dispose()
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        reports.append(json.loads(out))
    total = {k: sum(r["counts"][k] for r in reports) for k in reports[0]["counts"]}
    # Each run lists the two rows it cannot map; the changes are made once, by either run.
    assert total == {"producers_moved": 2, "cases_moved": 7, "cases_transferred": 4,
                     "unmapped": 4}
    app = open_app(pg_url)
    try:
        with app.db.connect() as conn:
            per_case: dict[str, int] = {code: n for code, n in conn.execute(
                select(cases.c.code, func.count()).join(
                    audit_entries, audit_entries.c.case_id == cases.c.id)
                .where(audit_entries.c.trigger == remap.TRANSFER).group_by(cases.c.code))}
        assert keys(codes, list(per_case)) == TRANSFERRED and set(per_case.values()) == {1}
    finally:
        app.close()
    assert ocop.run("audit", "verify").returncode == 0


def wait_until_blocked(engine: Engine, n: int) -> None:
    """Until ``n`` other sessions of this database wait for a lock."""
    deadline = time.monotonic() + 60
    query = text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                 "AND wait_event_type = 'Lock'")
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            if conn.execute(query).scalar_one() >= n:
                return
        time.sleep(0.05)
    raise AssertionError(f"{n} sessions never waited for the lock")


def test_the_rollup_by_old_and_new_units(dataset: tuple[Ocop, dict[str, str]]) -> None:
    """After the remap, ``--by old`` counts the cases under the communes they were opened in
    and ``--by new`` under their successors: the same totals."""
    ocop, _ = dataset
    ocop.json("units", "remap")
    old = {r["unit"]: (r["all"], r["open"], r["certified"])
           for r in ocop.json("units", "rollup", "--by", "old")}
    new = {r["unit"]: (r["all"], r["open"], r["certified"])
           for r in ocop.json("units", "rollup", "--by", "new")}
    assert old[CU_KHE] == new[BINH_MINH] == (6, 5, 1)
    assert new[HA_DONG] == (3, 2, 0)
    assert sum(v[0] for v in old.values()) == sum(v[0] for v in new.values()) == 10
    table = ocop.run("units", "rollup", "--by", "new")
    assert table.returncode == 0 and "Xã Bình Minh" in table.stdout
    assert table.stdout.splitlines()[-1].split()[-3:] == ["10", "8", "1"]


def test_a_remap_with_an_empty_operator_is_refused_and_changes_nothing(
        dataset: tuple[Ocop, dict[str, str]], pg_url: str) -> None:
    """``--as ""``: exit 2, one sentence on stderr, nothing written."""
    ocop, _ = dataset
    app = open_app(pg_url)
    try:
        before = everything(app)
        done = ocop.run("units", "remap", "--as", "")
        assert everything(app) == before
    finally:
        app.close()
    assert done.returncode == 2, done.stderr
    lines = [x for x in done.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert_one_sentence(lines[0].removeprefix("error: "))
