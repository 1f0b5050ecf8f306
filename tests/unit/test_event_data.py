"""Event data is plain finite JSON before anything reads it (issue 10's first reproduction:
``{"trigger": "withdraw", "data": {"x": NaN}}`` committed, answered 500, and made the case
unreadable for good). Now it is a 422 that changes nothing, by every door."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sqlalchemy import select

from tests.api_support import bearer, client
from tests.support import START, World
from tests.unit.console_support import post_sign_in
from workflow.domain import eventdata
from workflow.domain.facts import Event
from workflow.errors import InvalidInput
from workflow.store.schema import audit_entries, cases

WITHDRAW = '{"trigger": "withdraw", "reason": "thử", "data": {"x": %s}}'


def footprint(world: World, code: str) -> tuple[Any, ...]:
    with world.app.db.connect() as conn:
        row = conn.execute(select(cases.c.state, cases.c.version, cases.c.audit_seq)
                           .where(cases.c.code == code)).one()
        n = conn.execute(select(audit_entries.c.id).join(
            cases, cases.c.id == audit_entries.c.case_id).where(cases.c.code == code)).all()
    return (*row, len(n))


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity"])
def test_a_non_finite_number_is_a_422_that_changes_nothing_and_the_case_stays_readable(
        world: World, number: str) -> None:
    code = world.register()
    before = footprint(world, code)
    headers = {**bearer(world.tokens["producer1"]), "Content-Type": "application/json"}
    with client(world.app) as api:
        r = api.post(f"/api/v1/cases/{code}/events", content=WITHDRAW.replace("%s", number),
                     headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "event_data_not_finite"
        assert "data.x" in r.json()["detail"]
        assert footprint(world, code) == before
        read = api.get(f"/api/v1/cases/{code}", headers=headers)
        assert read.status_code == 200 and read.json()["state"] == "draft"


@pytest.mark.parametrize(("data", "error"), [
    ({"x": math.nan}, "event_data_not_finite"),
    ({"a": [{"b": -math.inf}]}, "event_data_not_finite"),
    ({"when": object()}, "event_data_not_json"),
    ({"t": "x" * (eventdata.MAX_TEXT + 1)}, "event_data_text_too_long"),
    ({"n": list(range(eventdata.MAX_ITEMS + 1))}, "event_data_too_large"),
    ({"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": {"a": 1}}}}}}}}}, "event_data_too_deep"),
    ({1: "x"}, "event_data_not_object"),
])
def test_the_engine_refuses_what_is_not_plain_finite_json_before_writing(
        world: World, data: dict[Any, Any], error: str) -> None:
    """Whichever door (the CLI and the console call the engine too): refused, nothing written,
    and the sentence exists in both languages."""
    code = world.register()
    before = footprint(world, code)
    with pytest.raises(InvalidInput) as caught:
        world.app.engine.apply(Event(code, "withdraw", world.actors["producer1"], data, "thử"))
    assert caught.value.code == error
    assert footprint(world, code) == before
    for lang in ("vi", "en"):
        assert caught.value.text(lang) != error and caught.value.text(lang).endswith(".")


def test_plain_data_still_passes() -> None:
    eventdata.check({"sheets": [{"member": "A", "a": 30.5, "b": 20, "c": 25}],
                     "mandatory_ok": True, "note": None})


@pytest.mark.parametrize("documents", ["123", "[[1]]", "[{}]", "null", "true", '"a"', '[""]'])
def test_submit_with_documents_that_are_not_a_list_of_codes_is_a_422(
        world: World, documents: str) -> None:
    """Issue 10: ``documents`` = 123, [[1]], [{}], null, true answered 500; now 422 with the
    sentence, and the case is unchanged."""
    code = world.register()
    before = footprint(world, code)
    headers = {**bearer(world.tokens["producer1"]), "Content-Type": "application/json"}
    body = '{"trigger": "submit", "data": {"documents": ' + documents + "}}"
    with client(world.app) as api:
        r = api.post(f"/api/v1/cases/{code}/events", content=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "documents_not_codes"
    assert footprint(world, code) == before


@pytest.mark.parametrize(("key", "value"), [("since", "0001-01-01T00:00:00"),
                                            ("until", "9999-12-31T23:59:59-12:00")])
def test_an_audit_filter_at_the_edge_of_time_is_a_422_in_the_api_and_the_console(
        world: World, key: str, value: str) -> None:
    """Issue 10: these answered 500 (the UTC conversion overflowed); now a sentence."""
    world.register()
    with client(world.app) as api:
        r = api.get("/api/v1/audit", params={key: value},
                    headers=bearer(world.tokens["supervisor"]))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "date_filter_out_of_range"
        post_sign_in(api, "supervisor", world.tokens["supervisor"])
        page = api.get("/console/audit", params={key: value})
        assert page.status_code == 422 and "1900-01-01" in page.text


def test_one_council_member_written_nfc_then_nfd_or_in_capitals_scores_once() -> None:
    """Issue 10: "Nguyễn Văn An" once composed (NFC) and once decomposed (NFD) counted as two
    members; so did a change of case or a zero-width space. Now: one person, refused."""
    import unicodedata

    from workflow.domain.scoring import parse_sheets

    nfc = unicodedata.normalize("NFC", "Nguyễn Văn An")
    for twin in (unicodedata.normalize("NFD", nfc), nfc.upper(), "Nguyễn\u200b Văn  An"):
        data = {"sheets": [{"member": nfc, "a": 30, "b": 20, "c": 20},
                           {"member": twin, "a": 30, "b": 20, "c": 20}], "mandatory_ok": True}
        with pytest.raises(InvalidInput) as caught:
            parse_sheets(data, (40, 25, 35), 1, "1489")
        assert caught.value.code == "duplicate_member"
    with pytest.raises(InvalidInput) as empty:
        parse_sheets({"sheets": [{"member": "\u200b\u202e", "a": 1, "b": 1, "c": 1}],
                      "mandatory_ok": True}, (40, 25, 35), 1, "1489")
    assert empty.value.code == "sheet_member_missing"


def test_certificate_numbers_carry_a_random_part_and_a_check_character(world: World) -> None:
    """Issue 10: numbers embedded the case id (one hit in 39 guesses). Now level, year, eight
    random characters and a check character; a mistyped character is caught."""
    from workflow.domain import certificates

    issued = [certificates.number("city", START.date()) for _ in range(200)]
    assert len(set(issued)) == 200
    assert all(n.startswith("HN-TP-2025-") and certificates.well_formed(n) for n in issued)
    head, body = issued[0].rsplit("-", 1)
    for i in range(len(body)):
        for ch in certificates.ALPHABET:
            if ch != body[i]:
                assert not certificates.well_formed(f"{head}-{body[:i]}{ch}{body[i + 1:]}")
        if i < certificates.RANDOM_CHARS - 1:  # a swap of two neighbours in the random part
            swapped = body[:i] + body[i + 1] + body[i] + body[i + 2:]
            assert swapped == body or not certificates.well_formed(f"{head}-{swapped}")
    assert not certificates.well_formed("HN-TP-2026-000001-1")
