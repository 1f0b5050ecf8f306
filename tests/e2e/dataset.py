"""A data set for the page-by-page browser check: for each rule version, one case in every
state its lifecycle has, built through the engine on a simulated clock.

Every step of every case is put on one timeline and played in date order; before each step the
deadline sweep runs at that moment, as the scheduler would have, so escalations, the central
review reminder, completion reminders, certificate notices, an expiry and a withdrawal by the
completion deadline all happen for real. People and producers have Vietnamese names (a user's
name is shown on pages, and must not collide with a role code such as ``supervisor``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update

import states
from tests.support import DOCS, apply_decided
from tests.unit.lifecycle_support import CRITERIA, ROUTE_SCORES, path_to, sheet_parts
from workflow import registry, remap
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock, aware
from workflow.domain import certificates
from workflow.domain.facts import SYSTEM_ACTOR, Actor, Event
from workflow.store.db import write_transaction
from workflow.store.schema import cases, deadlines, outbox, users
from workflow.store.schema import certificates as certs
from workflow.sweep import Sweeper

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=VIETNAM)  # "today" for the server
REORGANISATION = datetime(2025, 7, 1, 8, 0, tzinfo=VIETNAM)  # districts and old communes end
HOLDER = "HTX Tương Cự Đà"
# key: (user name, role, district, commune, producer key)
PEOPLE = {
    "producer1": ("Nguyễn Thị Hạnh", "producer", None, None, "p1"),
    "producer2": ("Lê Văn Phúc", "producer", None, None, "p2"),
    "district1": ("Trần Quốc Tuấn", "district_officer", "Thanh Oai", None, None),
    "commune1": ("Phạm Thị Thu", "commune_officer", None, "Cự Khê", None),
    "ip": ("Đỗ Minh Khoa", "ip_officer", None, None, None),
    "city": ("Hoàng Văn Nam", "city_officer", None, None, None),
    "supervisor": ("Vũ Thị Lan", "supervisor", None, None, None),
}
ASKERS = {"commune_officer": "commune1", "district_officer": "district1", "ip_officer": "ip",
          "city_officer": "city"}
# Notice kinds (outbox ``kind``) the data set must hold at least one of.
NOTICE_KINDS = ("status", "escalation", "reminder", "completion_reminder", "certificate_notice")


@dataclass
class Case:
    version: str
    state: str  # the state it is built to end in
    how: str = ""  # how it got there, when a version has two cases in one state
    code: str = ""
    token: str = ""
    certificate: str | None = None


@dataclass
class DataSet:
    tokens: dict[str, str]  # person key -> API token
    names: dict[str, str]  # person key -> shown name
    cases: list[Case] = field(default_factory=list)

    def certificates(self) -> list[str]:
        return [c.certificate for c in self.cases if c.certificate]


def sheets(version: str, total: float) -> dict[str, Any]:
    a, b, c = sheet_parts(version, total)
    return {"sheets": [{"member": "Ông Bùi Đức Thắng", "a": a, "b": b, "c": c}],
            "mandatory_ok": True}


def event_data(version: str, trigger: str, source: str,
               dest: str | None) -> tuple[str, dict[str, Any], str | None]:
    """Who fires ``trigger`` from ``source`` towards ``dest``, with what data and reason."""
    score = ROUTE_SCORES.get((trigger, dest or ""))
    if score is not None:
        who = "district1" if trigger == "record_district_score" else "city"
        return who, sheets(version, score), None
    if (trigger, dest) == ("record_commune_prescore", "rejected"):  # a criterion not met
        return "commune1", {"criteria": {**CRITERIA, "idea": False}}, None
    if trigger == "request_completion":
        ((role,),) = [r.roles for r in states.lifecycle(version).rows(trigger, source)]
        return ASKERS[role], {"days": 30}, "Bổ sung phiếu kiểm nghiệm an toàn thực phẩm"
    table: dict[str, tuple[str, dict[str, Any], str | None]] = {
        "submit": ("producer1", DOCS, None),
        "start_review": ("commune1" if version == "1489" else "district1", {}, None),
        "record_commune_prescore": ("commune1", {"criteria": CRITERIA}, None),
        "verify_ip": ("ip", {"certificate_no": "4-0312345-000", "holder": HOLDER,
                             "registered_on": "2019-08-20"}, None),
        "record_no_ip": ("ip", {}, "Sản phẩm chưa đăng ký nhãn hiệu"),
        "record_central_result": ("city", {"passed": True, "decision_no": "QĐ-123/BNN"}, None),
        "open_reevaluation": ("city", {"reason": "upgrade"}, None),
        "revoke": ("city", {"reason_code": "violation"},
                   "Vi phạm quy định về an toàn thực phẩm"),
        "withdraw": ("producer1", {}, "Cơ sở tạm ngừng sản xuất"),
    }
    return table[trigger]


Step = tuple[str, str, str | None]


def plan(version: str, state: str) -> tuple[datetime, list[Step]]:
    """The steps to ``state`` and the day to start (steps are a week apart), so that what the
    sweep should do by :data:`NOW` has happened and nothing more: office clocks long overdue, a
    completion request 25 days old (of 30), a certificate with 20 days left (both notices
    sent), another 30 days past its end (expired by the sweep)."""
    steps = path_to(version, state)
    if state == "expired":  # the sweep expires it when its certificate ends
        steps = steps[:-1]
    key = next((i for i, (_, _, dest) in enumerate(steps) if dest == "certified"),
               len(steps) - 1)
    if state == "needs_completion":
        at = NOW - timedelta(days=25)
    elif state == "expired":
        at = issued_for_end(NOW.date() - timedelta(days=30))
    elif key < len(steps) - 1 or state == "certified":
        at = issued_for_end(NOW.date() + timedelta(days=20))
    else:
        at = NOW - timedelta(days=200)
    return at - timedelta(days=7 * (key + 1)), steps


def issued_for_end(end: date) -> datetime:
    """The moment to certify so that the certificate's validity ends on ``end``."""
    day = certificates.add_months(end, -certificates.VALIDITY_MONTHS)
    assert certificates.valid_to(day) + timedelta(days=1) == end, day
    return datetime.combine(day, time(10), tzinfo=VIETNAM)


class Builder:
    """Plays every planned step in date order, sweeping at each moment first."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.clock: FixedClock = app.clock  # type: ignore[assignment]
        self.sweeper = Sweeper(app.engine, app.relay)
        self.actors: dict[str, Actor] = {"system": SYSTEM_ACTOR}

    def people(self) -> DataSet:
        self.clock.set(NOW - timedelta(days=5 * 365))
        now = self.clock.now()
        with write_transaction(self.app.db) as conn:
            producers = {
                "p1": registry.add_producer(conn, now, HOLDER, "cooperative", "Thanh Oai",
                                            "Cự Khê", "tuongcuda@example.vn"),
                "p2": registry.add_producer(conn, now, "Làng lụa Vạn Phúc", "household",
                                            "Hà Đông", "Vạn Phúc")}
            tokens = {key: registry.add_user(conn, now, name, role, d, c,
                                             producers[p] if p else None,
                                             token_days=10 * 365)  # valid on NOW, 5 years on
                      for key, (name, role, d, c, p) in PEOPLE.items()}
            for key, (name, *_) in PEOPLE.items():
                self.actors[key] = registry.actor_named(conn, name)
        self.producer_id = producers["p1"]
        return DataSet(tokens, {k: v[0] for k, v in PEOPLE.items()})

    def build(self) -> DataSet:
        data = self.people()
        timeline: list[tuple[datetime, int, int, Step | None]] = []
        targets = [(v, s) for v, lc in states.LIFECYCLES.items() for s in lc.states]
        targets.append(("1489", "withdrawn-by-deadline"))
        for n, (version, state) in enumerate(targets):
            data.cases.append(Case(version, *state.split("-", 1)))
            start, steps = self._plan(version, state)
            timeline.append((start, n, -1, None))
            timeline += [(start + timedelta(days=7 * (i + 1)), n, i, step)
                         for i, step in enumerate(steps)]
        reorganised = False
        for at, n, _, step in sorted(timeline, key=lambda item: item[:3]):
            if not reorganised and at >= REORGANISATION:
                self._reorganise()
                reorganised = True
            self._sweep_until(at)
            self._play(data.cases[n], step)
        self._sweep_until(NOW)
        self._describe(data)
        return data

    def _sweep_until(self, moment: datetime) -> None:
        """Run the sweep at each moment a deadline falls due before ``moment``, as the
        scheduler would have, then at ``moment``."""
        for _ in range(5000):
            with self.app.db.connect() as conn:
                due = conn.execute(select(func.min(deadlines.c.due_at))
                                   .where(deadlines.c.status == "open")).scalar()
            if due is None or aware(due) >= moment:
                break
            self.clock.set(max(aware(due), self.clock.now()))
            self.sweeper.run()
        self.clock.set(moment)
        self.sweeper.run()

    def _reorganise(self) -> None:
        """2025-07-01: the remap moves the producers (and open cases) to the new communes,
        and the commune officer of Cự Khê becomes the officer of Xã Bình Minh."""
        self._sweep_until(REORGANISATION)
        remap.run(self.app.db, REORGANISATION, self.app.settings, "e2e")
        with write_transaction(self.app.db) as conn:
            unit = registry.officer_unit(conn, REORGANISATION, "commune_officer", None, "10126")
            conn.execute(update(users).where(users.c.name == PEOPLE["commune1"][0])
                         .values(**unit))
            self.actors["commune1"] = registry.actor_named(conn, PEOPLE["commune1"][0])

    def _plan(self, version: str, state: str) -> tuple[datetime, list[Step]]:
        if state == "withdrawn-by-deadline":  # asked for completion, never answered
            start, steps = plan(version, "needs_completion")
            return start - timedelta(days=90), steps
        return plan(version, state)

    def _play(self, case: Case, step: Step | None) -> None:
        if step is None:
            with write_transaction(self.app.db) as conn:
                case.code = registry.register_case(
                    conn, self.clock.now(),  # only staff pin a rule version (DOMAIN.md §2)
                    self.actors["city"],
                    registry.Registration(
                        self.producer_id, "Tương Cự Đà", "food", "Gia vị", case.version),
                    public_url=self.app.settings.public_url)
            return
        trigger, source, dest = step
        who, data, reason = event_data(case.version, trigger, source, dest)
        if who == "district1" and self.clock.now() >= REORGANISATION:
            who = "commune1"  # the districts' successor (OCOP_DISTRICT_SUCCESSOR=commune)
        apply_decided(self.app, Event(case.code, trigger, self.actors[who], data, reason))

    def _describe(self, data: DataSet) -> None:
        """Fill in each case's status token and certificate; check every state is there."""
        with self.app.db.connect() as conn:
            for case in data.cases:
                row = conn.execute(select(cases.c.id, cases.c.state, cases.c.status_token)
                                   .where(cases.c.code == case.code)).one()
                assert row.state == case.state, (case, row.state)
                case.token = row.status_token
                case.certificate = conn.execute(
                    select(certs.c.number).where(certs.c.case_id == row.id)
                    .order_by(certs.c.id.desc())).scalars().first()


def notice_kinds(app: App) -> set[str]:
    with app.db.connect() as conn:
        return set(conn.execute(select(outbox.c.kind).distinct()).scalars())
