"""The set-based sweep path: escalations applied as one batch pass the engine's own checks,
chain each case's audit entries in order and notify the supervisor, once per escalation."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, insert, select

from tests.support import DOCS, START, World, make_app, record_intact, sim_sheets
from workflow.batch import apply_internal_batch
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock
from workflow.domain.facts import SYSTEM_ACTOR, Event
from workflow.engine import Applied
from workflow.errors import OcopError, WrongState
from workflow.store import audit
from workflow.store.db import write_transaction
from workflow.store.schema import audit_entries, cases, deadlines, outbox
from workflow.sweep import Sweeper
from workflow.sweep_set import CASES, SetSweep

CRITERIA = {"criteria": {"origin": True, "local_labour": True, "idea": True,
                         "cultural_identity": True}}
TRADEMARK = {"certificate_no": "VN-4-0123456", "holder": "HTX Tương Cự Đà",
             "registered_on": "2021-05-17"}
REVIEW_DUE = datetime(2025, 9, 16, 9, tzinfo=VIETNAM)  # 10 working days after 1 September


@pytest.fixture
def staffed(clock: FixedClock) -> Iterator[World]:
    """A world whose escalations also go by e-mail to the supervisor."""
    app = make_app("sqlite://", clock, supervisor_emails=("sup@hanoi.vn",))
    yield World(app)
    app.close()


def submitted(world: World) -> str:
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    return code


def certified(world: World) -> str:
    code = submitted(world)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "record_commune_prescore", "commune1", CRITERIA)
    world.fire(code, "verify_ip", "ip", TRADEMARK)
    world.fire(code, "record_city_score", "city", sim_sheets((35, 22, 28)))
    return code


def escalate(code: str, level: int = 1) -> Event:
    return Event(code, "escalate", SYSTEM_ACTOR, {"deadline": "review_start", "level": level})


def locked(conn: Connection, codes: list[str]) -> dict[str, dict[str, Any]]:
    """The case rows as the sweep hands them to the batch (with the producer's columns)."""
    ids = conn.execute(select(cases.c.id).where(cases.c.code.in_(codes))).scalars().all()
    return {r.code: dict(r._mapping) for r in conn.execute(CASES, {"ids": list(ids)})}


def batch(world: World, events: list[Event]) -> list[Applied | OcopError]:
    with write_transaction(world.app.db) as conn:
        return apply_internal_batch(conn, world.app.engine, events,
                                    locked(conn, [e.case_code for e in events]))


def case_row(app: App, code: str) -> Any:
    with app.db.connect() as conn:
        return conn.execute(select(cases).where(cases.c.code == code)).one()


def escalations(app: App, code: str) -> list[dict[str, Any]]:
    with app.db.connect() as conn:
        rows = conn.execute(select(audit_entries).join(cases, cases.c.id == audit_entries.c.case_id)
                            .where(cases.c.code == code, audit_entries.c.trigger == "escalate")
                            .order_by(audit_entries.c.seq))
        return [dict(r._mapping) for r in rows]


def test_the_batch_refuses_exactly_what_apply_in_refuses_and_writes_nothing_for_it(
        world: World) -> None:
    """A certified case takes no `escalate`: the batch gives the engine's own refusal, in the
    same words, and leaves that case untouched while escalating the registered one beside it."""
    waiting, done = submitted(world), certified(world)
    with pytest.raises(WrongState) as engine_says, write_transaction(world.app.db) as conn:
        world.app.engine.apply_in(conn, escalate(done))
    before = case_row(world.app, done)
    applied, refused = batch(world, [escalate(waiting), escalate(done)])
    assert isinstance(applied, Applied) and (applied.from_state, applied.to_state) == \
        ("registered", "registered")
    assert type(refused) is WrongState and str(refused) == str(engine_says.value)
    after = case_row(world.app, done)
    assert (after.version, after.audit_seq, after.audit_head) == \
        (before.version, before.audit_seq, before.audit_head)
    assert escalations(world.app, done) == []
    assert len(escalations(world.app, waiting)) == 1


def test_two_escalations_of_one_case_in_one_batch_chain_in_order(world: World) -> None:
    """Levels 1 and 2 of one case in the same batch: consecutive seqs, the second linking to the
    first, the case's head and version moved by two, and the whole chain verifies."""
    code = submitted(world)
    before = case_row(world.app, code)
    first, second = batch(world, [escalate(code, 1), escalate(code, 2)])
    assert isinstance(first, Applied) and isinstance(second, Applied)
    assert (first.seq, second.seq) == (before.audit_seq + 1, before.audit_seq + 2)
    assert (first.version, second.version) == (before.version + 1, before.version + 2)
    one, two = escalations(world.app, code)
    assert two["prev_hash"] == one["hash"] and one["prev_hash"] == before.audit_head
    assert [json.loads(e["data"])["level"] for e in (one, two)] == [1, 2]
    after = case_row(world.app, code)
    assert (after.audit_seq, after.audit_head) == (second.seq, two["hash"])
    with world.app.db.connect() as conn:
        assert audit.verify(conn).ok
    record_intact(world.app)


def test_a_batch_sweep_notifies_the_supervisor_of_every_escalation_once(
        staffed: World) -> None:
    """Five reviews fall due together: one sweep escalates all five in one batch, each with an
    in-app and an e-mail message to the supervisor that names its case and level; a second
    sweep adds nothing."""
    codes = [submitted(staffed) for _ in range(5)]
    staffed.clock.set(REVIEW_DUE)
    assert dict(Sweeper(staffed.app.engine).run()) == {"escalated": 5}
    assert dict(Sweeper(staffed.app.engine).run()) == {}
    with staffed.app.db.connect() as conn:
        notes = [dict(r._mapping) for r in conn.execute(
            select(outbox).where(outbox.c.kind == "escalation").order_by(outbox.c.id))]
        assert audit.verify(conn).ok
    record_intact(staffed.app)
    sent = {(m["payload"]["case_code"], m["channel"], m["recipient"], m["payload"]["level"])
            for m in notes}
    assert len(notes) == len(sent) == 10
    assert sent == {(c, ch, to, 1) for c in codes
                    for ch, to in (("inapp", "role:supervisor"), ("email", "sup@hanoi.vn"))}
    assert all(m["audit_seq"] == escalations(staffed.app, m["payload"]["case_code"])[0]["seq"]
               for m in notes)


def test_a_due_escalation_of_a_case_that_moved_on_is_refused_and_closed(world: World) -> None:
    """An open review clock left on a certified case: the sweep refuses its escalation as the
    engine would, closes the deadline, and writes no audit entry and no message."""
    code = certified(world)
    with write_transaction(world.app.db) as conn:
        case_id = conn.execute(select(cases.c.id).where(cases.c.code == code)).scalar_one()
        left = conn.execute(insert(deadlines).values(
            case_id=case_id, kind="review_start", state="registered", due_at=REVIEW_DUE,
            status="open", working_days=True, level=0, created_at=START).returning(deadlines.c.id)
        ).scalar_one()
    world.clock.set(REVIEW_DUE)
    assert dict(Sweeper(world.app.engine).run()) == {"refused": 1}
    assert escalations(world.app, code) == []
    with world.app.db.connect() as conn:
        assert conn.execute(select(outbox).where(outbox.c.kind == "escalation")).all() == []
        status = conn.execute(select(deadlines.c.status).where(
            deadlines.c.id == left)).scalar_one()
    assert status == "done"


def test_a_failure_in_the_batch_postpones_only_the_deadline_that_caused_it(
        world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """Should one case's escalation fail unexpectedly, the batch is retried one deadline at a
    time: the other cases are escalated and only the failing deadline waits an hour, after
    which it fires."""
    codes = [submitted(world) for _ in range(3)]
    broken = codes[1]
    notify = SetSweep._notify_staff

    def failing(self: SetSweep, d: Any, *args: Any) -> None:
        if d.code == broken:
            raise RuntimeError("template missing")
        notify(self, d, *args)

    monkeypatch.setattr(SetSweep, "_notify_staff", failing)
    world.clock.set(REVIEW_DUE)
    assert dict(Sweeper(world.app.engine).run()) == {"escalated": 2, "postponed": 1}
    assert [len(escalations(world.app, c)) for c in codes] == [1, 0, 1]
    monkeypatch.undo()
    world.clock.set(REVIEW_DUE + timedelta(minutes=59))
    assert dict(Sweeper(world.app.engine).run()) == {}
    world.clock.set(REVIEW_DUE + timedelta(hours=1))
    assert dict(Sweeper(world.app.engine).run()) == {"escalated": 1}
    assert [len(escalations(world.app, c)) for c in codes] == [1, 1, 1]
