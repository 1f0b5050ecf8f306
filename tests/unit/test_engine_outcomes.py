"""Where scoring routes a case under each rule version, which certificate it gets, how the rule
version is fixed, and how clocks pause and resume (DOMAIN.md §2–§6)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from tests.support import DOCS, World
from tests.unit.lifecycle_support import (
    CRITERIA,
    DISTRICT_STAGE,
    Driver,
    EraWorld,
    case_row,
    certs,
    scores,
    view,
)
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock
from workflow.domain.certificates import NOTICE_MARGIN_DAYS
from workflow.store.schema import deadlines

IP = {"certificate_no": "4-0123456", "holder": "HTX Tương Cự Đà", "registered_on": "2021-05-17"}


def clocks(world: World, code: str, status: str = "open") -> dict[str, datetime]:
    case_id = case_row(world.app, code)["id"]
    with world.app.db.connect() as conn:
        return {r.kind: r.due_at for r in conn.execute(select(deadlines).where(
            deadlines.c.case_id == case_id, deadlines.c.status == status))}


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=VIETNAM)  # type: ignore[misc]


# ---- 148: the district certifies 3★ and sends ≥70 to the IP check ------------------------

@pytest.mark.parametrize("score", [50, 60, 69.99])
def test_148_district_score_from_50_to_under_70_gives_a_district_3_star_certificate(
        drive: Driver, score: float) -> None:
    """Decision 148: the district certifies 3★ itself, valid 36 months, rule version 148."""
    code = drive.reach("148", "district_review")
    applied = drive.world.fire(code, "record_district_score", DISTRICT_STAGE, scores("148", score))
    assert applied.to_state == "certified"
    cert = view(drive.world, code)["certificate"]
    assert (cert["stars"], cert["level"], cert["rule_version"], cert["status"]) == (
        3, "district", "148", "valid")
    assert (cert["issued_on"], cert["valid_to"]) == ("2025-09-01", "2028-08-31")
    assert cert["number"].startswith("HN-H-2025-")


@pytest.mark.parametrize(("score", "stars"), [(70, 4), (89.99, 4), (90, 5), (100, 5)])
def test_148_district_score_of_70_or_more_goes_to_the_ip_check_as_potential_4_star(
        drive: Driver, score: float, stars: int) -> None:
    """Decision 148: ≥70 at the district means the trademark is checked next; no certificate."""
    code = drive.reach("148", "district_review")
    applied = drive.world.fire(code, "record_district_score", DISTRICT_STAGE, scores("148", score))
    assert applied.to_state == "ip_check"
    v = view(drive.world, code)
    assert (v["score"], v["stars"], v["certificate"]) == (score, stars, None)


@pytest.mark.parametrize("version", ["1048", "148"])
@pytest.mark.parametrize(("score", "ok"), [(49.99, True), (0, True), (80, False), (95, False)])
def test_district_score_under_50_or_a_failed_mandatory_criterion_rejects(
        drive: Driver, version: str, score: float, ok: bool) -> None:
    """Below 50, or any score with a failed mandatory criterion, is not recognised."""
    code = drive.reach(version, "district_review")
    applied = drive.world.fire(code, "record_district_score", DISTRICT_STAGE,
                               scores(version, score, ok=ok))
    assert applied.to_state == "rejected"
    assert certs(drive.world, code) == []


@pytest.mark.parametrize("score", [50, 69.99, 70, 95])
def test_1048_district_score_of_50_or_more_goes_to_city_rating(drive: Driver,
                                                               score: float) -> None:
    """Decision 1048: the district only scores; from 50 the city rates, and no certificate yet."""
    code = drive.reach("1048", "district_review")
    applied = drive.world.fire(code, "record_district_score", DISTRICT_STAGE, scores("1048", score))
    assert applied.to_state == "city_rating"
    assert certs(drive.world, code) == []


# ---- the IP check ------------------------------------------------------------------------

def test_148_record_no_ip_certifies_district_3_star_whatever_the_district_score(
        drive: Driver) -> None:
    """Decision 148: without a trademark a potential 4★ product is certified 3★ by the district."""
    code = drive.reach("148", "district_review")
    drive.world.fire(code, "record_district_score", DISTRICT_STAGE, scores("148", 85))
    applied = drive.world.fire(code, "record_no_ip", "ip", {}, "no trademark registration")
    assert applied.to_state == "certified"
    v = view(drive.world, code)
    assert (v["stars"], v["certificate"]["stars"], v["certificate"]["level"]) == (3, 3, "district")


def test_1489_record_no_ip_caps_the_city_at_3_stars_even_for_a_score_of_95(drive: Driver) -> None:
    """Decision 1489: without a trademark the city rates with a 3★ cap, so 95 gives a city 3★
    certificate, not central review."""
    code = drive.reach("1489", "ip_check")
    applied = drive.world.fire(code, "record_no_ip", "ip", {}, "no trademark registration")
    assert applied.to_state == "city_rating"
    assert case_row(drive.world.app, code)["star_cap"] == 3
    applied = drive.world.fire(code, "record_city_score", "city", scores("1489", 95))
    assert applied.to_state == "certified"
    v = view(drive.world, code)
    assert (v["score"], v["stars"]) == (95, 3)
    assert (v["certificate"]["stars"], v["certificate"]["level"]) == (3, "city")


def test_1489_record_no_ip_then_a_city_score_under_50_rejects(drive: Driver) -> None:
    """The cap lowers stars; it does not lift a failing score."""
    code = drive.reach("1489", "ip_check")
    drive.world.fire(code, "record_no_ip", "ip", {}, "no trademark registration")
    assert drive.world.fire(code, "record_city_score", "city",
                            scores("1489", 45)).to_state == "rejected"


def test_verify_ip_lifts_no_cap_and_leads_to_city_rating(drive: Driver) -> None:
    """A verified trademark sends the case to the city with no star cap."""
    code = drive.reach("148", "ip_check")
    assert drive.world.fire(code, "verify_ip", "ip", IP).to_state == "city_rating"
    assert case_row(drive.world.app, code)["star_cap"] is None


# ---- the city and the ministry ---------------------------------------------------------

@pytest.mark.parametrize(("version", "score", "stars"), [
    ("1048", 50, 3), ("1048", 80, 4), ("1489", 60, 3), ("1489", 89.99, 4), ("148", 70, 4)])
def test_the_city_certifies_the_stars_its_version_lets_it(drive: Driver, version: str,
                                                          score: float, stars: int) -> None:
    """1048 and 1489: the city certifies 3★ and 4★; 148: the city certifies 4★."""
    code = drive.reach(version, "city_rating")
    applied = drive.world.fire(code, "record_city_score", "city", scores(version, score))
    assert applied.to_state == "certified"
    cert = view(drive.world, code)["certificate"]
    assert (cert["stars"], cert["level"], cert["rule_version"]) == (stars, "city", version)
    assert cert["number"].startswith("HN-TP-2025-")


@pytest.mark.parametrize("score", [50, 60, 69.99])
def test_148_city_score_in_the_3_star_band_gives_a_district_3_star(drive: Driver,
                                                                   score: float) -> None:
    """DOMAIN.md §2: under 148 a potential-4★ product the city scores 50–<70 is not rejected;
    it receives a district 3★ certificate, the city's score recorded."""
    code = drive.reach("148", "city_rating")
    applied = drive.world.fire(code, "record_city_score", "city", scores("148", score))
    assert applied.to_state == "certified"
    v = view(drive.world, code)
    assert (v["score"], v["stars"]) == (score, 3)
    cert = v["certificate"]
    assert (cert["stars"], cert["level"], cert["rule_version"]) == (3, "district", "148")
    assert cert["number"].startswith("HN-H-2025-")
    assert v["history"][-1]["data"]["explain"]["code"] == "city_district_3"


@pytest.mark.parametrize("version", ["1048", "148", "1489"])
def test_a_city_score_of_90_sends_the_case_to_central_review_holding_a_city_4_star(
        drive: Driver, version: str) -> None:
    """≥90: potential 5★; the city issues a 4★ certificate while the ministry reviews."""
    code = drive.reach(version, "city_rating")
    applied = drive.world.fire(code, "record_city_score", "city", scores(version, 90))
    assert applied.to_state == "central_review"
    (cert,) = certs(drive.world, code)
    assert (cert["stars"], cert["level"], cert["status"]) == (4, "city", "valid")


def test_the_central_threshold_is_configurable(world: World) -> None:
    """With the threshold at 95 a city score of 92 is certified 4★ by the city."""
    from dataclasses import replace
    world.app.engine.settings = replace(world.app.engine.settings, central_threshold=95.0)
    code = Driver(world).reach("1489", "city_rating")
    assert world.fire(code, "record_city_score", "city",
                      scores("1489", 92)).to_state == "certified"
    assert view(world, code)["certificate"]["stars"] == 4
    assert view(world, code)["stars"] == 4


def test_a_passed_central_result_issues_5_stars_superseding_the_city_4_stars(
        drive: Driver) -> None:
    """The ministry's 5★ certificate supersedes the city's 4★ one."""
    code = drive.reach("1489", "central_review")
    applied = drive.world.fire(code, "record_central_result", "city",
                               {"passed": True, "decision_no": "QĐ-77/BNN"})
    assert applied.to_state == "certified"
    four, five = certs(drive.world, code)
    assert (four["stars"], four["status"]) == (4, "superseded")
    assert (five["stars"], five["level"], five["status"], five["decision_no"]) == (
        5, "central", "valid", "QĐ-77/BNN")
    assert five["number"].startswith("HN-TW-2025-") and five["number"] != four["number"]
    assert view(drive.world, code)["stars"] == 5


def test_a_failed_central_result_keeps_the_city_4_star_certificate(drive: Driver) -> None:
    """Not passed: the case is certified and stays 4★ on the same certificate."""
    code = drive.reach("148", "central_review")
    before = certs(drive.world, code)
    applied = drive.world.fire(code, "record_central_result", "city",
                               {"passed": False, "decision_no": "QĐ-78/BNN"})
    assert applied.to_state == "certified"
    assert certs(drive.world, code) == before
    assert view(drive.world, code)["stars"] == 4


def test_revoking_during_central_review_revokes_the_city_certificate(drive: Driver) -> None:
    """A revoked case keeps no valid certificate."""
    code = drive.reach("1489", "central_review")
    drive.world.fire(code, "revoke", "city", {"reason_code": "violation"})
    assert [c["status"] for c in certs(drive.world, code)] == ["revoked"]
    assert clocks(drive.world, code) == {}


def test_expiry_ends_the_certificate_and_its_clocks(drive: Driver) -> None:
    """An expired case's certificate is marked expired and no clock stays open."""
    code = drive.reach("148", "certified")
    drive.world.clock.set(at(2028, 9, 1, 0, 0))
    drive.world.fire(code, "expire", "system")
    assert [c["status"] for c in certs(drive.world, code)] == ["expired"]
    assert clocks(drive.world, code) == {}


# ---- re-evaluation ---------------------------------------------------------------------

def test_reevaluation_on_the_same_case_issues_a_new_certificate_superseding_the_old(
        drive: Driver) -> None:
    """The case lives on: a re-evaluation a year later certifies again (stars may go down);
    the old certificate is superseded and the numbers differ."""
    world = drive.world
    code = drive.reach("1489", "certified")
    first = certs(world, code)[0]
    world.clock.set(at(2026, 9, 1, 9, 0))
    world.fire(code, "open_reevaluation", "city", {"reason": "inspection"})
    world.fire(code, "start_review", "commune1")
    world.fire(code, "record_commune_prescore", "commune1", {"criteria": CRITERIA})
    world.fire(code, "verify_ip", "ip", IP)
    assert view(world, code)["score"] is None
    world.fire(code, "record_city_score", "city", scores("1489", 60))
    old, new = certs(world, code)
    assert old["number"] == first["number"] and old["status"] == "superseded"
    assert (new["stars"], new["status"], new["issued_on"]) == (3, "valid", date(2026, 9, 1))
    assert new["valid_to"] == date(2029, 8, 31)
    assert old["number"] != new["number"]
    assert [h["trigger"] for h in view(world, code)["history"]].count("record_city_score") == 2


def test_a_1048_certificate_is_reevaluated_under_the_rules_in_force(era_drive: Driver) -> None:
    """A case certified under 1048 in 2022 (by Thanh Oai's district officer) and re-evaluated
    in 2025, before the districts ended, starts review under 148; its old certificate keeps
    1048."""
    world = era_drive.world
    code = world.register(rules=None)
    with world.app.db.begin() as conn:  # a historic dossier certified under 1048
        from workflow.store.schema import cases
        conn.execute(cases.update().where(cases.c.code == code).values(rule_version="1048"))
    world.clock.set(at(2022, 5, 10, 9, 0))
    for trigger, who, data in [("submit", "producer1", DOCS), ("start_review", "district1", {})]:
        world.fire(code, trigger, who, data)
    assert case_row(world.app, code)["rule_version"] == "1048"
    world.fire(code, "record_district_score", "district1", scores("1048", 75))
    world.fire(code, "record_city_score", "city", scores("1048", 75))
    world.clock.set(at(2025, 3, 3, 9, 0))
    world.fire(code, "open_reevaluation", "city", {"reason": "criteria_change"})
    assert world.fire(code, "start_review", "district1").to_state == "district_review"
    assert case_row(world.app, code)["rule_version"] == "148"
    assert [c["rule_version"] for c in certs(world, code)] == ["1048"]


def test_a_1048_certificate_reevaluated_today_is_under_1489(drive: Driver) -> None:
    """A historic dossier imported under 1048 (pinned by staff) and certified, re-evaluated
    today: its review starts under 1489 (commune pre-score), whatever the pin; the new
    certificate records 1489 while the old one keeps 1048."""
    world = drive.world
    code = drive.reach("1048", "certified")
    assert [c["rule_version"] for c in certs(world, code)] == ["1048"]
    world.fire(code, "open_reevaluation", "city", {"reason": "criteria_change"})
    assert world.fire(code, "start_review", "commune1").to_state == "commune_prescore"
    assert case_row(world.app, code)["rule_version"] == "1489"
    world.fire(code, "record_commune_prescore", "commune1", {"criteria": CRITERIA})
    world.fire(code, "record_no_ip", "ip", {}, "no trademark registration")
    world.fire(code, "record_city_score", "city", scores("1489", 75))
    assert [c["rule_version"] for c in certs(world, code)] == ["1048", "1489"]


def test_certificate_numbers_are_unique_across_cases_and_cycles(drive: Driver) -> None:
    """Every issued certificate number differs: district, city, central, and re-issues."""
    numbers = []
    for version in ("148", "1048", "1489"):
        code = drive.reach(version, "central_review")
        drive.world.fire(code, "record_central_result", "city",
                         {"passed": True, "decision_no": f"QĐ-{version}"})
        numbers += [c["number"] for c in certs(drive.world, code)]
    code = drive.reach("148", "certified")
    numbers += [c["number"] for c in certs(drive.world, code)]
    assert len(numbers) == 7 and len(set(numbers)) == 7


@pytest.mark.parametrize(("issued", "valid_to"), [
    (date(2025, 9, 1), date(2028, 8, 31)), (date(2024, 1, 31), date(2027, 1, 30)),
    (date(2025, 12, 31), date(2028, 12, 30)), (date(2023, 3, 1), date(2026, 2, 28))])
def test_a_certificate_is_valid_for_36_months(issued: date, valid_to: date) -> None:
    """Validity is 36 months: the last valid day is the day before the same date 3 years on."""
    from workflow.domain.certificates import valid_to as compute
    assert compute(issued) == valid_to


def test_certificate_clocks_give_90_and_30_days_notice_before_expiry(drive: Driver) -> None:
    """Issuing a certificate opens the 90-day reminder, the statutory 30-day notice and the
    expiry, counted from midnight after the last valid day (Vietnam time). The statutory notice
    is due a margin earlier than 30 days, so a late sweep still sends it in time (§9)."""
    code = drive.reach("148", "certified")
    c = clocks(drive.world, code)
    end = at(2028, 9, 1, 0, 0)
    assert c["cert_expiry"] == end
    assert (end - c["cert_notice_30"]).days == 30 + NOTICE_MARGIN_DAYS > 30
    assert (end - c["cert_notice_90"]).days == 90


# ---- the rule version is fixed by the evaluation date ----------------------------------

@pytest.mark.parametrize(("now", "state", "version"), [
    (at(2025, 7, 5, 16, 0), "district_review", "148"),
    (at(2025, 7, 6, 8, 0), "commune_prescore", "1489"),
    (datetime(2025, 7, 5, 17, 30, tzinfo=UTC), "commune_prescore", "1489"),  # 00:30 on 6 July
    (at(2023, 2, 23, 9, 0), "district_review", "1048"),
    (at(2023, 2, 24, 9, 0), "district_review", "148"),
])
def test_start_review_fixes_the_rule_version_from_the_evaluation_date(
        clock: FixedClock, mem_app: App, now: datetime, state: str, version: str) -> None:
    """The decision in force on the Vietnamese date of start_review governs the evaluation,
    whatever the case was registered under. Before 2025-07-01 the producer is in Cự Khê and the
    district officer starts a district review; from then on, in Bình Minh, its successor (the
    commune officer) does."""
    before = now < at(2025, 7, 1, 0, 0)
    clock.set(at(2023, 1, 10, 9, 0) if before else at(2025, 7, 1, 9, 0))
    world = EraWorld(mem_app) if before else World(mem_app)
    code = world.register(group="food")
    world.fire(code, "submit", "producer1", DOCS)
    world.clock.set(now)
    officer = "district1" if before else "commune1"
    assert world.fire(code, "start_review", officer).to_state == state
    assert case_row(world.app, code)["rule_version"] == version


def test_a_version_pinned_at_registration_is_kept_at_start_review(drive: Driver) -> None:
    """Staff importing a historic dossier pin the version: today's date does not change it."""
    for version in ("148", "1048"):
        code = drive.reach(version, "district_review")
        assert case_row(drive.world.app, code)["rule_version"] == version


# ---- clocks ----------------------------------------------------------------------------

def test_request_completion_pauses_the_office_clock_and_resubmit_resumes_the_time_left(
        drive: Driver) -> None:
    """District review has 30 working days: started Wed 3 Sep 2025 09:00 it is due 15 Oct.
    Asked for completion a week later (25 working days left), the producer resubmits on
    24 Sep: the clock resumes with 25 working days and is due 29 Oct 09:00."""
    world = drive.world
    world.clock.set(at(2025, 9, 3, 9, 0))
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", DISTRICT_STAGE)
    assert clocks(world, code)["district_review"] == at(2025, 10, 15, 9, 0)
    world.clock.set(at(2025, 9, 10, 9, 0))
    world.fire(code, "request_completion", DISTRICT_STAGE, {}, "the label is missing")
    assert "district_review" in clocks(world, code, "paused")
    open_now = clocks(world, code)
    assert open_now["completion"] == at(2025, 10, 10, 9, 0)
    assert open_now["completion_reminder_7"] == at(2025, 10, 3, 9, 0)
    assert open_now["completion_reminder_1"] == at(2025, 10, 9, 9, 0)
    assert [d["paused"] for d in view(world, code)["deadlines"]
            if d["kind"] == "district_review"] == [True]
    world.clock.set(at(2025, 9, 24, 9, 0))
    assert world.fire(code, "resubmit", "producer1").to_state == "district_review"
    assert clocks(world, code) == {"district_review": at(2025, 10, 29, 9, 0)}


def test_completion_days_set_the_producer_deadline(drive: Driver) -> None:
    """request_completion {"days": 5}: the producer has 5 days, reminded 1 day before."""
    code = drive.reach("1489", "ip_check")
    drive.world.fire(code, "request_completion", "ip", {"days": 5}, "certificate copy unreadable")
    c = clocks(drive.world, code)
    assert c["completion"] == at(2025, 9, 6, 9, 0)
    assert "completion_reminder_7" not in c and c["completion_reminder_1"] == at(2025, 9, 5, 9, 0)


@pytest.mark.parametrize(("version", "state", "kind", "due"), [
    ("1489", "registered", "review_start", at(2025, 9, 16, 9, 0)),
    ("1489", "commune_prescore", "commune_prescore", at(2025, 9, 23, 9, 0)),
    ("148", "district_review", "district_review", at(2025, 10, 14, 9, 0)),
    ("1489", "ip_check", "ip_check", at(2025, 9, 23, 9, 0)),
    ("1489", "city_rating", "city_rating", at(2025, 11, 4, 9, 0)),
    ("1489", "central_review", "central_review", at(2025, 12, 30, 9, 0)),
])
def test_each_state_opens_its_office_clock(drive: Driver, version: str, state: str, kind: str,
                                          due: datetime) -> None:
    """Defaults of §6 from Mon 1 Sep 2025 09:00 (1 and 2 Sep are National Day holidays):
    10, 15, 30, 15, 45 working days; central review 120 calendar days."""
    code = drive.reach(version, state)
    assert clocks(drive.world, code)[kind] == due
