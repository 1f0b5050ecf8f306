"""The engine records why it decided: a reason code with its parameters in the audit entry's
data (``explain``), rendered as one sentence in the reader's language."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.unit.lifecycle_support import DISTRICT_STAGE, Driver, path_to, scores
from workflow import i18n
from workflow.domain import explain
from workflow.store import queries


def last_entry(drive: Driver, code: str) -> dict[str, Any]:
    with drive.world.app.db.connect() as conn:
        entry: dict[str, Any] = queries.case_view(conn, code)["history"][-1]
    return entry


def at(drive: Driver, version: str, state: str) -> str:
    code = drive.new_case(version)
    for trigger, source, dest in path_to(version, state):
        drive.step(code, version, trigger, source, dest)
    return code


@pytest.mark.parametrize(("version", "total", "ok", "expected"), [
    ("1048", 60, True, "district_to_city"),
    ("148", 60, True, "district_3"),
    ("148", 75, True, "potential_4"),
    ("148", 40, True, "rejected_below_50"),
    ("148", 95, False, "rejected_mandatory"),
])
def test_a_district_score_records_why_it_went_where_it_went(
        drive: Driver, version: str, total: float, ok: bool, expected: str) -> None:
    """Each routed outcome of the district's score carries its own reason code and the score."""
    code = at(drive, version, "district_review")
    drive.world.fire(code, "record_district_score", DISTRICT_STAGE,
                     scores(version, total, ok=ok))
    why = last_entry(drive, code)["data"]["explain"]
    assert why["code"] == expected and why["score"] == total and why["rules"] == version


@pytest.mark.parametrize(("version", "expected"), [("148", "no_ip_district_3"),
                                                    ("1489", "no_ip_cap_3")])
def test_no_trademark_records_the_cap_or_the_district_certificate(
        drive: Driver, version: str, expected: str) -> None:
    """Without a trademark certificate: a district 3★ under 148, a 3★ cap under 1489."""
    code = at(drive, version, "ip_check")
    drive.world.fire(code, "record_no_ip", "ip", reason="chưa đăng ký")
    assert last_entry(drive, code)["data"]["explain"] == {"code": expected, "rules": version}


@pytest.mark.parametrize(("total", "expected", "stars"), [
    (60, "city_district_3", None), (80, "city_certified", 4), (95, "potential_5", None)])
def test_a_city_score_under_148_records_its_outcome(
        drive: Driver, total: float, expected: str, stars: int | None) -> None:
    """Under 148 the city does not certify 3★ (the district does, and the entry says so),
    certifies 4★, and sends 90 and more to the central level."""
    code = at(drive, "148", "city_rating")
    drive.world.fire(code, "record_city_score", "city", scores("148", total))
    why = last_entry(drive, code)["data"]["explain"]
    assert why["code"] == expected and why.get("stars") == stars


def test_a_capped_city_score_records_the_band_it_would_have_had(drive: Driver) -> None:
    """1489, no trademark, 92 points: 3★ recorded as ``ip_cap_3`` with the 5★ band."""
    code = at(drive, "1489", "ip_check")
    drive.world.fire(code, "record_no_ip", "ip", reason="chưa đăng ký")
    drive.world.fire(code, "record_city_score", "city", scores("1489", 92))
    entry = last_entry(drive, code)
    assert entry["to"] == "certified" and entry["data"]["stars"] == 3
    assert entry["data"]["explain"] == {"code": "ip_cap_3", "score": 92.0, "rules": "1489",
                                        "stars": 3, "band": 5}
    assert explain.sentence(entry["trigger"], entry["data"], "en") == (
        "3★ because there is no trademark certificate: Decision 1489/QĐ-TTg (2025) caps the "
        "rating at 3★ without one (the score 92 would give 5★).")


@pytest.mark.parametrize(("passed", "expected"), [(True, "central_passed"),
                                                  (False, "central_not_passed")])
def test_the_central_result_records_whether_5_stars_were_given(
        drive: Driver, passed: bool, expected: str) -> None:
    """The ministry's decision: 5★, or the city's 4★ kept; its number is in the sentence."""
    code = at(drive, "1489", "central_review")
    drive.world.fire(code, "record_central_result", "city",
                     {"passed": passed, "decision_no": "QĐ-77/BNN"})
    why = last_entry(drive, code)["data"]["explain"]
    assert why == {"code": expected, "decision_no": "QĐ-77/BNN"}
    assert "QĐ-77/BNN" in (explain.sentence("record_central_result", {"explain": why}, "vi")
                           or "")


def test_only_decided_outcomes_are_explained() -> None:
    """A trigger whose data a caller writes (submit echoes its data) never shows an
    explanation, even if the data holds one."""
    assert explain.sentence("submit", {"explain": {"code": "ip_cap_3"}}, "vi") is None
    assert explain.sentence("record_city_score", {"score": 80}, "vi") is None


@pytest.mark.parametrize("lang", i18n.LANGS)
def test_every_explanation_fills_all_its_placeholders(lang: str) -> None:
    """With the parameters the engine records, no sentence keeps a ``{placeholder}``."""
    params = {"score": 80.5, "rules": "1489", "stars": 3, "band": 4, "threshold": 90.0,
              "decision_no": "QĐ-1", "criteria": ["idea", "origin"]}
    for code in i18n.codes("explain", lang):
        said = explain.sentence("record_city_score", {"explain": {"code": code, **params}},
                                lang)
        assert said and not re.search(r"{\w+}", said), (code, said)


@pytest.mark.parametrize(("value", "lang", "shown"), [
    (82.5, "vi", "82,5"), (82.5, "en", "82.5"), (60.0, "vi", "60"), (82.25, "vi", "82,25")])
def test_scores_are_written_as_the_reader_writes_numbers(value: float, lang: str,
                                                         shown: str) -> None:
    """A decimal comma in Vietnamese, a point in English, no ".0" on a whole number."""
    assert explain.number(value, lang) == shown
