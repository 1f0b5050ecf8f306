"""Administrative units as data: a name typed in any variant is one unit, an ambiguous name is
refused with every candidate and its key, a bare code is today's unit and ``old:CODE`` the
retired one, a retired commune is refused for a new producer with what replaced it, loading
twice changes nothing, and the 2025 mapping covers every old commune of Hà Nội."""

from __future__ import annotations

import unicodedata
from datetime import date

import pytest
from sqlalchemy import func, select

from tests.support import BINH_MINH, HA_DONG, START
from workflow import registry
from workflow.bootstrap import App
from workflow.domain.units import REORGANISED_ON
from workflow.errors import InvalidInput, NotFound
from workflow.store import units
from workflow.store.db import write_transaction
from workflow.store.schema import unit_successors
from workflow.store.schema import units as units_table

TODAY = START.date()
SPRING_2025 = date(2025, 3, 3)  # before the reorganisation: the old communes are in force
VAN_PHUC_THANH_TRI, VAN_PHUC_HA_DONG = "old:00676", "old:09544"


@pytest.mark.parametrize("typed", [
    "Hà Đông", "hà đông", "HÀ ĐÔNG", "Hà\u200bĐông", "Hà \u200bĐông", "Hà\u00a0Đông",
    "Hà\u2060Đông", unicodedata.normalize("NFD", "Hà Đông"), "  phường   Hà Đông ", "09556",
])
def test_every_variant_of_a_name_is_the_one_unit(mem_app: App, typed: str) -> None:
    """Zero-width, no-break and doubled spaces, case, decomposed accents, the type word and the
    code all name Phường Hà Đông (09556)."""
    with mem_app.db.connect() as conn:
        unit = units.resolve(conn, typed, ("commune",), on=TODAY)
    assert (unit.key, unit.name) == (HA_DONG, "Phường Hà Đông")


def test_the_variants_name_the_same_old_unit_before_2025(mem_app: App) -> None:
    """Before 2025-07-01 the district after a comma may be typed in any variant too."""
    with mem_app.db.connect() as conn:
        found = {units.resolve(conn, f"Vạn Phúc, {d}", ("commune",), on=SPRING_2025).key
                 for d in ("Hà Đông", "hà\u200bđông", "Quận Hà\u00a0Đông")}
    assert found == {VAN_PHUC_HA_DONG}


@pytest.mark.parametrize("typed", ["\u202eHà Đông\u202c", "\u200fHà Đông", "Hà\u0007 Đông"])
def test_bidi_and_control_characters_are_dropped(mem_app: App, typed: str) -> None:
    """A right-to-left override or mark, or a control character, inside a name is dropped:
    the name means the unit it shows."""
    with mem_app.db.connect() as conn:
        assert units.resolve(conn, typed, ("commune",), on=TODAY).key == HA_DONG


def test_a_name_reversed_under_a_bidi_override_is_refused(mem_app: App) -> None:
    """``\\u202e`` + "gnôĐ àH" shows as "Hà Đông" but is not its letters: refused as no unit,
    quoting what was typed."""
    spoof = "\u202egnôĐ àH"
    with mem_app.db.connect() as conn, pytest.raises(InvalidInput) as refused:
        units.resolve(conn, spoof, ("commune",), on=TODAY, field="commune")
    assert refused.value.code == "unit_unknown"
    assert "ocop units find" in refused.value.text("en")


@pytest.mark.parametrize("on", [None, SPRING_2025])
def test_an_ambiguous_name_is_refused_with_every_candidate_and_its_key(
        mem_app: App, on: date | None) -> None:
    """"Vạn Phúc" was a commune of Thanh Trì and a ward of Hà Đông: refused (422 / exit 2),
    both named with their district and key; a district after a comma picks one."""
    with mem_app.db.connect() as conn:
        with pytest.raises(InvalidInput) as refused:
            units.resolve(conn, "Vạn Phúc", ("commune",), on=on, field="commune")
        picked = {d: units.resolve(conn, f"Vạn Phúc, {d}", ("commune",), on=on).key
                  for d in ("Thanh Trì", "Hà Đông")}
    error = refused.value
    assert error.code == "unit_ambiguous"
    assert error.params["candidates"] == ["Xã Vạn Phúc (Huyện Thanh Trì) [old:00676]",
                                          "Phường Vạn Phúc (Quận Hà Đông) [old:09544]"]
    for lang in ("en", "vi"):
        sentence = error.text(lang)
        assert "old:00676" in sentence and "old:09544" in sentence and "Vạn Phúc" in sentence
    assert picked == {"Thanh Trì": VAN_PHUC_THANH_TRI, "Hà Đông": VAN_PHUC_HA_DONG}


def test_a_bare_code_is_todays_unit_and_old_code_the_retired_one(mem_app: App) -> None:
    """The office reused 10126: as a key it is today's Xã Bình Minh, ``old:10126`` the Xã Bích
    Hòa of Thanh Oai that ended; a search by the code finds both, each with its key."""
    with mem_app.db.connect() as conn:
        new = units.named(conn, "10126", ("commune",))
        old = units.named(conn, "old:10126", ("commune",))
        both = [u.key for u in units.find(conn, "10126")]
        on_2025 = units.resolve(conn, "10126", ("commune",), on=TODAY)
    assert (new.key, new.name, new.valid_from) == (BINH_MINH, "Xã Bình Minh", REORGANISED_ON)
    assert (old.key, old.code, old.name, old.parent_key) == (
        "old:10126", "10126", "Xã Bích Hòa", "old:278")
    assert old.valid_to == date(2025, 6, 30) and not old.in_force(TODAY)
    assert both == [BINH_MINH, "old:10126"] and on_2025.key == BINH_MINH


def test_an_unknown_code_is_not_found(mem_app: App) -> None:
    """A code no unit has is a 404 / exit 3 that quotes it."""
    with mem_app.db.connect() as conn, pytest.raises(NotFound) as missing:
        units.named(conn, "99999", ("commune",))
    assert missing.value.code == "unit_not_found" and '"99999"' in missing.value.text("en")


@pytest.mark.parametrize("typed", [",", " , ,", "\x13", "\u200b", ",\u200b,"])
def test_a_name_of_only_commas_or_invisible_characters_is_not_found(mem_app: App,
                                                                    typed: str) -> None:
    """Found by the API fuzz test: such a name was a 500 (nothing left to unpack)."""
    with mem_app.db.connect() as conn:
        assert units.find(conn, typed) == []
        with pytest.raises((NotFound, InvalidInput)):
            units.named(conn, typed, ("commune",))


@pytest.mark.parametrize("commune", ["Cự Khê", "old:10120", "Cự Khê, Thanh Oai"])
def test_a_retired_commune_is_refused_for_a_new_producer_naming_its_successor(
        mem_app: App, commune: str) -> None:
    """After 2025-07-01 a new producer in Cự Khê is refused: the sentence says when it ended
    and that it is now part of Xã Bình Minh [10126]; nothing is written."""
    with write_transaction(mem_app.db) as conn, pytest.raises(InvalidInput) as refused:
        registry.add_producer(conn, START, "HTX mới", "cooperative", None, commune)
    error = refused.value
    assert error.code == "unit_retired"
    assert error.params["successors"][0] == "Xã Bình Minh (Thành phố Hà Nội) [10126]"
    assert "2025-06-30" in error.text("en") and "[10126]" in error.text("vi")


def test_a_district_after_the_reorganisation_is_refused(mem_app: App) -> None:
    """Districts ended on 2025-07-01: a producer registered after that with a district is
    refused, saying to give the commune only."""
    with write_transaction(mem_app.db) as conn, pytest.raises(InvalidInput) as refused:
        registry.add_producer(conn, START, "HTX mới", "cooperative", "Thanh Oai", "Bình Minh")
    assert refused.value.code == "districts_ended"


def test_loading_twice_changes_nothing(mem_app: App) -> None:
    """The second load of the same province adds and changes no unit, and leaves the mapping
    as it was."""
    def state() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        with mem_app.db.connect() as conn:
            return ([tuple(r) for r in conn.execute(select(units_table)
                                                    .order_by(units_table.c.key))],
                    [tuple(r) for r in conn.execute(select(unit_successors).order_by(
                        unit_successors.c.old_key, unit_successors.c.new_key))])
    before = state()
    with write_transaction(mem_app.db) as conn:
        again = units.load(conn, ["01"])
        assert units.ensure_loaded(conn, "01") is None
    assert (again.added, again.changed) == (0, 0)
    assert again.units == len(before[0]) and again.successors == len(before[1])
    assert state() == before


def test_the_mapping_covers_every_old_commune_of_ha_noi(mem_app: App) -> None:
    """Each of Hà Nội's 526 communes and wards that ended on 2025-06-30 has successors in
    force from 2025-07-01, exactly one of them the default its producers move to."""
    with mem_app.db.connect() as conn:
        old = [u.key for u in units.listing(conn, "commune", limit=5000)
               if u.valid_to is not None]
        defaults: dict[str, int] = dict(conn.execute(
            select(unit_successors.c.old_key, func.count())
            .where(unit_successors.c.is_default.is_(True))
            .group_by(unit_successors.c.old_key)).all())
        successors = {k: units.successors(conn, k) for k in old[::25]}
    assert len(old) == 526
    assert {k: defaults.get(k, 0) for k in old} == dict.fromkeys(old, 1)
    for key, found in successors.items():
        assert found and found[0][1], key
        assert all(u.in_force(TODAY) and u.level == "commune" for u, _ in found), key


def test_a_province_the_package_does_not_know_is_refused_with_the_known_ones(
        mem_app: App) -> None:
    """``OCOP_PROVINCE=99`` loads nothing: refused, listing the 34 provinces' codes."""
    with pytest.raises(InvalidInput) as refused:
        units.check_provinces(["99"])
    assert refused.value.code == "unit_province_unknown"
    assert len(refused.value.params["provinces"]) == 34
    assert "01 Thành phố Hà Nội" in refused.value.text("en")
