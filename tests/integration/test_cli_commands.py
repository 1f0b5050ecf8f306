"""The ``ocop`` command line in process (``run_cli``) on an SQLite file: the names and options
the issue fixes, the exit codes 0/2/3/4/5, one sentence on stderr per refusal with nothing
changed, and the ``--json`` shapes of register, advance and show."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import pytest

from tests.integration.cli_support import (
    CASE_KEYS,
    CERT_KEYS,
    HISTORY_KEYS,
    NOW,
    Ocop,
    advance,
    open_cli,
    register,
    sheets,
    to_city_rating,
)
from tests.support import DOCS, make_app
from tests.unit.lifecycle_support import snapshot, words


@pytest.fixture
def ocop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Ocop:
    return open_cli(tmp_path, monkeypatch, capsys)


# ---- shapes ----------------------------------------------------------------------------

def test_register_prints_the_case_code_and_its_json_is_the_case(ocop: Ocop) -> None:
    """register prints the code; with --json it prints the case with the issue's keys."""
    assert register(ocop) == "HN-2025-000001"
    case = ocop.ok("cases", "register", "--as", "producer1", "--producer", "1", "--product",
                   "Trà sen", "--group", "beverage", "--subgroup", "tea", "--json").json()
    assert set(case) >= CASE_KEYS
    assert (case["code"], case["state"], case["version"], case["rule_version"]) == (
        "HN-2025-000002", "draft", 1, "1489")
    assert case["certificate"] is None and case["deadlines"] == []
    (entry,) = case["history"]
    assert set(entry) >= HISTORY_KEYS and entry["at"] == NOW



def test_advance_and_show_json_carry_the_certificate_deadlines_and_history(ocop: Ocop) -> None:
    """A certified case's JSON holds its certificate, clocks and every audit entry."""
    code = to_city_rating(ocop)
    decision = {"number": "2786/QĐ-UBND", "date": "2025-09-03", "body": "UBND thành phố Hà Nội"}
    case = ocop.ok("cases", "advance", code, "record_city_score", "--as", "city", "--data",
                   json.dumps({**json.loads(sheets((35, 20, 25))), "decision": decision}),
                   "--json").json()
    assert set(case) >= CASE_KEYS and case["state"] == "certified"
    assert set(case["certificate"]) >= CERT_KEYS
    assert (case["certificate"]["stars"], case["certificate"]["valid_to"]) == (4, "2028-09-02")
    assert case["certificate"]["decision"] == decision
    assert {"kind", "due_at", "paused"} <= set(case["deadlines"][0])
    assert [h["seq"] for h in case["history"]] == [1, 2, 3, 4, 5, 6]
    assert all(h["at"].endswith("+07:00") for h in case["history"])
    shown = ocop.ok("cases", "show", code, "--json").json()
    assert shown == case
    text = ocop.ok("cases", "show", code).out
    assert "certified" in text and "record_city_score" in text


def test_advance_without_json_prints_the_move(ocop: Ocop) -> None:
    """The plain output names the case, the move and the new version."""
    code = register(ocop)
    out = advance(ocop, code, "submit", "producer1", "--data", json.dumps(DOCS)).out
    assert out.strip() == f"{code}: draft -> registered by submit, version 2"


def test_data_may_come_from_a_file(ocop: Ocop, tmp_path: Path) -> None:
    """--data @FILE reads the JSON from a file."""
    code = register(ocop)
    (tmp_path / "docs.json").write_text(json.dumps(DOCS), encoding="utf-8")
    advance(ocop, code, "submit", "producer1", "--data", f"@{tmp_path / 'docs.json'}")


def test_request_completion_takes_a_reason_and_days(ocop: Ocop) -> None:
    """--reason and {"days": N} pause the office clock and give the producer N days."""
    code = register(ocop)
    advance(ocop, code, "submit", "producer1", "--data", json.dumps(DOCS))
    advance(ocop, code, "start_review", "commune1")
    case = ocop.ok("cases", "advance", code, "request_completion", "--as", "commune1",
                   "--reason", "label missing", "--data", '{"days": 5}', "--json").json()
    kinds = {d["kind"]: d for d in case["deadlines"]}
    assert kinds["commune_prescore"]["paused"] is True
    assert kinds["completion"]["due_at"] == "2025-09-08T09:00:00+07:00"
    assert case["history"][-1]["reason"] == "label missing"


# ---- exit codes ------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "needle"), [
    (["--data", "{not json"], "not valid JSON"),
    (["--data", "[1, 2]"], "JSON object"),
    (["--data", "@/nonexistent/file.json"], "Cannot read"),
])
def test_bad_event_data_exits_2(ocop: Ocop, args: list[str], needle: str) -> None:
    """Malformed --data is invalid input."""
    code = register(ocop)
    line = ocop.refused(2, "cases", "advance", code, "submit", "--as", "producer1", *args)
    assert needle in line


def test_a_score_over_its_parts_maximum_exits_2(ocop: Ocop) -> None:
    """Part A over 40 under 1489 is invalid input naming the maximum."""
    code = to_city_rating(ocop)
    line = ocop.refused(2, "cases", "advance", code, "record_city_score", "--as", "city",
                        "--data", sheets((41, 20, 25)))
    assert "part A" in line and "0 to 40" in line


def test_an_unknown_group_or_rule_version_or_trigger_exits_2(ocop: Ocop) -> None:
    """Unknown identifiers are invalid input and say what is allowed."""
    line = ocop.refused(2, "cases", "register", "--as", "producer1", "--producer", "1",
                        "--product", "x", "--group", "spaceships")
    assert "food" in line and "tourism" in line
    line = ocop.refused(2, "cases", "register", "--as", "producer1", "--producer", "1",
                        "--product", "x", "--group", "fabric_garment")
    assert "handicraft" in line
    assert "1489" in ocop.refused(2, "cases", "register", "--as", "producer1", "--producer",
                                  "1", "--product", "x", "--group", "food", "--rules", "2030")
    code = register(ocop)
    assert "submit" in ocop.refused(2, "cases", "advance", code, "fly", "--as", "producer1")


def test_a_1048_case_takes_the_1048_groups(ocop: Ocop) -> None:
    """Historic 1048 dossiers, registered by staff, use the 1048 labels."""
    ocop.ok("cases", "register", "--as", "city", "--producer", "1", "--product", "Lụa",
            "--group", "fabric_garment", "--rules", "1048")


def test_a_producer_cannot_pin_a_rule_version(ocop: Ocop) -> None:
    """DOMAIN.md §2: --rules at registration is for staff; a producer is refused (exit 4,
    forbidden), told who may, and no case is opened."""
    before = ocop.ok("cases", "list", "--json").json()["total"]
    line = ocop.refused(4, "cases", "register", "--as", "producer1", "--producer", "1",
                        "--product", "Lụa", "--group", "fabric_garment", "--rules", "1048")
    assert "rule version" in line and "City" in line
    assert ocop.ok("cases", "list", "--json").json()["total"] == before


@pytest.mark.parametrize("args", [
    ["cases", "show", "HN-1999-000001"],
    ["cases", "advance", "HN-1999-000001", "submit", "--as", "producer1"],
    ["cases", "allowed", "HN-1999-000001", "--as", "producer1"],
    ["cases", "register", "--as", "nobody", "--producer", "1", "--product", "x", "--group",
     "food"],
    ["cases", "register", "--as", "city", "--producer", "99", "--product", "x", "--group",
     "food"],
])
def test_what_does_not_exist_exits_3(ocop: Ocop, args: list[str]) -> None:
    """Unknown cases, users and producers are not found."""
    register(ocop)
    ocop.refused(3, *args)


def test_an_unknown_user_advancing_exits_3(ocop: Ocop) -> None:
    """--as names a user who must exist."""
    code = register(ocop)
    assert "ocop users add" in ocop.refused(3, "cases", "advance", code, "submit", "--as", "ghost")


def test_refusals_by_state_role_scope_and_guard_exit_4(ocop: Ocop) -> None:
    """Wrong state, wrong role, wrong scope and a failed guard are refusals (exit 4), each one
    sentence naming what failed and what is allowed now."""
    code = register(ocop)
    line = ocop.refused(4, "cases", "advance", code, "start_review", "--as", "commune1")
    assert f"state {words('state', 'draft')}" in line
    assert f"allowed from {words('state', 'draft')} now: {words('trigger', 'submit', 'withdraw')}" \
        in line
    line = ocop.refused(4, "cases", "advance", code, "submit", "--as", "city",
                        "--data", json.dumps(DOCS))
    assert f"Role {words('role', 'city_officer')} may not take the action " \
        f"{words('trigger', 'submit')}" in line and words("role", "producer") in line
    line = ocop.refused(4, "cases", "advance", code, "submit", "--as", "producer2",
                        "--data", json.dumps(DOCS))
    assert "a producer acts only on their own cases" in line
    os.environ["OCOP_REQUIRED_DOCUMENTS"] = "registration_form"
    line = ocop.refused(4, "cases", "advance", code, "submit", "--as", "producer1",
                        "--data", json.dumps(DOCS))
    assert "not uploaded yet" in line and words("document", "registration_form") in line
    os.environ["OCOP_REQUIRED_DOCUMENTS"] = ""
    line = ocop.refused(4, "cases", "register", "--as", "supervisor", "--producer", "1",
                        "--product", "x", "--group", "food")
    assert "may not register" in line


def test_a_terminal_state_says_no_trigger_is_allowed(ocop: Ocop) -> None:
    """A withdrawn case refuses everything and says it is final."""
    code = register(ocop)
    advance(ocop, code, "withdraw", "producer1")
    line = ocop.refused(4, "cases", "advance", code, "submit", "--as", "producer1",
                        "--data", json.dumps(DOCS))
    assert f"{words('state', 'withdrawn')} is final" in line


def test_an_idempotency_key_reused_for_another_request_exits_5(ocop: Ocop) -> None:
    """The same key replays the first result; with other data it is a conflict."""
    code = register(ocop)
    first = ocop.ok("cases", "advance", code, "submit", "--as", "producer1", "--data",
                    json.dumps(DOCS), "--idempotency-key", "k1", "--json").json()
    app = make_app(ocop.url)
    before = snapshot(app)
    again = ocop.ok("cases", "advance", code, "submit", "--as", "producer1", "--data",
                    json.dumps(DOCS), "--idempotency-key", "k1", "--json").json()
    assert snapshot(app) == before
    app.close()
    assert again == first
    plain = ocop.ok("cases", "advance", code, "submit", "--as", "producer1", "--data",
                    json.dumps(DOCS), "--idempotency-key", "k1").out
    assert "replayed" in plain
    line = ocop.refused(5, "cases", "advance", code, "submit", "--as", "producer1",
                        "--data", '{"documents": []}', "--idempotency-key", "k1")
    assert "k1" in line


def test_a_stale_if_version_exits_5(ocop: Ocop) -> None:
    """--if-version guards against acting on a stale view."""
    code = register(ocop)
    line = ocop.refused(5, "cases", "advance", code, "submit", "--as", "producer1", "--data",
                        json.dumps(DOCS), "--if-version", "7")
    assert "version 1" in line


def test_ocop_now_without_simulation_is_refused(ocop: Ocop,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """OCOP_NOW is honoured only with OCOP_SIMULATION=1."""
    monkeypatch.delenv("OCOP_SIMULATION")
    line = ocop.refused(2, "cases", "list")
    assert "OCOP_SIMULATION=1" in line
    monkeypatch.setenv("OCOP_SIMULATION", "0")
    ocop.refused(2, "cases", "register", "--as", "producer1", "--producer", "1", "--product",
                 "x", "--group", "food")


def test_ocop_now_in_simulation_dates_what_is_done(ocop: Ocop,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A backfill at 2023-05-10 registers under rule version 148 with that date, for a
    producer of the units of the time (Cự Khê, Thanh Oai); producer1's Xã Bình Minh exists
    only from 2025-07-01, so its case cannot be dated 2023 (exit 2, saying so)."""
    monkeypatch.setenv("OCOP_NOW", "2023-05-10T10:00:00+07:00")
    assert ocop.ok("producers", "add", "Cơ sở Nón lá Cự Khê", "--kind", "household",
                   "--district", "Thanh Oai", "--commune", "Cự Khê").out.strip() == "3"
    case = ocop.ok("cases", "register", "--as", "city", "--producer", "3", "--product",
                   "x", "--group", "food", "--json").json()
    assert case["code"].startswith("HN-2023-") and case["rule_version"] == "148"
    assert case["history"][0]["at"] == "2023-05-10T10:00:00+07:00"
    assert (case["district_code"], case["commune_code"]) == ("old:278", "old:10120")
    line = ocop.refused(2, "cases", "register", "--as", "producer1", "--producer", "1",
                        "--product", "x", "--group", "food")
    assert "Xã Bình Minh [10126]" in line and "2025-07-01" in line and "2023-05-10" in line
    monkeypatch.setenv("OCOP_NOW", "yesterday")
    assert "ISO 8601" in ocop.refused(2, "cases", "list")


# ---- the other commands ----------------------------------------------------------------

def test_cases_allowed_says_what_a_user_may_do_and_why_not_the_rest(ocop: Ocop) -> None:
    """allowed lists every trigger, the allowed ones with their guards, the rest with why."""
    code = register(ocop)
    rows = ocop.ok("cases", "allowed", code, "--as", "producer1", "--json").json()
    by = {r["trigger"]: r for r in rows}
    assert by["submit"]["allowed"] and by["submit"]["guards"] == ["dossier_complete"]
    assert by["withdraw"]["allowed"]
    assert not by["start_review"]["allowed"] and "Draft" in by["start_review"]["why"]
    assert by["start_review"]["why_code"] == "hint_not_from_state"
    other = {r["trigger"]: r for r in ocop.ok("cases", "allowed", code, "--as", "producer2",
                                              "--json").json()}
    assert not other["submit"]["allowed"] and "their own cases" in other["submit"]["why"]
    text = ocop.ok("cases", "allowed", code, "--as", "city").out
    assert "✗ submit" in text and "“Producer”" in text


def test_cases_list_filters_by_state_and_district(ocop: Ocop) -> None:
    """list --state/--district/--overdue/--json (``--district`` takes a unit's code or name:
    producer1's cases are in Xã Bình Minh, 10126)."""
    a, b = register(ocop), register(ocop)
    advance(ocop, a, "submit", "producer1", "--data", json.dumps(DOCS))
    rows = ocop.ok("cases", "list", "--state", "registered", "--json").json()["items"]
    assert [r["code"] for r in rows] == [a]
    assert {r["code"] for r in ocop.ok("cases", "list", "--district", "10126",
                                       "--json").json()["items"]} == {a, b}
    assert ocop.ok("cases", "list", "--district", "Phường Hà Đông",
                   "--json").json()["items"] == []
    assert ocop.ok("cases", "list", "--overdue", "--json").json()["items"] == []


def test_cases_list_pages_and_says_n_of_m(ocop: Ocop) -> None:
    """list never stops silently: --limit/--offset page through, with the total ("N of M")
    and the next offset; a limit out of range is refused with exit code 2."""
    codes = [register(ocop) for _ in range(3)]
    first = ocop.ok("cases", "list", "--limit", "2", "--json").json()
    assert (len(first["items"]), first["total"], first["next_offset"]) == (2, 3, 2)
    rest = ocop.ok("cases", "list", "--limit", "2", "--offset", "2", "--json").json()
    assert (len(rest["items"]), rest["next_offset"]) == (1, None)
    assert {r["code"] for r in first["items"] + rest["items"]} == set(codes)
    text = ocop.ok("cases", "list", "--limit", "2").out
    assert "2 of 3" in text and "--offset 2" in text
    assert "limit" in ocop.refused(2, "cases", "list", "--limit", "0")


def test_outbox_list_shows_the_producers_notifications(ocop: Ocop) -> None:
    """Each transition writes the producer's status message, in-app and by e-mail."""
    code = register(ocop)
    advance(ocop, code, "submit", "producer1", "--data", json.dumps(DOCS))
    rows = ocop.ok("outbox", "list", "--case", code, "--status", "pending", "--json").json()
    assert {(r["seq"], r["channel"]) for r in rows} == {
        (1, "inapp"), (1, "email"), (2, "inapp"), (2, "email")}
    assert ocop.ok("outbox", "list", "--status", "sent", "--json").json() == []


@pytest.mark.parametrize("rules", ["1048", "148", "1489"])
def test_lifecycle_show_prints_mermaid_and_json(ocop: Ocop, rules: str) -> None:
    """The diagram and the table come from states/ for each rule version."""
    mermaid = ocop.ok("lifecycle", "show", "--rules", rules, "--format", "mermaid").out
    assert mermaid.startswith("stateDiagram-v2") and "draft --> registered: submit" in mermaid
    table = ocop.ok("lifecycle", "show", "--rules", rules, "--format", "json").json()
    assert table["version"] == rules
    assert ("commune_prescore" in table["states"]) == (rules == "1489")
    assert ("ip_check" in table["states"]) == (rules != "1048")


def test_audit_export_writes_jsonl_and_csv(ocop: Ocop) -> None:
    """Every entry with its hashes, as JSON lines or CSV."""
    code = register(ocop)
    advance(ocop, code, "submit", "producer1", "--data", json.dumps(DOCS))
    lines = ocop.ok("audit", "export", "--case", code, "--format", "jsonl").out.splitlines()
    entries = [json.loads(line) for line in lines]
    assert [(e["seq"], e["trigger"]) for e in entries] == [(1, "register"), (2, "submit")]
    assert entries[1]["prev_hash"] == entries[0]["hash"]
    rows = list(csv.DictReader(io.StringIO(ocop.ok("audit", "export", "--format", "csv").out)))
    assert [r["trigger"] for r in rows] == ["register", "submit"]
    assert {"case", "seq", "hash", "prev_hash"} <= set(rows[0])


def test_audit_verify_passes_on_an_intact_database(ocop: Ocop) -> None:
    """verify exits 0 and counts cases and entries."""
    code = register(ocop)
    advance(ocop, code, "submit", "producer1", "--data", json.dumps(DOCS))
    report = ocop.ok("audit", "verify", "--json").json()
    assert report["ok"] and (report["cases"], report["entries"]) == (1, 2)
    assert "intact" in ocop.ok("audit", "verify").out


@pytest.mark.parametrize("args", [
    ["users", "add", "x", "--role", "king"],
    ["producers", "add", "x", "--kind", "corporation", "--commune", "Bình Minh"],
    ["producers", "add", "x", "--kind", "household"],
    ["lifecycle", "show", "--format", "svg"],
    ["lifecycle", "show", "--rules", "999"],
    ["audit", "export", "--format", "xml"],
    ["cases", "advance", "HN-2025-000001", "submit"],
])
def test_an_unknown_option_value_or_a_missing_option_exits_2(ocop: Ocop, args: list[str]) -> None:
    """The option choices the issue lists are enforced; anything else is invalid input."""
    assert ocop(*args).code == 2
