"""Each guard of the lifecycle refuses with the right error class and one sentence, and a
refusal leaves the case, its audit trail, outbox, deadlines and certificates untouched."""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.support import DOCS, World
from tests.unit.lifecycle_support import (
    CRITERIA,
    DISTRICT_STAGE,
    IN_SCOPE,
    PRODUCER1_NAME,
    Driver,
    case_row,
    case_state,
    refusal,
    refused,
    scores,
    why,
    words,
)
from workflow.domain import explain
from workflow.domain.guards import REEVALUATION_REASONS, REVOCATION_REASONS
from workflow.errors import Forbidden, GuardFailed, InvalidInput
from workflow.i18n import label
from workflow.store.queries import case_view

IP = {"certificate_no": "4-0123456", "holder": PRODUCER1_NAME, "registered_on": "2021-05-17"}


def test_submit_is_refused_while_the_dossier_lacks_documents(drive: Driver) -> None:
    """dossier_complete: submit names the kinds not yet uploaded (a code typed in the event
    proves nothing) and says to upload them."""
    world = drive.world
    world.app.engine.settings = replace(world.app.engine.settings, required_documents=None)
    try:
        code = world.register()
        world.upload(code, "registration_form")
        message = refused(world.app, code, GuardFailed, lambda: world.fire(
            code, "submit", "producer1", DOCS))
        assert words("document", "business_plan", "product_standard") in message
        assert "upload" in message
        assert words("document", "registration_form") not in message.split("yet")[0]
        world.upload(code, "business_plan", "product_standard", "product_story")
        assert world.fire(code, "submit", "producer1", DOCS).to_state == "registered"
    finally:
        world.app.engine.settings = replace(world.app.engine.settings, required_documents=())


def test_a_commune_officer_may_submit_for_a_producer_in_their_commune(drive: Driver) -> None:
    """submit is also for the commune officer of the producer's commune."""
    world = drive.world
    code = world.register()
    assert world.fire(code, "submit", "commune1", DOCS).to_state == "registered"


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_request_completion_is_refused_without_a_reason(drive: Driver, reason: str | None) -> None:
    """reason_required: asking the producer to complete the dossier needs a reason."""
    code = drive.reach("148", "district_review")
    message = refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
        code, "request_completion", DISTRICT_STAGE, {}, reason))
    assert "--reason" in message


@pytest.mark.parametrize("days", [0, 91, -3, "10", 1.5, True])
def test_request_completion_is_refused_for_days_outside_1_to_90(drive: Driver, days: Any) -> None:
    """completion_days: "days" is a whole number of days from 1 to 90."""
    code = drive.reach("1489", "commune_prescore")
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "request_completion", "commune1", {"days": days}, "label missing"))
    assert "from 1 to 90" in message


def test_request_completion_accepts_90_days(drive: Driver) -> None:
    """The longest completion period allowed is 90 days."""
    code = drive.reach("1489", "commune_prescore")
    assert drive.world.fire(code, "request_completion", "commune1", {"days": 90},
                            "label missing").to_state == "needs_completion"


@pytest.mark.parametrize("data", [
    {}, {"criteria": "all"}, {"criteria": {**CRITERIA, "extra": True}},
    {"criteria": {k: v for k, v in CRITERIA.items() if k != "idea"}},
    {"criteria": {**CRITERIA, "origin": "yes"}},
])
def test_commune_prescore_is_refused_for_malformed_criteria(drive: Driver,
                                                            data: dict[str, Any]) -> None:
    """prescore_criteria: the four criteria must each be given as true or false."""
    code = drive.reach("1489", "commune_prescore")
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "record_commune_prescore", "commune1", data))
    assert "origin" in message and "cultural_identity" in message


def test_a_failed_commune_prescore_is_recorded_and_rejects_naming_the_criteria(
        drive: Driver) -> None:
    """DOMAIN.md §9: a criterion not met is recorded; the case ends rejected, and the audit
    entry names the failed criteria in the reader's words."""
    code = drive.reach("1489", "commune_prescore")
    data = {"criteria": {**CRITERIA, "local_labour": False, "idea": False}}
    applied = drive.world.fire(code, "record_commune_prescore", "commune1", data)
    assert applied.to_state == "rejected"
    with drive.world.app.db.connect() as conn:
        last = case_view(conn, code)["history"][-1]
    assert last["data"]["unmet"] == ["local_labour", "idea"]
    assert last["data"]["explain"] == {"code": "prescore_unmet",
                                       "criteria": ["local_labour", "idea"]}
    said = explain.sentence("record_commune_prescore", last["data"], "vi")
    assert said is not None
    assert label("criterion", "local_labour", "vi") in said
    assert label("criterion", "idea", "vi") in said
    assert case_row(drive.world.app, code)["stars"] is None


@pytest.mark.parametrize("missing", ["certificate_no", "holder", "registered_on"])
def test_verify_ip_is_refused_without_each_certificate_field(drive: Driver, missing: str) -> None:
    """ip_certificate: number, holder and registration date are all required."""
    code = drive.reach("1489", "ip_check")
    data = {k: v for k, v in IP.items() if k != missing}
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "verify_ip", "ip", data))
    assert missing in message


@pytest.mark.parametrize("registered_on", ["17/05/2021", "2021-13-01", "2025-09-02"])
def test_verify_ip_is_refused_for_a_bad_or_future_registration_date(drive: Driver,
                                                                    registered_on: str) -> None:
    """ip_certificate: the date is ISO 8601 and not after today (2025-09-01)."""
    code = drive.reach("148", "ip_check")
    refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "verify_ip", "ip", {**IP, "registered_on": registered_on}))


@pytest.mark.parametrize("version", ["148", "1489"])
def test_verify_ip_is_refused_when_the_holder_is_not_the_producer(drive: Driver,
                                                                  version: str) -> None:
    """ip_certificate: a trademark held by someone else does not count; record_no_ip is named."""
    code = drive.reach(version, "ip_check")
    message = refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
        code, "verify_ip", "ip", {**IP, "holder": "Làng lụa Vạn Phúc"}))
    assert "holder must be the producer" in message
    assert words("trigger", "record_no_ip") in message


def test_verify_ip_compares_the_holder_after_nfc_normalisation_and_trimming(
        drive: Driver) -> None:
    """A holder written decomposed (NFD) with surrounding spaces is still the producer."""
    code = drive.reach("1489", "ip_check")
    holder = "  " + unicodedata.normalize("NFD", PRODUCER1_NAME) + " "
    assert holder.strip() != PRODUCER1_NAME
    applied = drive.world.fire(code, "verify_ip", "ip", {**IP, "holder": holder})
    assert applied.to_state == "city_rating"


def test_verify_ip_today_is_allowed_in_vietnam_even_when_the_clock_reads_utc(
        drive: Driver) -> None:
    """A trademark registered today (Vietnam date) is not in the future, whatever zone the
    clock reports in: at 00:30 on 2 September in Hanoi it is still 1 September in UTC."""
    code = drive.reach("1489", "ip_check")
    drive.world.clock.set(datetime(2025, 9, 1, 17, 30, tzinfo=UTC))
    applied = drive.world.fire(code, "verify_ip", "ip", {**IP, "registered_on": "2025-09-02"})
    assert applied.to_state == "city_rating"


@pytest.mark.parametrize("version", ["148", "1489"])
def test_record_no_ip_is_refused_without_a_reason(drive: Driver, version: str) -> None:
    """record_no_ip records why the product has no trademark: a reason is required."""
    code = drive.reach(version, "ip_check")
    refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
        code, "record_no_ip", "ip", {}, None))


@pytest.mark.parametrize("data", [
    {}, {"passed": "yes", "decision_no": "QĐ-1"}, {"passed": True},
    {"passed": True, "decision_no": "  "},
])
def test_central_result_is_refused_without_a_decision(drive: Driver, data: dict[str, Any]) -> None:
    """central_decision: the ministry's decision needs passed (true/false) and its number."""
    code = drive.reach("1489", "central_review")
    refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "record_central_result", "city", data))


@pytest.mark.parametrize("reason", [None, "bored", "UPGRADE"])
def test_reevaluation_is_refused_for_an_unknown_reason(drive: Driver, reason: Any) -> None:
    """reevaluation_reason: expiry, criteria_change, upgrade or inspection, nothing else."""
    code = drive.reach("148", "certified")
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "open_reevaluation", "city", {"reason": reason}))
    assert all(f"{code} (" in message for code in REEVALUATION_REASONS)


@pytest.mark.parametrize("reason", ["expiry", "criteria_change", "inspection"])
def test_a_producer_may_open_a_reevaluation_only_to_seek_an_upgrade(drive: Driver,
                                                                    reason: str) -> None:
    """reevaluation_reason: for a producer only 'upgrade' is allowed."""
    code = drive.reach("1048", "certified")
    message = refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
        code, "open_reevaluation", "producer1", {"reason": reason}))
    assert "upgrade" in message
    applied = drive.world.fire(code, "open_reevaluation", "producer1", {"reason": "upgrade"})
    assert applied.to_state == "reevaluation"


def test_the_system_opens_a_reevaluation_for_expiry(drive: Driver) -> None:
    """The scheduler may open the re-evaluation an ageing certificate needs."""
    code = drive.reach("1489", "certified")
    assert drive.world.fire(code, "open_reevaluation", "system",
                            {"reason": "expiry"}).to_state == "reevaluation"


@pytest.mark.parametrize("state", ["certified", "reevaluation"])
def test_expire_is_refused_while_the_certificate_is_valid(drive: Driver, state: str) -> None:
    """certificate_past_validity: not even on the last valid day (36 months less a day)."""
    code = drive.reach("1489", state)
    clock = drive.world.clock
    clock.set(datetime(2028, 8, 31, 23, 59, tzinfo=clock.now().tzinfo))
    message = refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
        code, "expire", "system"))
    assert "2028-08-31" in message
    clock.advance(minutes=1)
    assert drive.world.fire(code, "expire", "system").to_state == "expired"


def test_expire_works_from_vietnamese_midnight_when_the_clock_reads_utc(drive: Driver) -> None:
    """A certificate valid to 31 August 2028 has expired at 00:30 on 1 September in Hanoi,
    which is 17:30 on 31 August in UTC: the guard reads the Vietnamese date."""
    code = drive.reach("1489", "certified")
    drive.world.clock.set(datetime(2028, 8, 31, 17, 30, tzinfo=UTC))
    assert drive.world.fire(code, "expire", "system").to_state == "expired"


# ``{"reason": "violation"}`` (the key misnamed) is refused as an unknown key of revoke's data,
# naming ``reason_code``: tests/unit/test_event_schemas.py.
@pytest.mark.parametrize("data", [{}, {"reason_code": "fraud"}])
def test_revoke_is_refused_without_a_known_reason_code(drive: Driver, data: dict[str, Any]) -> None:
    """revocation_reason: not_reassessed, failed_mandatory or violation."""
    code = drive.reach("148", "certified")
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "revoke", "city", data))
    assert all(f"{code} (" in message for code in REVOCATION_REASONS)


@pytest.mark.parametrize("state", ["draft", "registered", "commune_prescore", "ip_check",
                                   "city_rating"])
def test_the_system_may_not_withdraw_outside_a_missed_completion_deadline(
        drive: Driver, state: str) -> None:
    """withdrawal_allowed: the system withdraws only a case whose completion deadline passed."""
    code = drive.reach("1489", state)
    message = refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
        code, "withdraw", "system"))
    assert "completion deadline" in message


def test_the_system_withdraws_only_after_the_completion_deadline(drive: Driver) -> None:
    """withdrawal_allowed: refused before the 30 days are up, allowed once they are."""
    code = drive.reach("148", "district_review")
    drive.world.fire(code, "request_completion", DISTRICT_STAGE, {}, "label missing")
    drive.world.clock.advance(days=29, hours=23)
    refused(drive.world.app, code, GuardFailed,
            lambda: drive.world.fire(code, "withdraw", "system"))
    drive.world.clock.advance(hours=1)
    assert drive.world.fire(code, "withdraw", "system").to_state == "withdrawn"


def test_a_producer_may_withdraw_at_any_time_before_certification(drive: Driver) -> None:
    """The producer's own withdrawal has no deadline condition."""
    code = drive.reach("1048", "city_rating")
    assert drive.world.fire(code, "withdraw", "producer1").to_state == "withdrawn"


@pytest.mark.parametrize("data", [{}, {"deadline": "review_start"}, {"level": 1},
                                  {"deadline": 3, "level": 1}])
def test_escalate_is_refused_without_the_clock_and_level(drive: Driver,
                                                         data: dict[str, Any]) -> None:
    """escalation_data: the scheduler says which clock and which level it escalates."""
    code = drive.reach("1489", "registered")
    refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "escalate", "system", data))


def test_escalation_is_audited_without_moving_the_case(drive: Driver) -> None:
    """escalate is an internal event: an audit entry, the same state, no status message."""
    code = drive.reach("1489", "registered")
    applied = drive.world.fire(code, "escalate", "system",
                               {"deadline": "review_start", "level": 1})
    assert (applied.from_state, applied.to_state) == ("registered", "registered")
    assert applied.message_ids == ()
    assert case_state(drive.world.app, code) == "registered"


# ---- score input ------------------------------------------------------------------------

MAXIMA = {"1048": (35, 25, 40), "148": (40, 25, 35), "1489": (40, 25, 35)}


def scoring_case(drive: Driver, version: str) -> tuple[str, str, str]:
    """A case waiting for a score: district review (1048/148; scored by the district's
    successor at the test clock) or city rating (1489)."""
    if version == "1489":
        return drive.reach(version, "city_rating"), "record_city_score", "city"
    return drive.reach(version, "district_review"), "record_district_score", DISTRICT_STAGE


def over_max() -> list[tuple[str, int]]:
    return [(v, i) for v in MAXIMA for i in range(3)]


@pytest.mark.parametrize(("version", "part"), over_max(),
                         ids=[f"{v}-{'ABC'[i]}" for v, i in over_max()])
def test_a_part_over_its_version_maximum_is_invalid_input(drive: Driver, version: str,
                                                          part: int) -> None:
    """Parts are scored within the version's maxima (1048: 35/25/40; 148, 1489: 40/25/35);
    exactly the maximum is accepted, a hundredth over it is refused."""
    code, trigger, who = scoring_case(drive, version)
    values = [10.0, 10.0, 10.0]
    values[part] = MAXIMA[version][part] + 0.01
    data = {"sheets": [{"member": "m", **dict(zip("abc", values, strict=True))}],
            "mandatory_ok": True}
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, trigger, who, data))
    label = "ABC"[part]
    assert f"under {words('rules', version)} part {label} is scored from 0 to " \
        f"{MAXIMA[version][part]}" in message
    values[part] = MAXIMA[version][part]
    data["sheets"][0] = {"member": "m", **dict(zip("abc", values, strict=True))}
    assert drive.world.fire(code, trigger, who, data).to_state != trigger


@pytest.mark.parametrize("data", [
    {}, {"sheets": [], "mandatory_ok": True}, {"sheets": "40,25,35", "mandatory_ok": True},
    {"sheets": [{"member": "m", "a": 1, "b": 1, "c": 1}]},
    {"sheets": [{"member": "m", "a": 1, "b": 1, "c": 1}], "mandatory_ok": "yes"},
    {"sheets": [{"a": 1, "b": 1, "c": 1}], "mandatory_ok": True},
    {"sheets": [{"member": "m", "a": 1, "b": 1}], "mandatory_ok": True},
    {"sheets": [{"member": "m", "a": -1, "b": 1, "c": 1}], "mandatory_ok": True},
    {"sheets": [{"member": "m", "a": "9", "b": 1, "c": 1}], "mandatory_ok": True},
    {"sheets": [{"member": "m", "a": True, "b": 1, "c": 1}], "mandatory_ok": True},
    {"sheets": [{"member": "m", "a": 1, "b": 1, "c": 1, "d": 1}], "mandatory_ok": True},
    {"sheets": [7], "mandatory_ok": True},
], ids=["nothing", "empty", "not-a-list", "no-mandatory", "mandatory-not-bool", "no-member",
        "missing-part", "negative", "string-part", "bool-part", "unknown-part", "not-an-object"])
@pytest.mark.parametrize("version", ["1048", "148", "1489"])
def test_malformed_score_sheets_are_invalid_input(drive: Driver, version: str,
                                                  data: dict[str, Any]) -> None:
    """Missing or malformed sheets are refused as invalid input with nothing written."""
    code, trigger, who = scoring_case(drive, version)
    refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(code, trigger, who, data))


@pytest.mark.parametrize("second", ["member 1", "  member 1 "])
def test_a_council_member_with_two_sheets_is_invalid_input(drive: Driver, second: str) -> None:
    """One sheet per member; names are compared after trimming."""
    code, trigger, who = scoring_case(drive, "148")
    data = scores("148", 60, 70)
    data["sheets"][1]["member"] = second
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, trigger, who, data))
    assert "member 1" in message


def test_a_council_with_fewer_sheets_than_configured_is_invalid_input(world: World) -> None:
    """The minimum number of sheets per council is a setting (here 3)."""
    from dataclasses import replace
    world.app.engine.settings = replace(world.app.engine.settings, min_score_sheets=3)
    drive = Driver(world)
    code, trigger, who = scoring_case(drive, "148")
    message = refused(world.app, code, InvalidInput, lambda: world.fire(
        code, trigger, who, scores("148", 60, 70)))
    assert "at least 3" in message
    assert world.fire(code, trigger, who, scores("148", 60, 70, 65)).to_state == "certified"


def test_after_2025_07_01_a_district_review_is_scored_only_by_the_successor_in_scope(
        drive: Driver) -> None:
    """Since the districts ended a district review is scored by the officer of the case's
    commune: the other commune's officer is refused as out of their commune, and the officers
    of the ended districts, the case's own included, as only reading their history."""
    code = drive.reach("148", "district_review")
    world = drive.world
    other = refusal(world.app, code, Forbidden, lambda: world.fire(
        code, "record_district_score", "commune2", scores("148", 60)))
    assert why(other) == "scope_other_commune", other.message
    for officer in ("district1", "district2"):
        ended = refusal(world.app, code, Forbidden, lambda officer=officer: world.fire(
            code, "record_district_score", officer, scores("148", 60)))
        assert why(ended) == "scope_unit_ended", ended.message
    assert case_state(world.app, code) == "district_review"
    assert world.fire(code, "record_district_score", "commune1",
                      scores("148", 60)).to_state == "certified"


def test_with_the_city_as_the_districts_successor_the_city_scores_a_district_review(
        world: World) -> None:
    """OCOP_DISTRICT_SUCCESSOR=city: a district review after 2025-07-01 is the city officer's,
    and the commune officer is refused as a role the stage is not for."""
    from dataclasses import replace
    world.app.engine.settings = replace(world.app.engine.settings,
                                        district_successor="city_officer")
    drive = Driver(world, {**IN_SCOPE, "district_officer": "city"})
    code = drive.reach("148", "district_review")
    commune = refusal(world.app, code, Forbidden, lambda: world.fire(
        code, "record_district_score", "commune1", scores("148", 60)))
    assert commune.code == "role_may_not", commune.message
    assert commune.params["roles"] == ["city_officer", "district_officer"]
    ended = refusal(world.app, code, Forbidden, lambda: world.fire(
        code, "record_district_score", "district1", scores("148", 60)))
    assert why(ended) == "scope_unit_ended", ended.message
    assert world.fire(code, "record_district_score", "city",
                      scores("148", 60)).to_state == "certified"


def test_before_2025_07_01_a_scoped_officer_of_another_district_cannot_score(
        era_drive: Driver) -> None:
    """Before the reorganisation scores are recorded only by the district officer of the
    case's district; the commune officer is not a district officer then."""
    code = era_drive.reach("148", "district_review")
    world = era_drive.world
    other = refusal(world.app, code, Forbidden, lambda: world.fire(
        code, "record_district_score", "district2", scores("148", 60)))
    assert why(other) == "scope_other_district", other.message
    commune = refusal(world.app, code, Forbidden, lambda: world.fire(
        code, "record_district_score", "commune1", scores("148", 60)))
    assert commune.code == "role_may_not", commune.message
    assert case_state(world.app, code) == "district_review"
    assert world.fire(code, "record_district_score", "district1",
                      scores("148", 60)).to_state == "certified"


def test_a_refused_event_leaves_an_expired_clock_and_certificates_as_they_were(
        drive: Driver) -> None:
    """A refusal on a certified case with live certificate clocks changes none of them."""
    code = drive.reach("148", "certified")
    drive.world.clock.advance(days=400)
    refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(code, "expire", "system"))
    refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "revoke", "city", {"reason_code": "nope"}))
    assert case_state(drive.world.app, code) == "certified"
