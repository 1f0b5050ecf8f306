"""The deadline sweep: escalations, reminders, withdrawal, certificate notices and expiry, each
fired exactly once, on a clock the test moves (no sleeping)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tests.support import DOCS, START, World, make_app, sim_sheets
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock
from workflow.domain import certificates
from workflow.store import queries
from workflow.store.schema import audit_entries, cases, deadlines, outbox
from workflow.store.schema import certificates as certs
from workflow.sweep import Sweeper

CRITERIA = {"criteria": {"origin": True, "local_labour": True, "idea": True,
                         "cultural_identity": True}}
TRADEMARK = {"certificate_no": "VN-4-0123456", "holder": "HTX Tương Cự Đà",
             "registered_on": "2021-05-17"}


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=VIETNAM)


@pytest.fixture
def staffed(clock: FixedClock) -> Iterator[App]:
    """An app whose escalations also go by e-mail: level 1, then level 2 one level up."""
    app = make_app("sqlite://", clock, supervisor_emails=("sup@hanoi.vn", "director@hanoi.vn"),
                   city_officer_email="city@hanoi.vn")
    yield app
    app.close()


def sweep(world: World) -> dict[str, int]:
    return dict(Sweeper(world.app.engine, world.app.relay).run())


def escalations(world: World, code: str) -> list[tuple[str, dict[str, Any], str]]:
    with world.app.db.connect() as conn:
        rows = conn.execute(select(audit_entries.c.actor, audit_entries.c.data,
                                   audit_entries.c.to_state)
                            .join(cases, cases.c.id == audit_entries.c.case_id)
                            .where(cases.c.code == code, audit_entries.c.trigger == "escalate")
                            .order_by(audit_entries.c.seq))
        return [(r.actor, json.loads(r.data), r.to_state) for r in rows]


def messages(world: World, kind: str) -> list[dict[str, Any]]:
    with world.app.db.connect() as conn:
        rows = conn.execute(select(outbox).where(outbox.c.kind == kind).order_by(outbox.c.id))
        return [dict(r._mapping) for r in rows]


def state_of(world: World, code: str) -> str:
    with world.app.db.connect() as conn:
        return str(conn.execute(select(cases.c.state).where(cases.c.code == code)).scalar_one())


def submitted(world: World) -> str:
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    return code


def certified(world: World, sheets: tuple[float, float, float] = (35, 22, 28)) -> str:
    code = submitted(world)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "record_commune_prescore", "commune1", CRITERIA)
    world.fire(code, "verify_ip", "ip", TRADEMARK)
    world.fire(code, "record_city_score", "city", sim_sheets(sheets))
    return code


def test_nothing_due_changes_nothing(world: World) -> None:
    """A sweep with nothing due fires nothing and writes no message."""
    submitted(world)
    assert sweep(world) == {}
    assert messages(world, "escalation") == []


def test_an_overdue_review_start_escalates_once_to_the_supervisor(world: World) -> None:
    """Registered on 1 September (a holiday): 10 working days run out on 16 September, 09:00;
    the sweep records an `escalate` by the system and notifies the supervisor, once."""
    code = submitted(world)
    world.clock.set(at(2025, 9, 16, 8, 59))
    assert sweep(world) == {}
    world.clock.set(at(2025, 9, 16, 9, 0))
    assert sweep(world) == {"escalated": 1}
    assert sweep(world) == {}
    (actor, data, state), = escalations(world, code)
    assert (actor, state) == ("system", "registered")
    assert data == {"deadline": "review_start", "level": 1}
    (note,) = messages(world, "escalation")
    assert (note["channel"], note["recipient"], note["payload"]["level"]) == \
        ("inapp", "role:supervisor", 1)


def test_an_escalated_case_stays_overdue_in_lists_and_metrics(world: World) -> None:
    """Escalating moves the clock's due time on to the next level's date; the case is still
    overdue: first in the inbox order, in ``--overdue`` lists and in the overdue gauge."""
    late, fresh = submitted(world), None
    world.clock.set(at(2025, 9, 16, 9, 0))
    assert sweep(world) == {"escalated": 1}
    fresh = submitted(world)
    now = world.clock.now()
    with world.app.db.connect() as conn:
        rows = queries.list_cases(conn, now)
        assert [(r["code"], r["overdue"]) for r in rows] == [(late, True), (fresh, False)]
        assert [r["code"] for r in queries.list_cases(conn, now, overdue=True)] == [late]
        assert queries.overdue_count(conn, now) == 1


def test_an_unresolved_escalation_goes_one_level_up_after_five_more_working_days(
        staffed: App) -> None:
    """Level 1 on Tuesday 16 September; five working days later (23 September) level 2, by
    e-mail to the next address up."""
    world = World(staffed)
    code = submitted(world)
    world.clock.set(at(2025, 9, 16, 9))
    sweep(world)
    world.clock.set(at(2025, 9, 23, 8, 59))
    assert sweep(world) == {}
    world.clock.set(at(2025, 9, 23, 9))
    assert sweep(world) == {"escalated": 1}
    assert [d["level"] for _, d, _ in escalations(world, code)] == [1, 2]
    mails = [(m["recipient"], m["payload"]["level"])
             for m in messages(world, "escalation") if m["channel"] == "email"]
    assert mails == [("sup@hanoi.vn", 1), ("director@hanoi.vn", 2)]


def test_a_deadline_closed_by_a_transition_never_fires(world: World) -> None:
    """The review started in time: the review_start clock is cancelled and stays silent."""
    code = submitted(world)
    world.fire(code, "start_review", "commune1")
    world.clock.set(at(2025, 9, 17, 9))
    assert sweep(world) == {}
    assert escalations(world, code) == []


def completion_case(world: World, days: int = 30) -> str:
    code = submitted(world)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "request_completion", "commune1", {"days": days}, reason="thiếu giấy")
    return code


def test_the_producer_is_reminded_7_and_1_days_before_and_withdrawn_at_the_deadline(
        world: World) -> None:
    """Completion asked on 1 September for 30 days: reminders on 24 and 30 September, and the
    system withdraws the case on 1 October at the same hour."""
    code = completion_case(world)
    world.clock.set(START + timedelta(days=23))
    assert sweep(world) == {"reminded": 1}
    assert sweep(world) == {}
    world.clock.set(START + timedelta(days=29))
    assert sweep(world) == {"reminded": 1}
    world.clock.set(START + timedelta(days=30))
    assert sweep(world) == {"withdrawn": 1}
    assert state_of(world, code) == "withdrawn"
    days = [(m["channel"], m["payload"]["days_left"])
            for m in messages(world, "completion_reminder")]
    assert days == [("inapp", 7), ("email", 7), ("inapp", 1), ("email", 1)]
    assert sweep(world) == {}


def test_after_downtime_every_due_deadline_fires_once_and_stale_reminders_stay_silent(
        world: World) -> None:
    """Down from before the 7-day reminder until after the deadline: on start the case is
    withdrawn once and no reminder of a deadline already passed is sent; an overdue review
    escalates once."""
    late = completion_case(world)
    waiting = submitted(world)
    world.clock.set(START + timedelta(days=33))
    assert sweep(world) == {"skipped": 2, "withdrawn": 1, "escalated": 1}
    assert sweep(world) == {}
    assert state_of(world, late) == "withdrawn"
    assert messages(world, "completion_reminder") == []
    assert len(escalations(world, waiting)) == 1


def test_the_certificate_holder_is_told_90_and_30_days_before_and_it_expires_on_time(
        world: World) -> None:
    """A 4★ certificate issued on 1 September 2025 is valid until 31 August 2028: notices on
    2 June and 1 August 2028, and `expire` at midnight after its last day."""
    code = certified(world)
    end = certificates.expires_at(certificates.valid_to(START.date()))
    assert end == at(2028, 9, 1, 0)
    world.clock.set(end - timedelta(days=90))
    assert sweep(world) == {"noticed": 1}
    world.clock.set(end - timedelta(days=30))
    assert sweep(world) == {"noticed": 1}
    world.clock.set(end - timedelta(seconds=1))
    assert sweep(world) == {}
    world.clock.set(end)
    assert sweep(world) == {"expired": 1}
    assert state_of(world, code) == "expired"
    notices = [m["payload"]["days_left"] for m in messages(world, "certificate_notice")
               if m["channel"] == "inapp"]
    assert notices == [90, 30]


def test_a_central_review_breach_reminds_the_city_officer(staffed: App) -> None:
    """120 days after a potential 5★ went to the ministry, the city officer is reminded, in-app
    and by e-mail, and the reminder is audited as a system escalation."""
    world = World(staffed)
    code = certified(world, (38, 24, 33))
    assert state_of(world, code) == "central_review"
    world.clock.set(START + timedelta(days=120))
    assert sweep(world) == {"reminded_officer": 1}
    assert [(m["channel"], m["recipient"]) for m in messages(world, "reminder")] == [
        ("inapp", "role:city_officer"), ("email", "city@hanoi.vn")]
    assert len(escalations(world, code)) == 1


def test_two_sweeps_at_once_fire_each_deadline_once(tmp_path: Path, clock: FixedClock) -> None:
    """Two sweeps on one SQLite file at the same moment: BEGIN IMMEDIATE serialises them."""
    app = make_app(f"sqlite:///{tmp_path / 'ocop.db'}", clock)
    world = World(app)
    codes = [submitted(world) for _ in range(20)]
    clock.set(at(2025, 9, 16, 9))
    results: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: results.append(sweep(world))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.get("escalated", 0) for r in results) == 20
    assert all(len(escalations(world, c)) == 1 for c in codes)
    with app.db.connect() as conn:
        levels = conn.execute(select(deadlines.c.level).where(deadlines.c.status == "open"))
        assert {lvl for (lvl,) in levels} == {1}
    app.close()


@pytest.mark.parametrize("ending", ["withdrawn", "in_review"])
def test_a_certificate_whose_case_left_certification_still_expires_on_time(
        world: World, ending: str) -> None:
    """A re-evaluation started and the case was then withdrawn (or is still in review) when
    the certificate's validity ends: the case takes no `expire`, but the sweep marks its
    certificate expired, closes the deadline and leaves the case where it is."""
    code = certified(world)
    world.fire(code, "open_reevaluation", "city", {"reason": "upgrade"})
    world.fire(code, "start_review", "commune1")
    if ending == "withdrawn":
        world.fire(code, "withdraw", "producer1", reason="thôi")
    state = state_of(world, code)
    end = certificates.expires_at(certificates.valid_to(START.date()))
    world.clock.set(end - timedelta(seconds=1))
    assert sweep(world).get("certificate_expired") is None
    assert certificate_statuses(world, code) == ["valid"]
    world.clock.set(end)
    assert sweep(world) == {"certificate_expired": 1}
    assert certificate_statuses(world, code) == ["expired"]
    assert state_of(world, code) == state
    assert sweep(world) == {}
    with world.app.db.connect() as conn:
        assert conn.execute(select(deadlines.c.status).join(cases).where(
            cases.c.code == code, deadlines.c.kind == "cert_expiry")).scalar_one() == "done"


def certificate_statuses(world: World, code: str) -> list[str]:
    with world.app.db.connect() as conn:
        return list(conn.execute(select(certs.c.status).join(cases).where(cases.c.code == code)
                                 .order_by(certs.c.id)).scalars())
