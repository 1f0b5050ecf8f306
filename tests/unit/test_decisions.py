"""Certificates as legal acts (DOMAIN.md §9): a certificate is in force from its People's
Committee decision — number, date, issuing body — for 36 months from the decision's date; one
entered without it is *pending*, never valid, until ``record_decision``; the notices and the
expiry count from the decision's date."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from tests.support import START, World, make_app, record_intact
from tests.unit.lifecycle_support import Driver, case_row, certs, refusal, scores
from workflow.bootstrap import App
from workflow.clock import FixedClock, local
from workflow.domain import certificates
from workflow.errors import GuardFailed, InvalidInput
from workflow.record import verify
from workflow.store import queries
from workflow.store.schema import certificates as certificate_rows
from workflow.store.schema import deadlines
from workflow.sweep import Sweeper
from workflow.web.api.public import certificate_check

TODAY = START.date()


@pytest.fixture
def app(clock: FixedClock) -> Iterator[App]:
    app = make_app("sqlite://", clock)
    yield app
    app.close()


@pytest.fixture
def world(app: App) -> World:
    return World(app)


def pending_case(world: World) -> str:
    """A 1489 case certified by the city (4★) with no decision recorded yet."""
    return Driver(world).reach("1489", "certified", pending=True)


def cert_clocks(world: World, code: str) -> dict[str, object]:
    case_id = case_row(world.app, code)["id"]
    with world.app.db.connect() as conn:
        return {r.kind: r.due_at for r in conn.execute(select(deadlines).where(
            deadlines.c.case_id == case_id, deadlines.c.status == "open",
            deadlines.c.kind.in_(("cert_notice_90", "cert_notice_30", "cert_expiry"))))}


def producer_notices(world: World, code: str) -> list[dict[str, object]]:
    with world.app.db.connect() as conn:
        return [m for m in queries.list_outbox(conn, code) if m["channel"] == "email"]


def decision(day: date, number: str = "2786/QĐ-UBND") -> dict[str, str]:
    return {"number": number, "date": day.isoformat(), "body": "UBND thành phố Hà Nội"}


def test_a_certificate_entered_without_its_decision_is_pending_and_never_valid(
        world: World) -> None:
    """No validity, no notices, no expiry; /verify says it is not valid and why; the record
    verifies (the pending certificate is signed and replayed like any other)."""
    code = pending_case(world)
    (cert,) = certs(world, code)
    assert (cert["status"], cert["valid_to"], cert["decision_date"]) == ("pending", None, None)
    assert cert["issued_on"] == TODAY  # the day the council scored
    assert cert_clocks(world, code) == {}
    check = certificate_check(world.app, cert["number"])
    assert (check["status"], check["valid_today"], check["valid_to"]) == ("pending", False, None)
    assert check["authentic"] is True
    notice = producer_notices(world, code)[-1]["payload"]
    assert notice["certificate"]["status"] == "pending"
    record_intact(world.app)


def test_a_decision_dated_before_its_entry_runs_the_36_months_and_notices_from_its_date(
        world: World) -> None:
    """The office records, ten days after the council scored, a decision dated two days after
    the score: validity to the day before the decision's date 36 months on; the 90- and
    statutory 30-day notices (scheduled with their margin) and the expiry count from it; the
    producer is told, with the decision; /verify shows it valid with the decision."""
    code = pending_case(world)
    world.clock.advance(days=10)
    decided_on = TODAY + timedelta(days=2)
    applied = world.fire(code, "record_decision", "city", decision(decided_on))
    assert (applied.from_state, applied.to_state) == ("certified", "certified")
    (cert,) = certs(world, code)
    last_day = certificates.valid_to(decided_on)
    assert (cert["status"], cert["decision_date"], cert["valid_to"]) == (
        "valid", decided_on, last_day)
    assert last_day == date(2028, 9, 2)
    end = certificates.expires_at(last_day)
    assert cert_clocks(world, code) == {
        "cert_notice_90": end - timedelta(days=90),
        "cert_notice_30": end - timedelta(days=30 + certificates.NOTICE_MARGIN_DAYS),
        "cert_expiry": end}
    notice = producer_notices(world, code)[-1]["payload"]
    assert notice["trigger"] == "record_decision"
    assert notice["certificate"]["decision"] == {
        "number": "2786/QĐ-UBND", "date": decided_on.isoformat(),
        "body": "UBND thành phố Hà Nội"}
    check = certificate_check(world.app, cert["number"])
    assert (check["status"], check["valid_today"], check["valid_to"]) == (
        "valid", True, last_day.isoformat())
    assert check["decision"]["date"] == decided_on.isoformat()
    record_intact(world.app)


def test_a_decision_may_come_with_the_score_dated_after_the_council_sat(world: World) -> None:
    """The city officer enters, today, a council score given five days ago and the decision
    taken three days ago: in force from the decision's date, not from today's entry."""
    world.decide_at_once = False
    code = Driver(world).reach("1489", "city_rating")
    sat, decided_on = TODAY - timedelta(days=5), TODAY - timedelta(days=3)
    world.fire(code, "record_city_score", "city", {
        **scores("1489", 80), "scored_on": sat.isoformat(), "decision": decision(decided_on)})
    (cert,) = certs(world, code)
    assert (cert["issued_on"], cert["decision_date"], cert["valid_to"]) == (
        sat, decided_on, certificates.valid_to(decided_on))
    record_intact(world.app)


@pytest.mark.parametrize(("day", "error"), [
    (TODAY - timedelta(days=1), "decision_before_score"),
    (TODAY + timedelta(days=1), "decision_date_future"),
])
def test_a_decision_before_the_score_or_in_the_future_is_refused(
        world: World, day: date, error: str) -> None:
    code = pending_case(world)
    failure = refusal(world.app, code, InvalidInput, lambda: world.fire(
        code, "record_decision", "city", decision(day)))
    assert failure.code == error
    assert certs(world, code)[0]["status"] == "pending"


def test_a_malformed_decision_date_is_refused_with_a_sentence(world: World) -> None:
    code = pending_case(world)
    failure = refusal(world.app, code, InvalidInput, lambda: world.fire(
        code, "record_decision", "city", {**decision(TODAY), "date": "31/02/2025"}))
    assert failure.code == "decision_date_invalid" and "YYYY-MM-DD" in failure.message


def test_a_decision_for_a_case_with_no_pending_certificate_is_refused(world: World) -> None:
    code = Driver(world).reach("1489", "certified")  # decided with its score
    failure = refusal(world.app, code, GuardFailed, lambda: world.fire(
        code, "record_decision", "city", decision(TODAY)))
    assert failure.code == "no_pending_certificate"


def test_a_decision_with_a_score_that_certifies_nothing_is_refused(world: World) -> None:
    """A decision given with a score that ends in a rejection would be lost: refused, and
    nothing is written."""
    world.decide_at_once = False
    code = Driver(world).reach("1489", "city_rating")
    failure = refusal(world.app, code, InvalidInput, lambda: world.fire(
        code, "record_city_score", "city", {**scores("1489", 40),
                                            "decision": decision(TODAY)}))
    assert failure.code == "decision_without_certificate"


def recertified_pending(drive: Driver, code: str) -> None:
    """A 1489 case in re-evaluation scored again to a new certificate entered without its
    decision (pending)."""
    drive.world.decide_at_once = False
    for trigger, source, dest in [("start_review", "reevaluation", "commune_prescore"),
                                  ("record_commune_prescore", "commune_prescore", "ip_check"),
                                  ("verify_ip", "ip_check", "city_rating"),
                                  ("record_city_score", "city_rating", "certified")]:
        drive.step(code, "1489", trigger, source, dest)


def test_a_re_evaluated_product_keeps_its_certificate_until_the_new_decision(
        world: World) -> None:
    """A re-evaluation ends in a new certificate entered without its decision: the old one
    stays in force (with its clocks) until the decision, which supersedes it."""
    drive = Driver(world)
    code = drive.reach("1489", "certified")
    old = certs(world, code)[0]
    world.fire(code, "open_reevaluation", "city", {"reason": "expiry"})
    recertified_pending(drive, code)
    first, second = certs(world, code)
    assert (first["number"], first["status"], second["status"]) == (
        old["number"], "valid", "pending")
    assert set(cert_clocks(world, code)) == {"cert_notice_90", "cert_notice_30", "cert_expiry"}
    world.clock.advance(days=7)
    world.fire(code, "record_decision", "city", {**decision(local(world.clock.now()).date()),
                                                 "certificate": second["number"]})
    first, second = certs(world, code)
    assert (first["status"], second["status"]) == ("superseded", "valid")
    with world.app.db.connect() as conn:
        history = queries.case_view(conn, code)["history"]
    assert history[-1]["data"]["certificate_superseded"] == first["number"]
    record_intact(world.app)


def test_a_pending_certificate_set_valid_in_the_database_is_caught(world: World) -> None:
    """Someone with database access marks a pending certificate valid and gives it dates: the
    replay of its case's chain disagrees, and /verify says it is not authentic."""
    code = pending_case(world)
    number = certs(world, code)[0]["number"]
    with world.app.db.begin() as conn:
        conn.execute(update(certificate_rows).where(certificate_rows.c.number == number)
                     .values(status="valid", valid_to=date(2028, 9, 1),
                             decision_date=TODAY))
    report, _ = verify(world.app)
    assert not report.ok and report.first_break is not None
    assert report.first_break.case_code == code
    assert certificate_check(world.app, number)["authentic"] is False


def test_the_old_certificate_ends_at_its_date_while_the_new_one_waits_for_its_decision(
        world: World) -> None:
    """A product re-evaluated late: its new certificate is still pending when the old one's
    36 months run out. The sweep expires the old certificate (audited) and leaves the case
    certified, so the decision can still be recorded; the product is then valid again."""
    drive = Driver(world)
    code = drive.reach("1489", "certified")
    world.clock.advance(days=3 * 365 - 60)
    world.fire(code, "open_reevaluation", "city", {"reason": "expiry"})
    recertified_pending(drive, code)
    world.clock.advance(days=70)
    Sweeper(world.app.engine).run()
    old, new = certs(world, code)
    assert (old["status"], new["status"]) == ("expired", "pending")
    assert case_row(world.app, code)["state"] == "certified"
    with world.app.db.connect() as conn:
        trail = [h["trigger"] for h in queries.case_view(conn, code)["history"]]
    assert trail[-1] == "expire_certificate"
    world.fire(code, "record_decision", "city", decision(local(world.clock.now()).date()))
    assert certs(world, code)[1]["status"] == "valid"
    record_intact(world.app)
