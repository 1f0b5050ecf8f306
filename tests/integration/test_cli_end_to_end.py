"""The real ``ocop`` console script in subprocesses: a product goes from registration to a
district 3★ certificate (in March 2025, when the districts still certified), a refusal exits 4
with one sentence on stderr, a tampered trail fails ``audit verify``, and ``OCOP_NOW`` is
refused outside simulation."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

import states
from tests.support import BEFORE_2025, TINY_PDF, make_app
from tests.unit.lifecycle_support import assert_one_sentence
from workflow import registry
from workflow.store.db import write_transaction

OCOP = str(Path(sys.executable).with_name("ocop"))


class Shell:
    def __init__(self, home: Path, now: str | None = "2025-09-03T09:00:00+07:00") -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
        self.env.update(OCOP_HOME=str(home), OCOP_DATABASE_URL=f"sqlite:///{home / 'ocop.db'}",
                        OCOP_LANG="en")
        if now is not None:
            self.env.update(OCOP_SIMULATION="1", OCOP_NOW=now)
        self.home = home

    def run(self, *args: str, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
        return subprocess.run([OCOP, *args], capture_output=True, text=True, timeout=60,
                              env={**self.env, **(env or {})}, cwd=self.home, check=False)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stderr
        return done.stdout


def upload_dossier(sh: Shell, code: str, who: str) -> None:
    """``ocop documents add`` for each kind the case's rule version requires."""
    pdf = sh.home / "dossier.pdf"
    pdf.write_bytes(TINY_PDF)
    rules = json.loads(sh.ok("cases", "show", code, "--json"))["rule_version"]
    for kind in states.lifecycle(rules).required_documents:
        sh.ok("documents", "add", code, kind, str(pdf), "--as", who)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated database, built once in process: producer 1 in Xã Bình Minh (10126) with its
    commune officer, and producer 2 in Xã Cự Khê of Huyện Thanh Oai with that district's
    officer, both made in January 2025 when those units existed."""
    path = tmp_path_factory.mktemp("template") / "ocop.db"
    app = make_app(f"sqlite:///{path}")
    with write_transaction(app.db) as conn:
        now = app.clock.now()
        p1 = registry.add_producer(conn, now, "HTX Tương Cự Đà", "cooperative", None,
                                   "Bình Minh")
        p2 = registry.add_producer(conn, BEFORE_2025, "HTX Mây tre Cự Khê", "cooperative",
                                   "Thanh Oai", "Cự Khê")
        registry.add_user(conn, now, "p1", "producer", producer_id=p1)
        registry.add_user(conn, BEFORE_2025, "p2", "producer", producer_id=p2,
                          token_days=3650)
        registry.add_user(conn, BEFORE_2025, "d1", "district_officer", district="Thanh Oai",
                          token_days=3650)
        registry.add_user(conn, now, "c1", "commune_officer", commune="Bình Minh")
        registry.add_user(conn, now, "city1", "city_officer")
    app.close()
    return path


@pytest.fixture
def sh(tmp_path: Path, template: Path) -> Shell:
    shutil.copy(template, tmp_path / "ocop.db")
    return Shell(tmp_path)


def test_a_148_product_goes_from_registration_to_a_district_3_star_certificate(
        tmp_path: Path, template: Path) -> None:
    """Through the installed console script, on 4 March 2025: the city officer registers it
    pinned to 148 (only staff pin), submit, the Thanh Oai district officer reviews and scores
    60: certified 3★ by the district, shown as JSON, with an intact audit chain."""
    shutil.copy(template, tmp_path / "ocop.db")
    sh = Shell(tmp_path, now="2025-03-04T09:00:00+07:00")
    code = sh.ok("cases", "register", "--as", "city1", "--producer", "2", "--product",
                 "Mây tre đan", "--group", "food", "--rules", "148").strip()
    refused = sh.run("cases", "advance", code, "submit", "--as", "p2")
    assert refused.returncode == 4 and "not uploaded yet" in refused.stderr
    upload_dossier(sh, code, "p2")
    sh.ok("cases", "advance", code, "submit", "--as", "p2")
    sh.ok("cases", "advance", code, "start_review", "--as", "d1")
    council = sh.ok("councils", "add", "--level", "district", "--unit", "Thanh Oai", "--year",
                    "2025", "--member", "Bà Nguyễn Thị Lan", "--as", "d1").strip()
    scores = {"council": int(council), "scored_on": "2025-02-28",
              "sheets": [{"member": "bà nguyễn thị lan", "a": 25, "b": 15, "c": 20}],
              "mandatory_ok": True,
              "decision": {"number": "215/QĐ-UBND", "date": "2025-03-03",
                           "body": "UBND huyện Thanh Oai"}}
    case = json.loads(sh.ok("cases", "advance", code, "record_district_score", "--as", "d1",
                            "--data", json.dumps(scores), "--json"))
    assert (case["state"], case["stars"], case["score"], case["rule_version"]) == (
        "certified", 3, 60.0, "148")
    assert (case["certificate"]["level"], case["certificate"]["stars"]) == ("district", 3)
    assert (case["district_code"], case["commune_code"]) == ("old:278", "old:10120")
    # 36 months from the decision (3 March), entered a day later, scored on 28 February.
    assert (case["certificate"]["issued_on"], case["certificate"]["valid_to"]) == (
        "2025-02-28", "2028-03-02")
    assert case["certificate"]["decision"] == {
        "number": "215/QĐ-UBND", "date": "2025-03-03", "body": "UBND huyện Thanh Oai"}
    assert [h["trigger"] for h in case["history"]] == [
        "register", *["upload_document"] * 4, "submit", "start_review", "record_district_score"]
    assert json.loads(sh.ok("audit", "verify", "--json"))["ok"]


def test_a_refusal_exits_4_with_one_sentence_on_stderr(sh: Shell) -> None:
    """Wrong state: exit 4, nothing on stdout, one sentence on stderr; bad JSON exits 2."""
    code = sh.ok("cases", "register", "--as", "p1", "--producer", "1", "--product", "x",
                 "--group", "food").strip()
    done = sh.run("cases", "advance", code, "start_review", "--as", "c1")
    assert done.returncode == 4 and done.stdout == ""
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("error: ") and "allowed from “Draft” now" in line
    assert_one_sentence(line.removeprefix("error: "))
    bad = sh.run("cases", "advance", code, "submit", "--as", "p1", "--data", "{oops")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1


def test_a_deleted_last_entry_fails_audit_verify(sh: Shell) -> None:
    """Truncating a case's trail is found: non-zero exit naming the case and entry 2."""
    code = sh.ok("cases", "register", "--as", "p1", "--producer", "1", "--product", "x",
                 "--group", "food").strip()
    upload_dossier(sh, code, "p1")
    sh.ok("cases", "advance", code, "submit", "--as", "p1")
    with sqlite3.connect(sh.home / "ocop.db") as db:
        db.execute("DELETE FROM audit_entries WHERE seq = 2")
    done = sh.run("audit", "verify")
    assert done.returncode != 0
    assert f"Audit chain of case {code} breaks at entry 2" in done.stderr


def test_ocop_now_is_refused_without_simulation(tmp_path: Path) -> None:
    """OCOP_NOW alone exits 2 and says how to enable simulation."""
    shell = Shell(tmp_path, now=None)
    done = shell.run("cases", "list", env={"OCOP_NOW": "2025-09-03T09:00:00+07:00"})
    assert done.returncode == 2 and "OCOP_SIMULATION=1" in done.stderr
