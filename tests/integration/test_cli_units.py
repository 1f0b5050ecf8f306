"""``ocop db upgrade`` loads the configured province's units into an empty table, and ``ocop
units load|list|show|find|unresolved`` print them, as text and as JSON; ``ocop cases list
--unit`` takes a unit's code or name, and a case shows its units with their keys. In process
(``run_cli``) on an SQLite file."""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests.integration.cli_support import CurrentStderr, Ocop
from tests.unit.lifecycle_support import assert_one_sentence
from workflow import logs


@pytest.fixture
def ocop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Ocop:
    """An SQLite file, not yet migrated, at a simulated 2025-09-03."""
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stderr=CurrentStderr()))
    url = f"sqlite:///{tmp_path / 'ocop.db'}"
    for name, value in {"OCOP_DATABASE_URL": url, "OCOP_HOME": str(tmp_path),
                        "OCOP_LANG": "en", "OCOP_SIMULATION": "1",
                        "OCOP_NOW": "2025-09-03T09:00:00+07:00"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OCOP_BROKER_URL", raising=False)
    monkeypatch.delenv("OCOP_PROVINCE", raising=False)
    return Ocop(capsys, url)


@pytest.fixture
def loaded(ocop: Ocop) -> Ocop:
    ocop.ok("db", "upgrade")
    return ocop


def refusal(ocop: Ocop, exit_code: int, *args: str) -> str:
    """Run a command expected to be refused: its exit code and one line on stderr, ending in
    a full stop (the refusals of a unit name add a second sentence: what to type instead)."""
    result = ocop(*args)
    assert result.code == exit_code, (result.code, result.err)
    (line,) = result.err.strip().splitlines()
    assert line.startswith("error: ") and line.endswith(".")
    return line


def one_sentence(line: str) -> str:
    assert_one_sentence(line.removeprefix("error: "))
    return line


def test_db_upgrade_loads_the_provinces_units_once(ocop: Ocop) -> None:
    """The first upgrade loads Hà Nội's 684 units (both eras) and says so with the package
    version; the second finds them there and loads nothing."""
    first = ocop.ok("db", "upgrade").out
    assert (f"684 administrative units loaded for 01 from vietnamadminunits "
            f"{version('vietnamadminunits')}: 684 added, 0 changed; 794 links") in first
    again = ocop.ok("db", "upgrade").out
    assert "loaded" not in again and "is at heads" in again


def test_db_upgrade_refuses_a_province_the_package_does_not_know(
        ocop: Ocop, monkeypatch: pytest.MonkeyPatch) -> None:
    """``OCOP_PROVINCE=99``: exit 2 naming the code and the ones there are; no unit loaded."""
    monkeypatch.setenv("OCOP_PROVINCE", "99")
    line = one_sentence(refusal(ocop, 2, "db", "upgrade"))
    assert '"99"' in line and "79 Thành phố Hồ Chí Minh" in line
    monkeypatch.delenv("OCOP_PROVINCE")
    assert ocop.ok("units", "list", "--json").json() == []


def test_units_load_again_changes_nothing_and_another_province_adds(loaded: Ocop) -> None:
    """Reloading Hà Nội adds and changes nothing; ``--province 31`` (Hải Phòng) adds its
    units; ``--all`` with ``--province`` and an unknown code are refused (exit 2)."""
    again = loaded.ok("units", "load", "--json").json()
    assert (again["added"], again["changed"], again["units"]) == (0, 0, 684)
    assert again["package"] == "vietnamadminunits"
    assert again["package_version"] == version("vietnamadminunits")
    more = loaded.ok("units", "load", "--province", "31", "--json").json()
    assert more["provinces"] == ["31"] and more["added"] == more["units"] > 100
    assert "--province (01)" in one_sentence(
        refusal(loaded, 2, "units", "load", "--all", "--province", "01"))
    assert '"7"' in one_sentence(refusal(loaded, 2, "units", "load", "--province", "7"))


def test_units_list_by_level_parent_and_day(loaded: Ocop) -> None:
    """Hà Nội had 30 districts (all old:), Thanh Oai 20 communes; on 2025-09-01 Hà Nội has 126
    communes and wards, all under today's codes; a cut-short list says so on stderr."""
    districts = loaded.ok("units", "list", "--level", "district", "--json").json()
    assert len(districts) == 30 and all(d["key"].startswith("old:") for d in districts)
    in_thanh_oai = loaded.ok("units", "list", "--parent", "Thanh Oai", "--json").json()
    assert len(in_thanh_oai) == 20 and {u["parent"] for u in in_thanh_oai} == {"old:278"}
    today = loaded.ok("units", "list", "--level", "commune", "--on", "2025-09-01",
                      "--json").json()
    assert len(today) == 126 and not any(u["key"].startswith("old:") for u in today)
    assert all(u["valid_from"] == "2025-07-01" and u["valid_to"] is None for u in today)
    short = loaded.ok("units", "list", "--level", "commune", "--limit", "5")
    assert len(short.out.strip().splitlines()) == 5 and "first 5 units" in short.err
    line = short.out.splitlines()[0]
    assert line.startswith("00004") and "Phường Ba Đình" in line and "2025-07-01 →" in line


def test_units_show_a_current_and_a_retired_unit(loaded: Ocop) -> None:
    """10126 (Xã Bình Minh) lists the old communes it took in; old:10120 (Xã Cự Khê) names
    Bình Minh as the successor its producers move to."""
    shown = loaded.ok("units", "show", "10126").out
    assert shown.startswith("Xã Bình Minh [10126]\n")
    assert "in Thành phố Hà Nội [01]" in shown and "valid 2025-07-01 →" in shown
    assert "Took in, on 2025-07-01:" in shown and "Xã Cự Khê (Huyện Thanh Oai) [old:10120]" \
        in shown
    old = loaded.ok("units", "show", "old:10120", "--json").json()
    assert (old["level"], old["kind"], old["parent"], old["valid_to"]) == (
        "commune", "Xã", "old:278", "2025-06-30")
    assert (old["successors"][0]["key"], old["successors"][0]["default"]) == ("10126", True)
    text = loaded.ok("units", "show", "Cự Khê").out
    assert "Became, on 2025-07-01:" in text and "[10126] (where its producers and cases move)" \
        in text
    district = loaded.ok("units", "show", "Huyện Thanh Oai", "--json").json()
    assert (district["key"], district["within"]) == ("old:278", 20)


def test_units_show_refuses_an_ambiguous_name_and_an_unknown_code(loaded: Ocop) -> None:
    """"Vạn Phúc" exits 2 listing both with their keys; a code no unit has exits 3."""
    line = refusal(loaded, 2, "units", "show", "Vạn Phúc")
    assert "Xã Vạn Phúc (Huyện Thanh Trì) [old:00676]" in line
    assert "Phường Vạn Phúc (Quận Hà Đông) [old:09544]" in line
    assert '"99999"' in one_sentence(refusal(loaded, 3, "units", "show", "99999"))


def test_units_find_lists_every_candidate_in_both_eras(loaded: Ocop) -> None:
    """A name finds the units of both eras with their keys; a code both its current and its
    retired unit; nothing found is an empty list, not an error."""
    assert [u["key"] for u in loaded.ok("units", "find", "Vạn Phúc", "--json").json()] == [
        "old:00676", "old:09544"]
    assert [u["key"] for u in loaded.ok("units", "find", "hà\u200bđông", "--json").json()] \
        == ["09556", "old:268"]
    assert [u["key"] for u in loaded.ok("units", "find", "Hà Đông", "--level", "commune",
                                        "--json").json()] == ["09556"]
    assert [u["key"] for u in loaded.ok("units", "find", "10126", "--json").json()] == [
        "10126", "old:10126"]
    lines = loaded.ok("units", "find", "Vạn Phúc").out.strip().splitlines()
    assert [line.split()[0] for line in lines] == ["old:00676", "old:09544"]
    assert loaded.ok("units", "find", "Không Có", "--json").json() == []
    assert loaded.ok("units", "find", "Không Có").out.strip() == "No administrative unit matches."


def test_units_unresolved_on_a_new_database_is_empty(loaded: Ocop) -> None:
    """Nothing was migrated from names, so nothing is unresolved (text and JSON)."""
    assert loaded.ok("units", "unresolved", "--json").json() == []
    assert "nothing is unresolved" in loaded.ok("units", "unresolved").out


def test_cases_list_by_unit_and_cases_show_the_units_keys(loaded: Ocop) -> None:
    """``--unit`` takes a code or a name (and ``--district`` is the same); a case shows its
    commune with its key; an ambiguous name exits 2 with the candidates."""
    assert loaded.ok("producers", "add", "HTX Tương Cự Đà", "--kind", "cooperative",
                     "--commune", "Bình Minh").out.strip() == "1"
    assert loaded.ok("producers", "add", "Làng lụa", "--kind", "household",
                     "--commune", "09556").out.strip() == "2"
    loaded.ok("users", "add", "city", "--role", "city_officer")
    codes = [loaded.ok("cases", "register", "--as", "city", "--producer", p, "--product",
                       "Tương", "--group", "food").out.strip() for p in ("1", "2")]
    for unit in ("09556", "Phường Hà Đông", "phường hà\u200bđông"):
        page = loaded.ok("cases", "list", "--unit", unit, "--json").json()
        assert [c["code"] for c in page["items"]] == [codes[1]], unit
        assert page["items"][0]["commune_code"] == "09556"
    alias = loaded.ok("cases", "list", "--district", "10126", "--json").json()
    assert [c["code"] for c in alias["items"]] == [codes[0]]
    assert "Xã Bình Minh [10126]" in loaded.ok("cases", "list", "--unit", "10126").out
    shown = loaded.ok("cases", "show", codes[0]).out
    assert "district -  commune Xã Bình Minh [10126]" in shown
    case = loaded.ok("cases", "show", codes[0], "--json").json()
    assert (case["district"], case["commune_code"]) == (None, "10126")
    vague = refusal(loaded, 2, "cases", "list", "--unit", "Bình Minh")  # today's or Thanh Oai's
    assert "[10126]" in vague and "Xã Bình Minh (Huyện Thanh Oai) [old:10135]" in vague
    assert "two different units" in one_sentence(refusal(
        loaded, 2, "cases", "list", "--unit", "10126", "--district", "09556"))
