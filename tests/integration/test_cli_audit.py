"""``ocop audit verify`` on a tampered SQLite file: an edited, deleted or inserted entry, a
truncated tail and an edited head each exit non-zero naming the case and the first broken
entry; an intact chain exits 0."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, delete, insert, select, update

from tests.integration.cli_support import (
    Ocop,
    advance,
    open_cli,
    register,
)
from tests.support import DOCS
from workflow.clock import parse_iso
from workflow.store import audit
from workflow.store.schema import audit_entries, cases

Tamper = Callable[[Connection, int, str], None]


@pytest.fixture
def ocop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Ocop:
    return open_cli(tmp_path, monkeypatch, capsys)


@pytest.fixture
def two_cases(ocop: Ocop) -> Iterator[tuple[Ocop, list[str]]]:
    """Case 1 with four entries, case 2 with two."""
    first, second = register(ocop), register(ocop)
    advance(ocop, first, "submit", "producer1", "--data", json.dumps(DOCS))
    advance(ocop, first, "start_review", "commune1")
    advance(ocop, first, "request_completion", "commune1", "--reason", "photos missing")
    advance(ocop, second, "withdraw", "producer1")
    yield ocop, [first, second]


def ids(conn: Connection, case_id: int) -> dict[int, int]:
    return {r.seq: r.id for r in conn.execute(select(audit_entries.c.seq, audit_entries.c.id)
                                              .where(audit_entries.c.case_id == case_id))}


def edit_data(conn: Connection, case_id: int, code: str) -> None:
    conn.execute(update(audit_entries).where(audit_entries.c.id == ids(conn, case_id)[2])
                 .values(data=json.dumps({"documents": ["forged"]})))


def delete_middle(conn: Connection, case_id: int, code: str) -> None:
    conn.execute(delete(audit_entries).where(audit_entries.c.id == ids(conn, case_id)[2]))


def insert_middle(conn: Connection, case_id: int, code: str) -> None:
    """A forged entry 2 linked to entry 1; the old 2..4 pushed to 3..5."""
    by_seq = ids(conn, case_id)
    prev = conn.execute(select(audit_entries.c.hash)
                        .where(audit_entries.c.id == by_seq[1])).scalar_one()
    for seq in (4, 3, 2):
        conn.execute(update(audit_entries).where(audit_entries.c.id == by_seq[seq])
                     .values(seq=seq + 1))
    conn.execute(insert(audit_entries), audit.new_entry(
        case_id, code, 2, prev, at=parse_iso("2025-09-03T09:30:00+07:00"), actor="mallory",
        role="city_officer", trigger="submit", from_state="draft", to_state="registered",
        reason=None, data={}, rule_version="1489"))


def truncate(conn: Connection, case_id: int, code: str) -> None:
    by_seq = ids(conn, case_id)
    conn.execute(delete(audit_entries).where(audit_entries.c.id.in_([by_seq[3], by_seq[4]])))


def edit_head(conn: Connection, case_id: int, code: str) -> None:
    conn.execute(update(cases).where(cases.c.id == case_id).values(audit_head="0" * 63 + "1"))


@pytest.mark.parametrize(("tamper", "seq"), [
    (edit_data, 2), (delete_middle, 2), (insert_middle, 3), (truncate, 3), (edit_head, 4)],
    ids=["edited", "deleted", "inserted", "truncated", "head-edited"])
def test_audit_verify_exits_non_zero_naming_the_first_broken_entry(
        two_cases: tuple[Ocop, list[str]], tamper: Tamper, seq: int) -> None:
    """Each kind of tampering with case 1 is found at the right entry; case 2 is intact."""
    ocop, (code, other) = two_cases
    engine = create_engine(ocop.url)
    with engine.begin() as conn:
        case_id = conn.execute(select(cases.c.id).where(cases.c.code == code)).scalar_one()
        tamper(conn, case_id, code)
    engine.dispose()
    result = ocop("audit", "verify", "--json")
    assert result.code != 0
    report = json.loads(result.out)
    assert not report["ok"]
    assert (report["first_break"]["case"], report["first_break"]["seq"]) == (code, seq)
    plain = ocop("audit", "verify")
    assert plain.code != 0
    assert f"Audit chain of case {code} breaks at entry {seq}" in plain.err
    assert ocop("audit", "verify", "--case", other).code == 0


def test_audit_verify_exits_0_on_an_intact_chain(two_cases: tuple[Ocop, list[str]]) -> None:
    """Nothing tampered: exit 0 with the counts."""
    ocop, _ = two_cases
    report = ocop.ok("audit", "verify", "--json").json()
    assert report.pop("admin_log")["ok"] is True  # the users open_cli added are logged
    unchecked = report.pop("unchecked")
    assert report == {"ok": True, "cases": 2, "entries": 6, "first_break": None,
                      "checkpoint": None}
    assert len(unchecked) == 1 and "(ocop audit checkpoint)" in unchecked[0]


def test_the_audit_trail_is_exported_with_its_links(two_cases: tuple[Ocop, list[str]],
                                                    tmp_path: Path) -> None:
    """Each exported entry links to the one before it in the same case."""
    ocop, (code, _) = two_cases
    out = ocop.ok("audit", "export", "--case", code, "--format", "jsonl").out
    entries = [json.loads(line) for line in out.splitlines()]
    assert [e["seq"] for e in entries] == [1, 2, 3, 4]
    assert all(b["prev_hash"] == a["hash"] for a, b in pairwise(entries))
