"""Every path that writes a case's history, on one PostgreSQL database: registration (library
and HTTP API), engine moves and an internal event (library, API with an idempotency key and
its replay, console form), and the sweep — its set-based escalation batch, the withdrawal at
the completion deadline, a certificate's expiry with its case (``expire``) and without it
(``expire_certificate``). Afterwards every chain verifies, through the library and ``ocop audit
verify``; an entry edited on any of those paths is named by both."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Connection, func, select, update

from tests.api_support import bearer, client
from tests.integration.cli_support import CurrentStderr
from tests.support import DOCS, START, World, record_intact, sim_sheets
from tests.unit.console_support import post_sign_in
from workflow import logs
from workflow.bootstrap import App
from workflow.cli import cli
from workflow.cli.base import run_cli
from workflow.domain import certificates
from workflow.store import audit
from workflow.store.schema import audit_entries, cases
from workflow.sweep import Sweeper

pytestmark = pytest.mark.postgres

CRITERIA = {"origin": True, "local_labour": True, "idea": True, "cultural_identity": True}
TRADEMARK = {"certificate_no": "VN-4-0123456", "holder": "HTX Tương Cự Đà",
             "registered_on": "2021-05-17"}


@dataclass
class Walked:
    """The database after every writer path ran, the cases by role, and what the sweeps did."""

    app: App
    codes: dict[str, str]
    swept: Counter[str]


def certified(world: World, code: str) -> None:
    steps: list[tuple[str, str, dict[str, Any]]] = [
        ("submit", "producer1", DOCS), ("start_review", "commune1", {}),
        ("record_commune_prescore", "commune1", {"criteria": CRITERIA}),
        ("verify_ip", "ip", TRADEMARK),
        ("record_city_score", "city", sim_sheets((35, 22, 28)))]
    for trigger, who, data in steps:
        world.fire(code, trigger, who, data)


def through_the_api(world: World) -> str:
    """Registered and submitted over HTTP (the submit sent twice with one key), then its
    review started from the console's form."""
    with client(world.app) as http:
        made = http.post("/api/v1/cases", headers=bearer(world.tokens["producer1"]),
                         json={"producer": world.p1, "product": "Chè Tân Cương",
                               "group": "beverage"})
        assert made.status_code == 201, made.text
        code = str(made.json()["code"])
        headers = {**bearer(world.tokens["producer1"]), "Idempotency-Key": "submit-once"}
        for _ in range(2):
            sent = http.post(f"/api/v1/cases/{code}/events", headers=headers,
                             json={"trigger": "submit", "data": DOCS})
            assert sent.status_code == 200, sent.text
        assert sent.headers.get("Idempotent-Replayed") == "true"
        signed = post_sign_in(http, "commune1", world.tokens["commune1"])
        assert signed.status_code == 303
        page = http.get(f"/console/cases/{code}").text
        form = dict(re.findall(r'name="(csrf|version)" value="([^"]+)"', page))
        key = re.search(r'name="form_key" value="([^"]+start_review)"', page)
        assert key, "the console offers start_review"
        moved = http.post(f"/console/cases/{code}/events",
                          data={**form, "form_key": key.group(1), "trigger": "start_review"})
        assert moved.status_code == 303, moved.text
    return code


@pytest.fixture
def walked(pg_app: App) -> Walked:
    world = World(pg_app)
    codes = {name: world.register() for name in ("waiting", "late", "certified", "kept")}
    world.fire(codes["waiting"], "submit", "producer1", DOCS)
    world.fire(codes["waiting"], "escalate", "system", {"deadline": "review_start", "level": 1})
    world.fire(codes["late"], "submit", "producer1", DOCS)
    world.fire(codes["late"], "start_review", "commune1")
    world.fire(codes["late"], "request_completion", "commune1", {"days": 30},
               reason="thiếu giấy chứng nhận an toàn thực phẩm")
    certified(world, codes["certified"])
    certified(world, codes["kept"])
    world.fire(codes["kept"], "open_reevaluation", "city", {"reason": "upgrade"})
    world.fire(codes["kept"], "start_review", "commune1")
    world.fire(codes["kept"], "record_commune_prescore", "commune1",
               {"criteria": {**CRITERIA, "idea": False}})  # rejected; its certificate kept
    codes["api"] = through_the_api(world)
    sweeper = Sweeper(pg_app.engine, pg_app.relay)
    world.clock.set(START + timedelta(days=33))
    swept = Counter(sweeper.run())
    world.clock.set(certificates.expires_at(certificates.valid_to(START.date())))
    swept.update(sweeper.run())
    return Walked(pg_app, codes, swept)


def entries_of(conn: Connection, code: str) -> list[dict[str, object]]:
    return [dict(r._mapping) for r in conn.execute(
        select(audit_entries).join(cases, cases.c.id == audit_entries.c.case_id)
        .where(cases.c.code == code).order_by(audit_entries.c.seq))]


def written(conn: Connection, code: str, trigger: str, actor: str) -> int:
    """The seq of the case's last entry of ``trigger`` by ``actor``."""
    return max(int(str(e["seq"])) for e in entries_of(conn, code)
               if (e["trigger"], e["actor"]) == (trigger, actor))


def verify_cli(app: App, monkeypatch: pytest.MonkeyPatch,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, object]]:
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stderr=CurrentStderr()))
    monkeypatch.setenv("OCOP_DATABASE_URL", app.db.url.render_as_string(hide_password=False))
    monkeypatch.delenv("OCOP_BROKER_URL", raising=False)
    capsys.readouterr()
    code = run_cli(cli, ["audit", "verify", "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_every_writer_path_leaves_every_chain_verified(
        walked: Walked, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Each path wrote its entries (the sweep escalated, withdrew and expired both kinds of
    certificate; the replayed submit wrote nothing), and every chain and head verifies."""
    assert walked.swept["escalated"] >= 2
    assert (walked.swept["withdrawn"], walked.swept["expired"],
            walked.swept["certificate_expired"]) == (1, 1, 1)
    c = walked.codes
    with walked.app.db.connect() as conn:
        assert written(conn, c["waiting"], "escalate", "system") > \
            written(conn, c["waiting"], "submit", "producer1") + 1  # the engine's, then the batch's
        assert [e["trigger"] for e in entries_of(conn, c["api"])][:3] == [
            "register", "submit", "start_review"]
        for code, trigger in [(c["late"], "withdraw"), (c["certified"], "expire"),
                              (c["kept"], "expire_certificate")]:
            assert written(conn, code, trigger, "system")
        result = audit.verify(conn)
        total = conn.execute(select(func.count()).select_from(audit_entries)).scalar_one()
    assert (result.ok, result.cases, result.entries) == (True, len(c), total)
    assert record_intact(walked.app).entries == total  # seals, replay and certificates too
    exit_code, report = verify_cli(walked.app, monkeypatch, capsys)
    assert (exit_code, report["ok"], report["entries"]) == (0, True, total)


# One entry per writer path: the case, its trigger and the actor who wrote it.
TAMPERED = {
    "registration": ("waiting", "register", "producer1"),
    "api-registration": ("api", "register", "producer1"),
    "engine-move": ("late", "request_completion", "commune1"),
    "engine-internal": ("waiting", "escalate", "system"),
    "api-idempotent": ("api", "submit", "producer1"),
    "console": ("api", "start_review", "commune1"),
    "sweep-batch": ("waiting", "escalate", "system"),
    "sweep-withdrawal": ("late", "withdraw", "system"),
    "sweep-expiry": ("certified", "expire", "system"),
    "sweep-certificate-expiry": ("kept", "expire_certificate", "system"),
}


@pytest.mark.parametrize("path", TAMPERED)
def test_an_edited_entry_of_any_writer_path_is_named(
        walked: Walked, path: str, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The entry's reason rewritten in the database: verify (library and CLI) fails and names
    that case and entry."""
    name, trigger, actor = TAMPERED[path]
    code = walked.codes[name]
    with walked.app.db.begin() as conn:
        seqs = sorted(int(str(e["seq"])) for e in entries_of(conn, code)
                      if (e["trigger"], e["actor"]) == (trigger, actor))
        seq = seqs[0] if path == "engine-internal" else seqs[-1]
        case_id = conn.execute(select(cases.c.id).where(cases.c.code == code)).scalar_one()
        conn.execute(update(audit_entries).where(audit_entries.c.case_id == case_id,
                                                 audit_entries.c.seq == seq)
                     .values(reason="sửa lén"))
    with walked.app.db.connect() as conn:
        broken = audit.verify(conn).first_break
    assert broken is not None and (broken.case_code, broken.seq) == (code, seq)
    exit_code, report = verify_cli(walked.app, monkeypatch, capsys)
    assert exit_code != 0
    assert report["first_break"]["case"] == code  # type: ignore[index]
    assert report["first_break"]["seq"] == seq  # type: ignore[index]
