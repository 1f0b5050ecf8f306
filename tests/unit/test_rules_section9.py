"""The rules DOMAIN.md §2 and §9 correct: who pins a rule version and when the pin lifts, a
certificate's fate when its re-evaluation ends badly, ``revoke`` wherever a valid certificate is
held, every certificate status change audited, potential 5★ shown as 4★, the re-evaluation
clock, the 1048→148 group mapping and the trademark holder's normalised name."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.support import World, record_intact
from tests.unit.lifecycle_support import (
    DISTRICT_STAGE,
    PRODUCER1_NAME,
    Driver,
    case_row,
    certs,
    refused,
    scores,
    view,
)
from workflow import registry
from workflow.domain.certificates import expires_at
from workflow.domain.holders import holder_key
from workflow.errors import Forbidden, GuardFailed, InvalidInput
from workflow.i18n import label
from workflow.store.audit import verify
from workflow.store.db import write_transaction
from workflow.store.queries import allowed
from workflow.store.schema import audit_entries, deadlines, outbox
from workflow.sweep import Sweeper

IP = {"certificate_no": "4-0123456", "registered_on": "2021-05-17"}


def reopen_and_fail(drive: Driver, reason: str, end: str) -> str:
    """A certified 1489 case re-opened for ``reason``, then rejected at the commune pre-score
    or withdrawn by its producer."""
    world = drive.world
    code = drive.reach("1489", "certified")
    world.fire(code, "open_reevaluation", "city", {"reason": reason})
    world.fire(code, "start_review", "commune1")
    if end == "rejected":
        world.fire(code, "record_commune_prescore", "commune1", {"criteria": {
            "origin": True, "local_labour": True, "idea": False, "cultural_identity": True}})
    else:
        world.fire(code, "withdraw", "producer1")
    return code


# ---- §2: pinning a rule version ------------------------------------------------------------

@pytest.mark.parametrize("user", ["producer1", "commune1", "district1"])
def test_only_staff_may_pin_a_rule_version(drive: Driver, user: str) -> None:
    """A producer (or a commune or district officer) asking for ``--rules`` is refused with a
    sentence saying who may; nothing is written."""
    world = drive.world
    actor = world.actors[user]

    def register() -> str:
        with write_transaction(world.app.db) as conn:
            return registry.register_case(conn, world.clock.now(), actor, registry.Registration(
                world.p1, "Tương bần", "food", None, "1048"), public_url="")
    message = refused(world.app, None, Forbidden, register)
    assert label("role", "city_officer", "en") in message


@pytest.mark.parametrize("user", ["city", "system"])
def test_staff_pin_a_rule_version(drive: Driver, user: str) -> None:
    """The city officer, and the system importing historic dossiers, may pin the version."""
    world = drive.world
    with write_transaction(world.app.db) as conn:
        code = registry.register_case(conn, world.clock.now(), world.actors[user],
                                      registry.Registration(world.p1, "Tương bần",
                                                            "fabric_garment", None, "1048"),
                                      public_url="")
    row = case_row(world.app, code)
    assert (row["rule_version"], row["rules_pinned"]) == ("1048", True)


def test_the_pin_lifts_at_reevaluation_and_the_groups_are_mapped(drive: Driver) -> None:
    """A 1048-pinned case re-opened in 2025 is evaluated under 1489 (the date's version): the
    pin is lifted when the re-evaluation opens, and its 1048 group reads as its 148 group."""
    world = drive.world
    code = world.register(group="fabric_garment", rules="1048")
    for trigger, who, data in [("submit", "producer1", {"documents": [
            "registration_form", "business_plan", "product_standard"]}),
            ("start_review", DISTRICT_STAGE, {}),
            ("record_district_score", DISTRICT_STAGE, scores("1048", 80)),
            ("record_city_score", "city", scores("1048", 80))]:
        world.fire(code, trigger, who, data)
    assert case_row(world.app, code)["state"] == "certified"
    world.fire(code, "open_reevaluation", "city", {"reason": "criteria_change"})
    assert case_row(world.app, code)["rules_pinned"] is False
    applied = world.fire(code, "start_review", "commune1")
    row = case_row(world.app, code)
    assert (applied.to_state, row["rule_version"], row["product_group"]) == (
        "commune_prescore", "1489", "handicraft")
    last = view(world, code)["history"][-1]["data"]
    assert last["group_mapped"] == {"from": "fabric_garment", "to": "handicraft"}


# ---- §9: a certificate's fate when the re-evaluation ends badly -----------------------------

@pytest.mark.parametrize("end", ["rejected", "withdrawn"])
@pytest.mark.parametrize("reason", ["expiry", "criteria_change", "inspection"])
def test_a_failed_reevaluation_revokes_the_old_certificate(drive: Driver, reason: str,
                                                           end: str) -> None:
    """Opened for expiry, criteria change or inspection: ending rejected or withdrawn revokes
    the old certificate in the same transaction, named with the reason in the audit entry."""
    code = reopen_and_fail(drive, reason, end)
    (cert,) = certs(drive.world, code)
    assert (view(drive.world, code)["state"], cert["status"]) == (end, "revoked")
    last = view(drive.world, code)["history"][-1]
    assert last["data"]["certificate_revoked"] == {"number": cert["number"], "reason": reason}
    assert case_row(drive.world.app, code)["reevaluation_reason"] is None


@pytest.mark.parametrize("end", ["rejected", "withdrawn"])
def test_a_failed_upgrade_keeps_the_old_certificate_valid(drive: Driver, end: str) -> None:
    """Opened for an upgrade: the old certificate stays valid to its date."""
    code = reopen_and_fail(drive, "upgrade", end)
    (cert,) = certs(drive.world, code)
    assert cert["status"] == "valid"
    assert view(drive.world, code)["history"][-1]["data"]["certificate_kept"]["number"] == \
        cert["number"]


def test_revoke_reaches_a_final_case_that_still_holds_a_valid_certificate(
        drive: Driver) -> None:
    """A rejected upgrade keeps its certificate: the city officer can still revoke it."""
    code = reopen_and_fail(drive, "upgrade", "rejected")
    applied = drive.world.fire(code, "revoke", "city", {"reason_code": "violation"})
    assert applied.to_state == "revoked"
    assert [c["status"] for c in certs(drive.world, code)] == ["revoked"]


def test_revoke_is_refused_where_no_valid_certificate_is_held(drive: Driver) -> None:
    """A rejected case whose certificate was already revoked has nothing left to revoke."""
    code = reopen_and_fail(drive, "expiry", "rejected")
    message = refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
        code, "revoke", "city", {"reason_code": "violation"}))
    assert "no valid certificate" in message


def offered(drive: Driver, code: str, who: str) -> dict[str, dict[str, Any]]:
    world = drive.world
    with world.app.db.connect() as conn:
        rows = allowed(conn, code, world.actors[who], world.clock.now())
    return {r["trigger"]: r for r in rows}


def test_revoke_is_offered_only_where_a_valid_certificate_is_held(drive: Driver) -> None:
    """The "what may I do" view agrees with the guard: a rejected upgrade still offers revoke;
    a case whose certificate is gone, or a first evaluation, does not, and says why."""
    kept = reopen_and_fail(drive, "upgrade", "rejected")
    gone = reopen_and_fail(drive, "expiry", "rejected")
    first = drive.reach("1489", "city_rating")
    assert offered(drive, kept, "city")["revoke"]["allowed"]
    for code in (gone, first):
        revoke = offered(drive, code, "city")["revoke"]
        assert not revoke["allowed"] and revoke["why_code"] == "hint_no_valid_certificate"


def test_the_sweep_expires_a_kept_certificate_with_an_audit_entry(world: World) -> None:
    """At its date the certificate of a rejected case expires through the engine: an audit
    entry of its case (``expire_certificate``), the case not moved, the chain intact."""
    code = reopen_and_fail(Driver(world), "upgrade", "rejected")
    (cert,) = certs(world, code)
    world.clock.set(world.clock.now() + timedelta(days=3 * 366 + 2))
    counts = dict(Sweeper(world.app.engine, world.app.relay).run())
    assert counts.get("certificate_expired") == 1
    assert [c["status"] for c in certs(world, code)] == ["expired"]
    last = view(world, code)["history"][-1]
    assert (last["trigger"], last["from"], last["to"], last["data"]["certificate"]) == (
        "expire_certificate", "rejected", "rejected", cert["number"])
    with world.app.db.connect() as conn:
        assert verify(conn, code).ok
    record_intact(world.app, code)


# ---- potential 5★, the re-evaluation clock ---------------------------------------------------

def test_central_review_shows_4_stars_proposed_for_5(drive: Driver) -> None:
    """During central review the case and its notice say 4★ (proposed for 5★), never 5★."""
    code = drive.reach("1489", "city_rating")
    drive.world.fire(code, "record_city_score", "city", scores("1489", 95))
    v = view(drive.world, code)
    assert (v["state"], v["stars"], v["proposed_stars"], v["certificate"]["stars"]) == (
        "central_review", 4, 5, 4)
    with drive.world.app.db.connect() as conn:
        payloads = [r.payload for r in conn.execute(
            select(outbox.c.payload).where(outbox.c.case_id == case_row(
                drive.world.app, code)["id"]).order_by(outbox.c.id.desc()).limit(1))]
    assert payloads[0]["stars"] == 4
    drive.world.fire(code, "record_central_result", "city",
                     {"passed": True, "decision_no": "QĐ-9/BNN"})
    v = view(drive.world, code)
    assert (v["stars"], v["proposed_stars"]) == (5, None)


def test_reevaluation_has_its_own_clock_escalated_like_the_others(world: World) -> None:
    """Re-opening starts a 30-working-day clock to ``start_review``; once past, the sweep
    escalates it (an audit entry and a message to the supervisor)."""
    code = Driver(world).reach("1489", "certified")
    world.fire(code, "open_reevaluation", "city", {"reason": "inspection"})
    case_id = case_row(world.app, code)["id"]
    with world.app.db.connect() as conn:
        (due,) = conn.execute(select(deadlines.c.due_at).where(
            deadlines.c.case_id == case_id, deadlines.c.kind == "reevaluation",
            deadlines.c.status == "open")).scalars()
    assert timedelta(days=40) <= due - world.clock.now() <= timedelta(days=50)
    world.clock.set(due + timedelta(hours=1))
    assert dict(Sweeper(world.app.engine, world.app.relay).run()).get("escalated") == 1
    last = view(world, code)["history"][-1]
    assert (last["trigger"], last["data"]["deadline"]) == ("escalate", "reevaluation")


# ---- the statutory notice --------------------------------------------------------------------

def notices(world: World, code: str) -> list[tuple[str, str | None]]:
    case_id = case_row(world.app, code)["id"]
    with world.app.db.connect() as conn:
        return [(r.kind, r.recipient) for r in conn.execute(
            select(outbox.c.kind, outbox.c.recipient).where(outbox.c.case_id == case_id)
            .order_by(outbox.c.id))]


@pytest.mark.parametrize(("before_expiry", "outcome"), [(31, "noticed"), (29, "notice_late")])
def test_the_30_day_notice_is_early_enough_and_never_skipped_in_silence(
        world: World, before_expiry: int, outcome: str) -> None:
    """Due 33 days before expiry, a sweep days late still notices in time; one later than 30
    days still goes to the producer and is escalated to the supervisor."""
    code = Driver(world).reach("1489", "certified")
    (cert,) = certs(world, code)
    end = expires_at(cert["valid_to"])
    world.clock.set(end - timedelta(days=90))
    assert dict(Sweeper(world.app.engine, world.app.relay).run()).get("noticed") == 1
    world.clock.set(end - timedelta(days=before_expiry))
    counts = dict(Sweeper(world.app.engine, world.app.relay).run())
    assert counts.get(outcome) == 1
    sent = notices(world, code)
    assert ("certificate_notice", "p1@example.vn") in sent
    assert (("escalation", "role:supervisor") in sent) == (outcome == "notice_late")


# ---- the trademark holder -------------------------------------------------------------------

@pytest.mark.parametrize("holder", [PRODUCER1_NAME, "Hợp tác xã Tương Cự Đà",
                                    "  htx   TƯƠNG CỰ ĐÀ ", "H.T.X Tương Cự Đà"])
def test_the_holder_matches_the_producer_after_normalisation(drive: Driver,
                                                             holder: str) -> None:
    """NFC, case, spacing and the usual abbreviations (HTX = Hợp tác xã) do not matter."""
    code = drive.reach("1489", "ip_check")
    if holder == "H.T.X Tương Cự Đà":
        message = refused(drive.world.app, code, GuardFailed, lambda: drive.world.fire(
            code, "verify_ip", "ip", {**IP, "holder": holder}))
        assert "held by" in message
        return
    assert drive.world.fire(code, "verify_ip", "ip", {**IP, "holder": holder}).to_state == \
        "city_rating"


def test_company_abbreviations_read_as_their_words() -> None:
    """Cty/Công ty, TNHH, CP, MTV compare equal to the words they stand for."""
    assert holder_key("Cty TNHH MTV Sen Tây Hồ") == holder_key(
        "Công ty Trách nhiệm hữu hạn Một thành viên Sen Tây Hồ")
    assert holder_key("CÔNG TY CP Nông sản") == holder_key("Cty Cổ phần Nông sản")
    assert holder_key("Cty Sen") != holder_key("Cty Sen Vàng")


@pytest.mark.parametrize("relation", ["licensee", "collective_member"])
def test_a_licensee_or_collective_member_needs_the_document(drive: Driver,
                                                            relation: str) -> None:
    """Another holder is accepted with ``holder_relation`` and the licence or membership
    document; without the document it is refused with a sentence and nothing changes."""
    code = drive.reach("1489", "ip_check")
    data = {**IP, "holder": "Hội Nông dân xã Cự Khê", "holder_relation": relation}
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "verify_ip", "ip", data))
    assert "holder_document" in message
    applied = drive.world.fire(code, "verify_ip", "ip", {**data, "holder_document": "HĐ-12"})
    assert applied.to_state == "city_rating"


def test_an_unknown_holder_relation_is_refused(drive: Driver) -> None:
    """Only owner, licensee and collective_member are relations."""
    code = drive.reach("1489", "ip_check")
    message = refused(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, "verify_ip", "ip", {**IP, "holder": PRODUCER1_NAME, "holder_relation": "x"}))
    assert "licensee" in message


def test_every_certificate_status_change_is_an_audit_entry(world: World) -> None:
    """Issue, supersede, revoke and expire each appear in the case's audit trail."""
    code = reopen_and_fail(Driver(world), "upgrade", "rejected")
    world.fire(code, "revoke", "city", {"reason_code": "violation"})
    case_id = case_row(world.app, code)["id"]
    with world.app.db.connect() as conn:
        datas = [json.loads(d) for d in conn.execute(select(audit_entries.c.data).where(
            audit_entries.c.case_id == case_id).order_by(audit_entries.c.seq)).scalars()]
    (cert,) = certs(world, code)
    assert sum(1 for d in datas if d.get("certificate") == cert["number"]) == 2  # issue, revoke


def test_a_new_certificate_names_the_one_it_supersedes(drive: Driver) -> None:
    """The central 5★ supersedes the city 4★: the entry that issues it names both."""
    code = drive.reach("1489", "central_review")
    (city,) = certs(drive.world, code)
    drive.world.fire(code, "record_central_result", "city",
                     {"passed": True, "decision_no": "QĐ-9/BNN"})
    last = view(drive.world, code)["history"][-1]["data"]
    assert last["certificate_superseded"] == city["number"]
    assert [c["status"] for c in certs(drive.world, code)] == ["superseded", "valid"]
