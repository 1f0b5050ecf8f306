"""Test helpers: a migrated app on any database, and a small world of producers and users."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from workflow import record, registry
from workflow.bootstrap import App, bootstrap
from workflow.clock import VIETNAM, FixedClock, local
from workflow.config import Settings
from workflow.domain.facts import Actor, Event
from workflow.engine import Applied
from workflow.errors import InvalidInput
from workflow.store import integrity, seal, units
from workflow.store.db import make_engine, write_transaction
from workflow.store.migrate import upgrade

PG_ADMIN_URL = os.environ.get("OCOP_TEST_PG_URL",
                              "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DOCS = {"documents": ["registration_form", "business_plan", "product_standard"]}
START = datetime(2025, 9, 1, 9, 0, tzinfo=VIETNAM)  # a Monday under rule version 1489
# Before the 2025 reorganisation: when the district officers' accounts were made.
BEFORE_2025 = datetime(2025, 1, 6, 9, 0, tzinfo=VIETNAM)
# The world's units (Hà Nội): Bình Minh took in Cự Khê (Thanh Oai), Hà Đông took in Vạn Phúc.
BINH_MINH, HA_DONG = "10126", "09556"
THANH_OAI, HA_DONG_DISTRICT = "old:278", "old:268"


def _test_signing_key() -> str:
    """One signing key file for the test session, in the environment (OCOP_SIGNING_KEY) so
    the CLI, API and worker processes the tests start sign and verify with the same key as
    the apps built in the test process."""
    given = os.environ.get("OCOP_SIGNING_KEY")
    if given and Path(given).is_file():
        return given
    path = Path(tempfile.mkdtemp(prefix="ocop-test-key-")) / "signing.key"
    seal.write_new(path)
    os.environ["OCOP_SIGNING_KEY"] = str(path)
    return str(path)


TEST_SIGNING_KEY = _test_signing_key()


@contextmanager
def pg_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test; dropped afterwards."""
    name = f"ocop_t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# What the suites about other things run with (``make_app``'s defaults): scores that name no
# council, submissions with nothing uploaded.
OTHER_SUITES: dict[str, Any] = {"council_required": False, "required_documents": ()}

# The least PDF the dossier takes (``%PDF-`` … ``%%EOF``).
TINY_PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n"
            b"%%EOF\n")

# Events that may issue a certificate, and so may carry its decision (DOMAIN.md §9).
CERTIFYING = ("record_district_score", "record_city_score", "record_no_ip",
              "record_central_result")


def decision_of(day: date) -> dict[str, str]:
    """A People's Committee decision dated ``day``."""
    return {"number": f"{day:%d%m}/QĐ-UBND", "date": day.isoformat(),
            "body": "UBND thành phố Hà Nội"}


def apply_decided(app: App, event: Event) -> Applied:
    """Apply ``event``; one that may certify carries the People's Committee decision of the
    app's today unless its data has one: where it issues no certificate the engine refuses a
    decision before writing anything, and it is applied without one."""
    data = event.data
    if event.trigger not in CERTIFYING or "decision" in data:
        return app.engine.apply(event)
    decision = decision_of(local(app.clock.now()).date())
    if event.trigger == "record_central_result" and isinstance(data.get("decision_no"), str):
        decision["number"] = data["decision_no"]  # the ministry's decision
    try:
        return app.engine.apply(replace(event, data={**data, "decision": decision}))
    except InvalidInput as error:
        if error.code != "decision_without_certificate":
            raise
    return app.engine.apply(event)


def make_app(url: str, clock: FixedClock | None = None, **settings: Any) -> App:
    db = make_engine(url)
    upgrade(db)
    with write_transaction(db) as conn:
        units.load(conn, ["01"])  # Hà Nội in both eras, as `ocop units load` loads it
    settings.setdefault("checkpoint_dir", tempfile.mkdtemp(prefix="ocop-test-checkpoints-"))
    settings.setdefault("documents_dir", tempfile.mkdtemp(prefix="ocop-test-documents-"))
    # The suites about other things score without naming a council and submit without
    # uploading; the councils' and documents' own tests (and every test that runs the real
    # ``ocop`` with its defaults) pass council_required=True / required_documents=None.
    for key, value in OTHER_SUITES.items():
        settings.setdefault(key, value)
    cfg = replace(Settings(database_url=url, signing_key=TEST_SIGNING_KEY), **settings)
    return bootstrap(cfg, clock=clock or FixedClock(START), db=db)


def record_intact(app: App, code: str | None = None) -> integrity.Report:
    """``ocop audit verify``'s every check (chains, seals, replay, certificates, the latest
    checkpoint), asserted clean."""
    report, _ = record.verify(app, code)
    assert report.ok, report.first_break.sentence() if report.first_break else None
    return report


def sim_sheets(*parts: tuple[float, float, float], ok: bool = True) -> dict[str, Any]:
    return {"sheets": [{"member": f"member {i}", "a": a, "b": b, "c": c}
                       for i, (a, b, c) in enumerate(parts, 1)], "mandatory_ok": ok}


class World:
    """Producers and users in two communes of Hà Nội (Bình Minh, Hà Đông), the officers of the
    two districts those communes were in until 2025-06-30 (accounts made before then), and
    shortcuts to move cases."""

    # Events that may certify carry today's decision (``fire``); False: certificates pending.
    decide_at_once = True

    def __init__(self, app: App) -> None:
        self.app = app
        self.clock: FixedClock = app.clock  # type: ignore[assignment]
        now = self.clock.now()
        with write_transaction(app.db) as conn:
            self.p1 = registry.add_producer(conn, now, "HTX Tương Cự Đà", "cooperative",
                                            None, BINH_MINH, "p1@example.vn")
            self.p2 = registry.add_producer(conn, now, "Làng lụa Vạn Phúc", "household",
                                            None, HA_DONG)
            people = [
                ("producer1", "producer", None, None, self.p1),
                ("producer2", "producer", None, None, self.p2),
                ("district1", "district_officer", THANH_OAI, None, None),
                ("district2", "district_officer", HA_DONG_DISTRICT, None, None),
                ("commune1", "commune_officer", None, BINH_MINH, None),
                ("commune2", "commune_officer", None, HA_DONG, None),
                ("ip", "ip_officer", None, None, None),
                ("city", "city_officer", None, None, None),
                ("supervisor", "supervisor", None, None, None),
                ("admin", "admin", None, None, None),
            ]
            self.tokens = {name: registry.add_user(
                conn, BEFORE_2025 if role == "district_officer" else now, name, role, d, c, p,
                token_days=3650)
                for name, role, d, c, p in people}
            self.actors = {name: registry.actor_named(conn, name) for name, *_ in people}
        self.actors["system"] = Actor("system", "system")

    def register(self, producer: str = "producer1", group: str = "food",
                 rules: str | None = None, product: str = "Tương bần") -> str:
        actor = self.actors[producer]
        producer_id = actor.producer_id or 0
        if rules is not None and actor.role == "producer":
            actor = self.actors["city"]  # only staff pin a rule version (DOMAIN.md §2)
        with write_transaction(self.app.db) as conn:
            return registry.register_case(conn, self.clock.now(), actor, registry.Registration(
                producer_id, product, group, None, rules),
                public_url=self.app.settings.public_url)

    def fire(self, code: str, trigger: str, who: str, data: dict[str, Any] | None = None,
             reason: str | None = None, **kw: Any) -> Applied:
        """Fire ``trigger``. An event that may certify carries the People's Committee decision
        of today unless the data has one (or ``decide_at_once`` is off): where it issues no
        certificate the engine refuses a decision before writing anything, and it is fired
        without one. Tests of pending certificates give ``decide_at_once = False``."""
        event = Event(code, trigger, self.actors[who], dict(data or {}), reason, **kw)
        if not self.decide_at_once:
            return self.app.engine.apply(event)
        return apply_decided(self.app, event)

    def upload(self, code: str, *kinds: str, who: str = "producer1") -> None:
        """Upload a small PDF as each of ``kinds`` to the case's dossier."""
        from workflow import documents  # the service; imported where a test uploads
        for kind in kinds:
            documents.add(self.app, self.actors[who], code, kind, f"{kind}.pdf", TINY_PDF)

    def decision(self, day: date | None = None) -> dict[str, str]:
        """A People's Committee decision dated ``day`` (today on the test clock)."""
        return decision_of(day or local(self.clock.now()).date())
