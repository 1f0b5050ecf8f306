"""``ocop demo``: Hanoi producers with cases at every step, as a coordination office sees them
today.

Dossiers are backfilled on a simulated clock in date order, as staff importing files would,
with the deadline sweep run whenever a deadline fell due (escalations, reminders, certificate
notices and expiries happen when they would have): each case's history carries real dates and
the rule version of its time. Historic dossiers (1048 in 2022, 148 in 2024) keep fixed dates;
the live ones, all under Decision 1489, are dated back from today, so on any day there is work
waiting for every demo role: the commune officers, the IP officer, the city officer, the
producers, and an escalated case for the supervisor. Districts were abolished on 2025-07-01:
the district officers who scored the 148 and 1048 dossiers stay in the record but can no longer
sign in.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update

from workflow import registry
from workflow.bootstrap import App, bootstrap
from workflow.clock import VIETNAM, FixedClock, local
from workflow.domain.facts import Event
from workflow.store.db import write_transaction
from workflow.store.schema import cases, deadlines, users
from workflow.sweep import Sweeper

DOCS = {"documents": ["registration_form", "business_plan", "product_standard"]}
CRITERIA = {"criteria": {"origin": True, "local_labour": True, "idea": True,
                         "cultural_identity": True}}
# The live cases are dated back from today, never from before this day.
EARLIEST_TODAY = datetime(2026, 11, 30, 9, 0, tzinfo=VIETNAM)
TOKENS_FILE = "demo-tokens.txt"


def sheets(*totals: tuple[float, float, float], ok: bool = True) -> dict[str, Any]:
    return {"sheets": [{"member": f"Thành viên {i}", "a": a, "b": b, "c": c}
                       for i, (a, b, c) in enumerate(totals, 1)], "mandatory_ok": ok}


def trademark(number: str, holder: str, on: str) -> dict[str, Any]:
    return {"certificate_no": number, "holder": holder, "registered_on": on}


PRODUCERS = [
    # name, kind, district (before 2025), commune, e-mail
    ("HTX Tương Cự Đà", "cooperative", "Thanh Oai", "Cự Khê", "tuongcuda@example.vn"),
    ("Cơ sở Sơn mài Khảm trai Chuyên Mỹ", "household", "Phú Xuyên", "Chuyên Mỹ",
     "khamtrai@example.vn"),
    ("HTX Lụa Vạn Phúc", "cooperative", "Hà Đông", "Vạn Phúc", "luavanphuc@example.vn"),
    ("Tổ hợp tác Miến dong Minh Hồng", "cooperative_group", "Ba Vì", "Minh Hồng", None),
    ("Công ty TNHH Trà sen Quảng An", "enterprise", "Tây Hồ", "Quảng An", "trasen@example.vn"),
]

# Each producer's user, in the order of PRODUCERS.
PRODUCER_USERS = ("htx.tuongcuda", "coso.khamtrai", "htx.luavanphuc", "tohoptac.miendong",
                  "congty.trasen")

# name, role, district, commune; district officers only acted before 2025-07-01.
STAFF = [
    ("phamthu.cukhe", "commune_officer", None, "Cự Khê"),
    ("nguyenha.chuyenmy", "commune_officer", None, "Chuyên Mỹ"),
    ("tranminh.quangan", "commune_officer", None, "Quảng An"),
    ("lethao.vanphuc", "commune_officer", None, "Vạn Phúc"),
    ("vuhung.minhhong", "commune_officer", None, "Minh Hồng"),
    ("dokhoa.sokhcn", "ip_officer", None, None),
    ("hoangnam.vpdp", "city_officer", None, None),
    ("ngoclan.giamsat", "supervisor", None, None),
    ("quantri", "admin", None, None),
    ("buiduc.thanhoai", "district_officer", "Thanh Oai", None),
    ("daoquang.phuxuyen", "district_officer", "Phú Xuyên", None),
    ("maiphuong.hadong", "district_officer", "Hà Đông", None),
]
RETIRED = ("district_officer",)  # their districts no longer exist: no sign-in

# key: product, group, subgroup (the producer is the one who registers it)
CASES = {
    "silk_1048": ("Khăn lụa tơ tằm Vạn Phúc", "fabric_garment", "lụa tơ tằm"),
    "soya_148": ("Tương Cự Đà", "food", "gia vị"),
    "lacquer_148": ("Tranh sơn mài khảm trai", "handicraft", "sơn mài"),
    "silk": ("Khăn lụa tơ tằm Vạn Phúc", "handicraft", "lụa tơ tằm"),
    "tea": ("Trà sen Tây Hồ", "beverage", "trà"),
    "noodles": ("Miến dong Minh Hồng", "food", "miến dong"),
    "box": ("Hộp sơn mài khảm trai", "handicraft", "sơn mài"),
    "tray": ("Khay sơn mài Chuyên Mỹ", "handicraft", "sơn mài"),
    "vermicelli": ("Miến dong Cự Đà", "food", "miến dong"),
    "glutinous": ("Tương nếp Cự Đà", "food", "gia vị"),
    "lotus": ("Trà sen bách diệp", "beverage", "trà"),
}

# when (a date, or days before today), case, trigger, who, data, reason
EVENTS: list[tuple[str | int, str, str, str, dict[str, Any] | None, str | None]] = [
    ("2022-05-09", "silk_1048", "register", "htx.luavanphuc", None, None),
    ("2022-05-10", "silk_1048", "submit", "lethao.vanphuc", DOCS, None),
    ("2022-05-16", "silk_1048", "start_review", "maiphuong.hadong", None, None),
    ("2022-06-20", "silk_1048", "record_district_score", "maiphuong.hadong",
     sheets((30, 20, 30)), None),
    ("2022-08-15", "silk_1048", "record_city_score", "hoangnam.vpdp", sheets((31, 20, 29)), None),
    ("2024-03-04", "soya_148", "register", "htx.tuongcuda", None, None),
    ("2024-03-05", "soya_148", "submit", "htx.tuongcuda", DOCS, None),
    ("2024-03-11", "soya_148", "start_review", "buiduc.thanhoai", None, None),
    ("2024-04-02", "soya_148", "record_district_score", "buiduc.thanhoai",
     sheets((33, 20, 28), (35, 21, 27)), None),
    ("2024-04-15", "soya_148", "verify_ip", "dokhoa.sokhcn",
     trademark("4-0312345-000", "HTX Tương Cự Đà", "2019-08-20"), None),
    ("2024-06-10", "soya_148", "record_city_score", "hoangnam.vpdp", sheets((34, 21, 28)), None),
    ("2024-08-05", "lacquer_148", "register", "coso.khamtrai", None, None),
    ("2024-08-06", "lacquer_148", "submit", "coso.khamtrai", DOCS, None),
    ("2024-08-12", "lacquer_148", "start_review", "daoquang.phuxuyen", None, None),
    ("2024-09-09", "lacquer_148", "record_district_score", "daoquang.phuxuyen",
     sheets((26, 16, 20)), None),
    (150, "silk", "register", "htx.luavanphuc", None, None),
    (149, "silk", "submit", "htx.luavanphuc", DOCS, None),
    (145, "silk", "start_review", "lethao.vanphuc", None, None),
    (132, "silk", "record_commune_prescore", "lethao.vanphuc", CRITERIA, None),
    (120, "silk", "verify_ip", "dokhoa.sokhcn",
     trademark("4-0401234-000", "HTX Lụa Vạn Phúc", "2020-03-12"), None),
    (60, "silk", "record_city_score", "hoangnam.vpdp", sheets((38, 24, 30), (37, 24, 31)), None),
    (75, "tea", "register", "congty.trasen", None, None),
    (74, "tea", "submit", "congty.trasen", DOCS, None),
    (70, "tea", "start_review", "tranminh.quangan", None, None),
    (56, "tea", "record_commune_prescore", "tranminh.quangan", CRITERIA, None),
    (45, "tea", "verify_ip", "dokhoa.sokhcn",
     trademark("4-0298765-000", "Công ty TNHH Trà sen Quảng An", "2018-02-11"), None),
    (56, "noodles", "register", "tohoptac.miendong", None, None),
    (55, "noodles", "submit", "tohoptac.miendong", DOCS, None),
    (48, "noodles", "start_review", "vuhung.minhhong", None, None),
    (28, "noodles", "request_completion", "vuhung.minhhong", {"days": 30},
     "Thiếu phiếu kiểm nghiệm an toàn thực phẩm"),
    (40, "box", "register", "coso.khamtrai", None, None),
    (39, "box", "submit", "coso.khamtrai", DOCS, None),
    (35, "box", "start_review", "nguyenha.chuyenmy", None, None),
    (20, "box", "record_commune_prescore", "nguyenha.chuyenmy", CRITERIA, None),
    (29, "tray", "register", "coso.khamtrai", None, None),
    (28, "tray", "submit", "coso.khamtrai", DOCS, None),
    (21, "vermicelli", "register", "htx.tuongcuda", None, None),
    (20, "vermicelli", "submit", "htx.tuongcuda", DOCS, None),
    (14, "vermicelli", "start_review", "phamthu.cukhe", None, None),
    (6, "glutinous", "register", "htx.tuongcuda", None, None),
    (5, "glutinous", "submit", "htx.tuongcuda", DOCS, None),
    (2, "lotus", "register", "congty.trasen", None, None),
]


def is_empty(app: App) -> bool:
    with app.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases)).scalar_one() == 0


def tokens_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the demo users' tokens are written: ``$OCOP_HOME/demo-tokens.txt``."""
    return Path((os.environ if env is None else env).get("OCOP_HOME", "var")) / TOKENS_FILE


def load(app: App) -> dict[str, str]:
    """Load the demo; returns the API token of each demo user who may sign in."""
    today = max(local(app.clock.now()), EARLIEST_TODAY)
    clock = FixedClock(datetime(2022, 5, 9, 8, 0, tzinfo=VIETNAM))
    sim = bootstrap(replace(app.settings), clock=clock, db=app.db)
    tokens = _people(app, clock.now())
    step = _Stepper(sim, clock)
    for when, key, trigger, who, data, reason in sorted(
            EVENTS, key=lambda e: _moment(e[0], today)):
        step(_moment(when, today), key, trigger, who, data, reason)
    step.catch_up(max(today, local(app.clock.now())))
    _retire(app)
    return {name: token for name, token in tokens.items() if _role(name) not in RETIRED}


def save_tokens(path: Path, tokens: Mapping[str, str]) -> None:
    """``path``: one line per demo user — name, role, scope, token (the last field) — tab
    separated, under a ``#`` header line."""
    lines = ["# name\trole\tscope\ttoken (demo users; paste the token on the sign-in page)"]
    lines += [f"{name}\t{_role(name)}\t{_scope(name)}\t{token}" for name, token in tokens.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _role(name: str) -> str:
    staff = {user: role for user, role, *_ in STAFF}
    return staff.get(name, "producer")


def _scope(name: str) -> str:
    for user, _, district, commune in STAFF:
        if user == name:
            return commune or district or "Hà Nội"
    return PRODUCERS[PRODUCER_USERS.index(name)][0]


def _moment(when: str | int, today: datetime) -> datetime:
    if isinstance(when, int):
        return (today - timedelta(days=when)).replace(hour=9, minute=0, second=0,
                                                      microsecond=0)
    return datetime.fromisoformat(when).replace(hour=9, tzinfo=VIETNAM)


def _people(app: App, now: datetime) -> dict[str, str]:
    tokens: dict[str, str] = {}
    with write_transaction(app.db) as conn:
        ids = [registry.add_producer(conn, now, name, kind, district, commune, email)
               for name, kind, district, commune, email in PRODUCERS]
        for user, role, district, commune in STAFF:
            tokens[user] = registry.add_user(conn, now, user, role, district, commune)
        for user, pid in zip(PRODUCER_USERS, ids, strict=True):
            tokens[user] = registry.add_user(conn, now, user, "producer", producer_id=pid)
    return tokens


def _retire(app: App) -> None:
    """District officers keep their place in the record; nobody holds their token any more."""
    with write_transaction(app.db) as conn:
        for user, role, *_ in STAFF:
            if role in RETIRED:
                conn.execute(update(users).where(users.c.name == user).values(
                    token_hash=registry.token_hash(secrets.token_urlsafe(32))))


class _Stepper:
    def __init__(self, sim: App, clock: FixedClock) -> None:
        self.sim, self.clock = sim, clock
        self.sweeper = Sweeper(sim.engine)
        self.codes: dict[str, str] = {}

    def __call__(self, at: datetime, key: str, trigger: str, who: str,
                 data: dict[str, Any] | None, reason: str | None) -> None:
        self.catch_up(at)
        self.clock.set(at)
        with write_transaction(self.sim.db) as conn:
            actor = registry.actor_named(conn, who)
            if trigger == "register":
                product, group, subgroup = CASES[key]
                self.codes[key] = registry.register_case(
                    conn, at, actor, registry.Registration(
                        actor.producer_id or 0, product, group, subgroup),
                    public_url=self.sim.settings.public_url)
                return
        self.sim.engine.apply(Event(self.codes[key], trigger, actor, data or {}, reason))

    def catch_up(self, until: datetime) -> None:
        """Sweep at each moment a deadline fell due up to ``until``, as the scheduler would."""
        last = None
        while True:
            with self.sim.db.connect() as conn:
                due = conn.execute(select(func.min(deadlines.c.due_at))
                                   .where(deadlines.c.status == "open")).scalar()
            if due is None or due > until or due == last:
                return
            last = due
            self.clock.set(max(due, self.clock.now()))
            self.sweeper.run()
