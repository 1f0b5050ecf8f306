"""Someone who can write to the database forges the record with SQL, rehashing the chains
as carefully as they like; ``ocop audit verify`` (a real process, on PostgreSQL) exits
non-zero and names each forgery. An untouched database verifies clean. The public ``/verify``
page refuses a certificate inserted by hand.

The forger has the database, not the office's key file (``OCOP_SIGNING_KEY``) nor the
checkpoint folder: that is the line the seals, signatures and checkpoints draw."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, text, update

from tests.api_support import client
from tests.support import World, make_app
from tests.unit.lifecycle_support import Driver
from workflow import record
from workflow.bootstrap import App
from workflow.domain import certificates as numbers
from workflow.store import audit
from workflow.store.db import write_transaction
from workflow.store.schema import (
    audit_entries,
    cases,
    certificates,
    deadlines,
    idempotency_keys,
    outbox,
    score_sheets,
)

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Scene:
    world: World
    url: str
    folder: Path
    certified: str  # a case certified 4★ by the city
    rejected: str  # a case the city rejected
    open_case: str  # a case under city rating

    @property
    def app(self) -> App:
        return self.world.app


@pytest.fixture
def scene(pg_url: str, tmp_path: Path) -> Iterator[Scene]:
    folder = tmp_path / "checkpoints"
    app = make_app(pg_url, checkpoint_dir=str(folder))
    world = World(app)
    drive = Driver(world)
    certified = drive.reach("1489", "certified")
    rejected = drive.reach("1489", "rejected")
    open_case = drive.reach("1489", "city_rating")
    yield Scene(world, pg_url, folder, certified, rejected, open_case)
    app.close()


def verify_cli(scene: Scene) -> tuple[int, dict[str, Any], str]:
    """``ocop audit verify --json`` as an operator runs it, in its own process."""
    env = {**os.environ, "OCOP_DATABASE_URL": scene.url,
           "OCOP_CHECKPOINT_DIR": str(scene.folder), "OCOP_LANG": "en"}
    done = subprocess.run([sys.executable, "-m", "workflow", "audit", "verify", "--json"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout), done.stderr


def case_id(conn: Connection, code: str) -> int:
    return int(conn.execute(select(cases.c.id).where(cases.c.code == code)).scalar_one())


def rehash(conn: Connection, code: str) -> None:
    """What a careful forger does after changing entries: renumber, relink and rehash the
    whole chain from genesis, and move the case row's length and head to match."""
    cid = case_id(conn, code)
    rows = conn.execute(select(audit_entries).where(audit_entries.c.case_id == cid)
                        .order_by(audit_entries.c.seq, audit_entries.c.id)).all()
    conn.execute(update(audit_entries).where(audit_entries.c.case_id == cid)
                 .values(seq=audit_entries.c.seq + 1000))
    prev = audit.GENESIS
    for seq, row in enumerate(rows, 1):
        entry = {**row._mapping, "seq": seq}
        digest = audit.entry_hash(prev, code, entry)
        conn.execute(update(audit_entries).where(audit_entries.c.id == row.id)
                     .values(seq=seq, prev_hash=prev, hash=digest))
        prev = digest
    conn.execute(update(cases).where(cases.c.id == cid)
                 .values(audit_seq=len(rows), audit_head=prev))


def last_entry(conn: Connection, code: str) -> Any:
    return conn.execute(select(audit_entries).where(audit_entries.c.case_id == case_id(conn, code))
                        .order_by(audit_entries.c.seq.desc()).limit(1)).first()


def edit_score_and_rehash(s: Scene, conn: Connection) -> str:
    cid = case_id(conn, s.certified)
    row = conn.execute(select(audit_entries).where(
        audit_entries.c.case_id == cid, audit_entries.c.trigger == "record_city_score")).first()
    assert row is not None
    data = json.loads(row.data)
    data["stars"] = 5
    conn.execute(update(audit_entries).where(audit_entries.c.id == row.id)
                 .values(data=audit.canonical(data)))
    rehash(conn, s.certified)
    return s.certified


def insert_and_rehash(s: Scene, conn: Connection) -> str:
    cid = case_id(conn, s.open_case)
    first = conn.execute(select(audit_entries).where(audit_entries.c.case_id == cid,
                                                     audit_entries.c.seq == 2)).one()
    forged = {**first._mapping}
    del forged["id"]
    conn.execute(insert(audit_entries).values(**{**forged, "seq": 999, "reason": "forged",
                                                 "actor": "nobody"}))
    rehash(conn, s.open_case)
    return s.open_case


def append_and_rehash(s: Scene, conn: Connection) -> str:
    last = last_entry(conn, s.open_case)
    forged = {**last._mapping}
    del forged["id"]
    forged.update(seq=last.seq + 1, trigger="withdraw", from_state=last.to_state,
                  to_state="withdrawn", actor="producer1", role="producer", data="{}")
    conn.execute(insert(audit_entries).values(**forged))
    rehash(conn, s.open_case)
    conn.execute(update(cases).where(cases.c.code == s.open_case).values(state="withdrawn"))
    return s.open_case


def edit_state(s: Scene, conn: Connection) -> str:
    conn.execute(update(cases).where(cases.c.code == s.rejected)
                 .values(state="certified", stars=5))
    return s.rejected


def forge_certificate(s: Scene, conn: Connection) -> str:
    cid = case_id(conn, s.rejected)
    conn.execute(insert(certificates).values(
        case_id=cid, number=forged_number(), stars=5, level="central", rule_version="1489",
        issued_on=s.world.clock.now().date(), valid_to=numbers.valid_to(
            s.world.clock.now().date()), status="valid", decision_no="99/QĐ-TTg",
        created_at=s.world.clock.now(), signature=None))
    return s.rejected


def extend_certificate(s: Scene, conn: Connection) -> str:
    cid = case_id(conn, s.certified)
    conn.execute(update(certificates).where(certificates.c.case_id == cid)
                 .values(valid_to=certificates.c.valid_to + text("interval '3 years'")))
    return s.certified


def forged_number() -> str:
    return numbers.number("central", date(2025, 9, 1))


FORGERIES: dict[str, tuple[Callable[[Scene, Connection], str], str]] = {
    "edit an entry, rehash the chain": (edit_score_and_rehash, "break_seal"),
    "insert an entry, rehash the chain": (insert_and_rehash, "break_seal"),
    "append an entry, rehash, move the state": (append_and_rehash, "break_seal"),
    "edit cases.state (rejected -> certified 5★)": (edit_state, "break_replay_field"),
    "insert a forged certificate": (forge_certificate, "break_certificate_unrecorded"),
    "extend a certificate's validity": (extend_certificate, "break_certificate_field"),
}


def test_an_untouched_database_verifies_clean_with_and_without_a_checkpoint(
        scene: Scene) -> None:
    status, report, err = verify_cli(scene)
    assert status == 0, err
    assert report["ok"] and report["first_break"] is None
    assert report["cases"] == 3 and report["checkpoint"] is None
    assert any("no checkpoint" in line for line in report["unchecked"])
    record.take_checkpoint(scene.app)
    status, report, err = verify_cli(scene)
    assert status == 0, err
    assert report["checkpoint"]["number"] == 1 and report["checkpoint"]["cases"] == 3
    assert not any("no checkpoint" in line for line in report["unchecked"])


@pytest.mark.parametrize("name", list(FORGERIES))
def test_each_forgery_is_named(scene: Scene, name: str) -> None:
    forge, problem = FORGERIES[name]
    record.take_checkpoint(scene.app)
    with write_transaction(scene.app.db) as conn:
        code = forge(scene, conn)
    status, report, err = verify_cli(scene)
    assert status != 0
    assert report["ok"] is False
    assert report["first_break"]["case"] == code
    assert report["first_break"]["code"] == problem, report["first_break"]
    assert code in err and "breaks at entry" in err


def test_deleting_the_last_entry_and_rolling_back_the_head_is_found_against_the_checkpoint(
        scene: Scene) -> None:
    """The strongest rollback: the last entry deleted and the case row put back byte for byte
    as a backup taken before it holds it: old length, head and seal (so no rehash shows)."""
    code = scene.open_case
    with scene.app.db.connect() as conn:
        before = dict(conn.execute(select(cases).where(cases.c.code == code)).one()._mapping)
    scene.world.fire(code, "withdraw", "producer1", reason="changed my mind")
    record.take_checkpoint(scene.app)
    with write_transaction(scene.app.db) as conn:
        cid = case_id(conn, code)
        last = last_entry(conn, code)
        conn.execute(delete(outbox).where(outbox.c.case_id == cid,
                                          outbox.c.audit_seq == last.seq))
        conn.execute(delete(audit_entries).where(audit_entries.c.id == last.id))
        conn.execute(update(cases).where(cases.c.id == cid).values(
            {k: v for k, v in before.items() if k != "id"}))
    status, report, err = verify_cli(scene)
    assert status != 0
    assert report["first_break"]["case"] == code
    assert report["first_break"]["code"] == "break_checkpoint_shorter"
    assert report["first_break"]["seq"] == last.seq
    assert "entries at the end were deleted" in err


def test_deleting_a_whole_case_is_found_against_the_checkpoint(scene: Scene) -> None:
    record.take_checkpoint(scene.app)
    with write_transaction(scene.app.db) as conn:
        cid = case_id(conn, scene.rejected)
        for table in (outbox, score_sheets, certificates, deadlines, audit_entries):
            conn.execute(delete(table).where(table.c.case_id == cid))
        conn.execute(delete(idempotency_keys).where(
            idempotency_keys.c.case_code == scene.rejected))
        conn.execute(delete(cases).where(cases.c.id == cid))
    status, report, err = verify_cli(scene)
    assert status != 0
    assert report["first_break"]["case"] == scene.rejected
    assert report["first_break"]["code"] == "break_case_deleted"
    assert "a whole case was deleted" in err


def test_an_edited_checkpoint_file_is_refused(scene: Scene) -> None:
    done = record.take_checkpoint(scene.app)
    path = Path(done["path"])
    doc = json.loads(path.read_text())
    doc["cases"] = doc["cases"][1:]
    path.chmod(0o644)
    path.write_text(json.dumps(doc))
    status, report, _ = verify_cli(scene)
    assert status != 0
    assert report["first_break"]["code"] == "break_checkpoint_signature_bad"


def test_the_public_page_refuses_a_certificate_inserted_by_hand(scene: Scene) -> None:
    with write_transaction(scene.app.db) as conn:
        forge_certificate(scene, conn)
        number = conn.execute(select(certificates.c.number).where(
            certificates.c.case_id == case_id(conn, scene.rejected))).scalar_one()
        genuine = conn.execute(select(certificates.c.number).where(
            certificates.c.case_id == case_id(conn, scene.certified))).scalar_one()
    with client(scene.app) as http:
        forged = http.get(f"/verify/{number}", params={"format": "json"}).json()
        assert forged["authentic"] is False and forged["valid_today"] is False
        page = http.get(f"/verify/{number}", headers={"Accept-Language": "en"})
        assert "cannot be authenticated" in page.text
        real = http.get(f"/verify/{genuine}", params={"format": "json"}).json()
        assert real["authentic"] is True and real["valid_today"] is True
