"""The hash-chained audit trail: an intact chain verifies; an edited, deleted or inserted entry,
a truncated tail or an edited head is found, and the first broken entry is named."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import delete, insert, select, update

from tests.support import World
from tests.unit.lifecycle_support import Driver, case_row
from workflow.store import audit
from workflow.store.schema import audit_entries, cases


@pytest.fixture
def chain(world: World) -> tuple[World, list[str]]:
    """Three cases with five, five and two entries."""
    drive = Driver(world)
    codes = [drive.reach("1489", "city_rating"), drive.reach("148", "reevaluation"),
             drive.reach("1048", "registered")]
    return world, codes


def verify(world: World, code: str | None = None) -> audit.Verification:
    with world.app.db.connect() as conn:
        return audit.verify(conn, code)


def entry_ids(world: World, code: str) -> dict[int, int]:
    case_id = case_row(world.app, code)["id"]
    with world.app.db.connect() as conn:
        return {r.seq: r.id for r in conn.execute(
            select(audit_entries.c.seq, audit_entries.c.id)
            .where(audit_entries.c.case_id == case_id))}


def test_an_intact_chain_verifies(chain: tuple[World, list[str]]) -> None:
    """Every case's chain links from genesis to the head kept on the case row."""
    world, codes = chain
    result = verify(world)
    assert result.ok and result.cases == 3 and result.entries == 5 + 5 + 2
    assert all(verify(world, code).ok for code in codes)


def test_editing_an_entrys_data_is_found_at_that_entry(chain: tuple[World, list[str]]) -> None:
    """Changing the stored data of entry 3 breaks the chain at entry 3."""
    world, codes = chain
    ids = entry_ids(world, codes[0])
    with world.app.db.begin() as conn:
        conn.execute(update(audit_entries).where(audit_entries.c.id == ids[3])
                     .values(data=json.dumps({"criteria": "forged"})))
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[0], 3)
    assert "edited" in brk.problem


@pytest.mark.parametrize(("column", "value"), [("actor", "someone"), ("role", "admin"),
                                               ("to_state", "certified"),
                                               ("reason", "after the fact")])
def test_editing_any_audited_field_is_found(chain: tuple[World, list[str]], column: str,
                                            value: str) -> None:
    """Who, which role, to which state and why are all covered by the hash."""
    world, codes = chain
    ids = entry_ids(world, codes[1])
    with world.app.db.begin() as conn:
        conn.execute(update(audit_entries).where(audit_entries.c.id == ids[2])
                     .values({column: value}))
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[1], 2)


def test_deleting_a_middle_entry_is_found_where_it_is_missing(
        chain: tuple[World, list[str]]) -> None:
    """With entry 2 of 5 deleted, entry 2 is named as missing."""
    world, codes = chain
    ids = entry_ids(world, codes[0])
    with world.app.db.begin() as conn:
        conn.execute(delete(audit_entries).where(audit_entries.c.id == ids[2]))
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[0], 2)
    assert "missing" in brk.problem


def test_deleting_the_last_entries_is_found_against_the_case_head(
        chain: tuple[World, list[str]]) -> None:
    """Truncating the trail (entries 4 and 5 of 5) leaves a chain that links but ends short of
    the head the case row keeps: entry 4 is named."""
    world, codes = chain
    ids = entry_ids(world, codes[1])
    with world.app.db.begin() as conn:
        conn.execute(delete(audit_entries).where(audit_entries.c.id.in_([ids[4], ids[5]])))
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[1], 4)
    assert "deleted" in brk.problem


def test_a_case_with_every_entry_deleted_is_found(chain: tuple[World, list[str]]) -> None:
    """An empty trail for a case that records entries breaks at entry 1."""
    world, codes = chain
    case_id = case_row(world.app, codes[2])["id"]
    with world.app.db.begin() as conn:
        conn.execute(delete(audit_entries).where(audit_entries.c.case_id == case_id))
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[2], 1)


def forged(world: World, code: str, seq: int, prev_hash: str) -> dict[str, object]:
    from datetime import datetime

    from workflow.clock import VIETNAM
    return audit.new_entry(case_row(world.app, code)["id"], code, seq, prev_hash,
                           at=datetime(2025, 9, 1, 10, tzinfo=VIETNAM), actor="mallory",
                           role="city_officer", trigger="record_city_score",
                           from_state="city_rating", to_state="certified", reason=None,
                           data={"score": 99}, rule_version="1489")


def test_appending_a_well_formed_entry_is_found_against_the_case_head(
        chain: tuple[World, list[str]]) -> None:
    """A forged entry 6 that links correctly to entry 5 is still beyond the case's head."""
    world, codes = chain
    entry = forged(world, codes[0], 6, case_row(world.app, codes[0])["audit_head"])
    with world.app.db.begin() as conn:
        conn.execute(insert(audit_entries), entry)
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[0], 6)


def test_inserting_an_entry_in_the_middle_is_found(chain: tuple[World, list[str]]) -> None:
    """Entries 3..5 are renumbered 4..6 and a forged, correctly linked entry 3 is slipped in:
    the entry after it no longer links, so entry 4 is named."""
    world, codes = chain
    ids = entry_ids(world, codes[0])
    with world.app.db.connect() as conn:
        prev = conn.execute(select(audit_entries.c.hash)
                            .where(audit_entries.c.id == ids[2])).scalar_one()
    entry = forged(world, codes[0], 3, prev)
    with world.app.db.begin() as conn:
        for seq in (5, 4, 3):
            conn.execute(update(audit_entries).where(audit_entries.c.id == ids[seq])
                         .values(seq=seq + 1))
        conn.execute(insert(audit_entries), entry)
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[0], 4)
    assert "link" in brk.problem


def test_editing_the_case_head_is_found_at_the_last_entry(
        chain: tuple[World, list[str]]) -> None:
    """A head that is not the last entry's hash names the last entry (5), not a missing 6th."""
    world, codes = chain
    with world.app.db.begin() as conn:
        conn.execute(update(cases).where(cases.c.code == codes[0]).values(audit_head="f" * 64))
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[0], 5)


def test_the_first_broken_case_is_named_when_several_are_broken(
        chain: tuple[World, list[str]]) -> None:
    """Cases are walked in order; the earliest broken one is reported."""
    world, codes = chain
    firsts = [entry_ids(world, code)[1] for code in (codes[2], codes[1])]
    with world.app.db.begin() as conn:
        conn.execute(update(audit_entries).where(audit_entries.c.id.in_(firsts))
                     .values(actor="x"))
    brk = verify(world).first_break
    assert brk is not None and (brk.case_code, brk.seq) == (codes[1], 1)
    assert verify(world, codes[0]).ok


def test_the_break_reads_as_one_sentence(chain: tuple[World, list[str]]) -> None:
    """The report names the case and the entry."""
    world, codes = chain
    ids = entry_ids(world, codes[1])
    with world.app.db.begin() as conn:
        conn.execute(update(audit_entries).where(audit_entries.c.id == ids[3])
                     .values(reason="x"))
    brk = verify(world).first_break
    assert brk is not None
    assert brk.sentence().startswith(f"Audit chain of case {codes[1]} breaks at entry 3: ")
