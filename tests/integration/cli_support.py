"""Running ``ocop`` in process (``run_cli``) against an SQLite file with a small world of
producers and users, and checking that a refusal changed nothing."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.support import DOCS, make_app
from tests.unit.lifecycle_support import CRITERIA, assert_one_sentence, snapshot
from workflow import logs
from workflow.bootstrap import App
from workflow.cli import cli
from workflow.cli.base import run_cli

CASE_KEYS = {"code", "state", "version", "rule_version", "producer", "product", "group",
             "district", "commune", "district_code", "commune_code", "score", "stars",
             "certificate", "deadlines", "history"}
CERT_KEYS = {"number", "stars", "level", "issued_on", "valid_to", "status"}
HISTORY_KEYS = {"seq", "trigger", "from", "to", "actor", "role", "at", "reason", "data"}
NOW = "2025-09-03T09:00:00+07:00"
BEFORE_2025 = "2025-01-06T09:00:00+07:00"  # when the district officers' accounts were made


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


class Ocop:
    """Runs ``ocop`` in process against one SQLite file, at a simulated time."""

    def __init__(self, capsys: pytest.CaptureFixture[str], url: str) -> None:
        self.capsys = capsys
        self.url = url

    def __call__(self, *args: str) -> Result:
        self.capsys.readouterr()
        code = run_cli(cli, list(args))
        out, err = self.capsys.readouterr()
        return Result(code, out, err)

    def ok(self, *args: str) -> Result:
        result = self(*args)
        assert result.code == 0, result.err
        return result

    def refused(self, exit_code: int, *args: str) -> str:
        """Expect ``exit_code``, one sentence on stderr and no change in the database."""
        app = make_app(self.url)
        try:
            before = snapshot(app)
            result = self(*args)
            assert snapshot(app) == before, "a refused command changed the database"
        finally:
            app.close()
        assert result.code == exit_code, (result.code, result.err)
        lines = [line for line in result.err.splitlines() if line.strip()]
        assert len(lines) == 1, result.err
        assert lines[0].startswith("error: ")
        assert_one_sentence(lines[0].removeprefix("error: "))
        return lines[0]


class CurrentStderr:
    """Writes to whatever ``sys.stderr`` is now. structlog caches its logger, and with it the
    stream it was configured with, on first use; each test's capture closes its stream."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return False


def around(app: App, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
           lang: str | None = None) -> Ocop:
    """The CLI in this process, on ``app`` (a test's own: the CLI's context does not close it),
    speaking ``lang`` when given."""
    monkeypatch.setattr(app, "close", lambda: None)
    monkeypatch.setattr("workflow.cli.base.bootstrap", lambda: app)
    if lang:
        monkeypatch.setenv("OCOP_LANG", lang)
    return Ocop(capsys, app.settings.database_url)


def open_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
             capsys: pytest.CaptureFixture[str]) -> Ocop:
    """A migrated SQLite file (Hà Nội's units loaded by ``db upgrade``) with two producers, in
    Xã Bình Minh (10126, which took in Cự Khê) and Phường Hà Đông (09556), and one user per
    role, at ``NOW``; the district officers' accounts were made before 2025-07-01, when their
    districts still existed (:data:`BEFORE_2025`)."""
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stderr=CurrentStderr()))
    url = f"sqlite:///{tmp_path / 'ocop.db'}"
    monkeypatch.setenv("OCOP_DATABASE_URL", url)
    monkeypatch.setenv("OCOP_HOME", str(tmp_path))
    monkeypatch.setenv("OCOP_LANG", "en")  # refusals in English (test_cli_language: Vietnamese)
    monkeypatch.setenv("OCOP_SIMULATION", "1")
    monkeypatch.setenv("OCOP_NOW", NOW)
    monkeypatch.delenv("OCOP_BROKER_URL", raising=False)
    # The suites about other commands score without naming a council and submit with nothing
    # uploaded; test_cli_end_to_end (and the councils' and documents' own) run the defaults.
    monkeypatch.setenv("OCOP_COUNCIL_REQUIRED", "0")
    monkeypatch.setenv("OCOP_REQUIRED_DOCUMENTS", "")
    run = Ocop(capsys, url)
    run.ok("db", "upgrade")
    assert run.ok("producers", "add", "HTX Tương Cự Đà", "--kind", "cooperative",
                  "--commune", "Bình Minh", "--email", "p1@example.vn").out.strip() == "1"
    assert run.ok("producers", "add", "Làng lụa Vạn Phúc", "--kind", "household",
                  "--commune", "Phường Hà Đông").out.strip() == "2"
    for name, *opts in [("producer1", "--role", "producer", "--producer", "1"),
                        ("producer2", "--role", "producer", "--producer", "2"),
                        ("commune1", "--role", "commune_officer", "--commune", "Bình Minh"),
                        ("district1", "--role", "district_officer", "--district", "Thanh Oai"),
                        ("district2", "--role", "district_officer", "--district", "Hà Đông"),
                        ("ip", "--role", "ip_officer"), ("city", "--role", "city_officer"),
                        ("supervisor", "--role", "supervisor")]:
        if "district_officer" in opts:
            monkeypatch.setenv("OCOP_NOW", BEFORE_2025)
        token = run.ok("users", "add", name, *opts).out.strip()
        monkeypatch.setenv("OCOP_NOW", NOW)
        assert len(token) > 20
    return run


def register(ocop: Ocop, *extra: str) -> str:
    return ocop.ok("cases", "register", "--as", "producer1", "--producer", "1",
                   "--product", "Tương bần", "--group", "food", *extra).out.strip()


def advance(ocop: Ocop, code: str, trigger: str, who: str, *extra: str) -> Result:
    return ocop.ok("cases", "advance", code, trigger, "--as", who, *extra)


def sheets(*totals: tuple[float, float, float], ok: bool = True) -> str:
    return json.dumps({"sheets": [{"member": f"m{i}", "a": a, "b": b, "c": c}
                                  for i, (a, b, c) in enumerate(totals)], "mandatory_ok": ok})


def to_city_rating(ocop: Ocop) -> str:
    code = register(ocop)
    advance(ocop, code, "submit", "producer1", "--data", json.dumps(DOCS))
    advance(ocop, code, "start_review", "commune1")
    advance(ocop, code, "record_commune_prescore", "commune1",
            "--data", json.dumps({"criteria": CRITERIA}))
    advance(ocop, code, "verify_ip", "ip", "--data", json.dumps(
        {"certificate_no": "4-1", "holder": "HTX Tương Cự Đà", "registered_on": "2020-01-01"}))
    return code
