"""``ocop demo``: Hanoi producers with cases at every step, as a coordination office sees them
today.

Dossiers are backfilled on a simulated clock in date order, as staff importing files would,
with the deadline sweep run whenever a deadline fell due (escalations, reminders, certificate
notices and expiries happen when they would have): each case's history carries real dates and
the rule version of its time. Historic dossiers (1048 in 2022, 148 in 2024) keep fixed dates;
the live ones, all under Decision 1489, are dated back from today, so on any day there is work
waiting for every demo role: the commune officers, the IP officer, the city officer, the
producers, and an escalated case for the supervisor.

Each dossier has its documents uploaded before it is submitted (small PDFs made here), each
council score names its council (made by the officer who scores, with the members who sit),
and certificates carry the People's Committee decision — one recorded later, and one still
pending today, as the office meets them.

Units are the real ones of Hà Nội, by code. The producers were registered in their old communes
and districts; on 2025-07-01, when the districts and the old communes ended, the replay runs
``ocop units remap`` (the producers move to their successor communes) and the new communes'
officers take over. The officers of the retired units (the three districts, the old Vạn Phúc
ward) stay in the record and may still sign in, to read their history only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, func, select, update

import states
from workflow import certificate_pdf, councils, documents, registry, remap
from workflow.bootstrap import App, bootstrap
from workflow.clock import VIETNAM, FixedClock, local
from workflow.domain.facts import Actor, Event
from workflow.domain.guards import required_documents
from workflow.i18n import label
from workflow.store import units
from workflow.store.db import write_transaction
from workflow.store.schema import cases, deadlines, producers, users
from workflow.sweep import Sweeper

DOCS: dict[str, Any] = {}  # documents are uploaded before the submission (``_Stepper``)
CRITERIA = {"criteria": {"origin": True, "local_labour": True, "idea": True,
                         "cultural_identity": True}}
# The live cases are dated back from today, never from before this day.
EARLIEST_TODAY = datetime(2026, 11, 30, 9, 0, tzinfo=VIETNAM)
TOKENS_FILE = "demo-tokens.txt"


# The councils' members, in the order their sheets are given.
MEMBERS = ("Bà Nguyễn Thị Lan", "Ông Trần Văn Hùng", "Bà Lê Thu Hà")


def sheets(*totals: tuple[float, float, float], ok: bool = True) -> dict[str, Any]:
    return {"sheets": [{"member": member, "a": a, "b": b, "c": c}
                       for member, (a, b, c) in zip(MEMBERS, totals, strict=False)],
            "mandatory_ok": ok}


def decision(number: str, on: str, body: str = "UBND thành phố Hà Nội") -> dict[str, Any]:
    return {"number": number, "date": on, "body": body}


def trademark(number: str, holder: str, on: str) -> dict[str, Any]:
    return {"certificate_no": number, "holder": holder, "registered_on": on}


PRODUCERS = [
    # name, kind, district, commune (as they were in 2022), e-mail
    ("HTX Tương Cự Đà", "cooperative", "Thanh Oai", "Cự Khê", "tuongcuda@example.vn"),
    ("Cơ sở Sơn mài Khảm trai Chuyên Mỹ", "household", "Phú Xuyên", "Chuyên Mỹ",
     "khamtrai@example.vn"),
    ("HTX Lụa Vạn Phúc", "cooperative", "Hà Đông", "Vạn Phúc", "luavanphuc@example.vn"),
    ("Tổ hợp tác Miến dong Minh Hồng", "cooperative_group", "Ba Vì", "Minh Quang", None),
    ("Công ty TNHH Trà sen Quảng An", "enterprise", "Tây Hồ", "Quảng An", "trasen@example.vn"),
]

# Each producer's user, in the order of PRODUCERS.
PRODUCER_USERS = ("htx.tuongcuda", "coso.khamtrai", "htx.luavanphuc", "tohoptac.miendong",
                  "congty.trasen")

# name, role, district, commune (codes: the units of 2025-07-01, made then).
STAFF = [
    ("phamthu.binhminh", "commune_officer", None, "10126"),  # Xã Bình Minh (with Cự Khê)
    ("nguyenha.chuyenmy", "commune_officer", None, "10330"),  # Xã Chuyên Mỹ
    ("tranminh.tayho", "commune_officer", None, "00103"),  # Phường Tây Hồ (with Quảng An)
    ("lethao.hadong", "commune_officer", None, "09556"),  # Phường Hà Đông (with Vạn Phúc)
    ("vuhung.bavi", "commune_officer", None, "09700"),  # Xã Ba Vì (with Minh Quang)
]
# City-wide staff, there all along (made in 2022).
CITY_STAFF = [
    ("dokhoa.sokhcn", "ip_officer", None, None),
    ("hoangnam.vpdp", "city_officer", None, None),
    ("ngoclan.giamsat", "supervisor", None, None),
    ("quantri", "admin", None, None),
]
# The officers of units that ended on 2025-06-30: made in 2022, read-only since.
RETIRED_STAFF = [
    ("buiduc.thanhoai", "district_officer", "old:278", None),  # Huyện Thanh Oai
    ("daoquang.phuxuyen", "district_officer", "old:280", None),  # Huyện Phú Xuyên
    ("maiphuong.hadong", "district_officer", "old:268", None),  # Quận Hà Đông
    ("nguyenvan.vanphuc", "commune_officer", None, "old:09544"),  # Phường Vạn Phúc
]
REORGANISATION = datetime(2025, 7, 1, 8, 0, tzinfo=VIETNAM)

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
    ("2022-05-10", "silk_1048", "submit", "nguyenvan.vanphuc", DOCS, None),
    ("2022-05-16", "silk_1048", "start_review", "maiphuong.hadong", None, None),
    ("2022-06-20", "silk_1048", "record_district_score", "maiphuong.hadong",
     sheets((30, 20, 30)), None),
    ("2022-08-15", "silk_1048", "record_city_score", "hoangnam.vpdp", sheets((31, 20, 29)), None),
    ("2022-09-02", "silk_1048", "record_decision", "hoangnam.vpdp",
     decision("2786/QĐ-UBND", "2022-08-29"), None),
    ("2024-03-04", "soya_148", "register", "htx.tuongcuda", None, None),
    ("2024-03-05", "soya_148", "submit", "htx.tuongcuda", DOCS, None),
    ("2024-03-11", "soya_148", "start_review", "buiduc.thanhoai", None, None),
    ("2024-04-02", "soya_148", "record_district_score", "buiduc.thanhoai",
     sheets((33, 20, 28), (35, 21, 27)), None),
    ("2024-04-15", "soya_148", "verify_ip", "dokhoa.sokhcn",
     trademark("4-0312345-000", "HTX Tương Cự Đà", "2019-08-20"), None),
    ("2024-06-10", "soya_148", "record_city_score", "hoangnam.vpdp",
     {**sheets((34, 21, 28)), "scored_on": "2024-06-03",
      "decision": decision("3105/QĐ-UBND", "2024-06-07")}, None),
    ("2024-08-05", "lacquer_148", "register", "coso.khamtrai", None, None),
    ("2024-08-06", "lacquer_148", "submit", "coso.khamtrai", DOCS, None),
    ("2024-08-12", "lacquer_148", "start_review", "daoquang.phuxuyen", None, None),
    ("2024-09-09", "lacquer_148", "record_district_score", "daoquang.phuxuyen",
     {**sheets((26, 16, 20)), "decision": decision("1520/QĐ-UBND", "2024-09-09",
                                                   "UBND huyện Phú Xuyên")}, None),
    (150, "silk", "register", "htx.luavanphuc", None, None),
    (149, "silk", "submit", "htx.luavanphuc", DOCS, None),
    (145, "silk", "start_review", "lethao.hadong", None, None),
    (132, "silk", "record_commune_prescore", "lethao.hadong", CRITERIA, None),
    (120, "silk", "verify_ip", "dokhoa.sokhcn",
     trademark("4-0401234-000", "HTX Lụa Vạn Phúc", "2020-03-12"), None),
    (60, "silk", "record_city_score", "hoangnam.vpdp", sheets((38, 24, 30), (37, 24, 31)), None),
    (75, "tea", "register", "congty.trasen", None, None),
    (74, "tea", "submit", "congty.trasen", DOCS, None),
    (70, "tea", "start_review", "tranminh.tayho", None, None),
    (56, "tea", "record_commune_prescore", "tranminh.tayho", CRITERIA, None),
    (45, "tea", "verify_ip", "dokhoa.sokhcn",
     trademark("4-0298765-000", "Công ty TNHH Trà sen Quảng An", "2018-02-11"), None),
    (56, "noodles", "register", "tohoptac.miendong", None, None),
    (55, "noodles", "submit", "tohoptac.miendong", DOCS, None),
    (48, "noodles", "start_review", "vuhung.bavi", None, None),
    (28, "noodles", "request_completion", "vuhung.bavi", {"days": 30},
     "Thiếu phiếu kiểm nghiệm an toàn thực phẩm"),
    (40, "box", "register", "coso.khamtrai", None, None),
    (39, "box", "submit", "coso.khamtrai", DOCS, None),
    (35, "box", "start_review", "nguyenha.chuyenmy", None, None),
    (20, "box", "record_commune_prescore", "nguyenha.chuyenmy", CRITERIA, None),
    (29, "tray", "register", "coso.khamtrai", None, None),
    (28, "tray", "submit", "coso.khamtrai", DOCS, None),
    (21, "vermicelli", "register", "htx.tuongcuda", None, None),
    (20, "vermicelli", "submit", "htx.tuongcuda", DOCS, None),
    (14, "vermicelli", "start_review", "phamthu.binhminh", None, None),
    (6, "glutinous", "register", "htx.tuongcuda", None, None),
    (5, "glutinous", "submit", "htx.tuongcuda", DOCS, None),
    (2, "lotus", "register", "congty.trasen", None, None),
]


# The level of the council behind each scoring trigger.
SCORE_LEVELS = {"record_district_score": "district", "record_city_score": "city",
                "record_commune_prescore": "commune"}


def document_pdf(title: str, product: str) -> bytes:
    """A one-page PDF standing in for a dossier document of the demo."""
    from io import BytesIO

    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    certificate_pdf.register_fonts()
    out = BytesIO()
    page = Canvas(out, pagesize=A4, invariant=True)
    page.setFont(certificate_pdf.FONT, 16)
    page.drawString(72, 760, title)
    page.setFont(certificate_pdf.FONT, 12)
    page.drawString(72, 730, product)
    page.drawString(72, 710, "Tài liệu mẫu của bản trình diễn OCOP.")
    page.showPage()
    page.save()
    return out.getvalue()


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
    with write_transaction(app.db) as conn:
        units.ensure_loaded(conn, app.settings.province)
    tokens = _people(app, clock.now())
    step = _Stepper(sim, clock)
    reorganised = False
    for when, key, trigger, who, data, reason in sorted(
            EVENTS, key=lambda e: _moment(e[0], today)):
        at = _moment(when, today)
        if not reorganised and at >= REORGANISATION:
            tokens |= _reorganise(sim, step, clock)
            reorganised = True
        step(at, key, trigger, who, data, reason)
    step.catch_up(max(today, local(app.clock.now())))
    with write_transaction(app.db) as conn:  # issued as of today, as if handed out now
        conn.execute(update(users).values(
            token_expires_at=app.clock.now() + timedelta(days=app.settings.token_days)))
    return tokens


def save_tokens(path: Path, tokens: Mapping[str, str],
                who: Mapping[str, tuple[str, str]]) -> None:
    """``path``: one line per demo user — name, role, scope, token (the last field) — tab
    separated, under a ``#`` header line; ``who`` is :func:`people`."""
    lines = ["# name\trole\tscope\ttoken (demo users; sign in with the name and the token)"]
    lines += [f"{name}\t{who[name][0]}\t{who[name][1]}\t{token}"
              for name, token in tokens.items()]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def people(app: App) -> dict[str, tuple[str, str]]:
    """Each user's role and scope as the database has them: an officer's unit (name and key,
    with the day a retired one ended), a producer user's producer, or the city."""
    with app.db.connect() as conn:
        rows = conn.execute(select(users.c.name, users.c.role, users.c.unit_code,
                                   producers.c.name.label("producer"))
                            .outerjoin(producers, producers.c.id == users.c.producer_id)).all()
        out = {}
        for r in rows:
            unit = units.maybe(conn, r.unit_code)
            ended = f" → {unit.valid_to.isoformat()}" if unit and unit.valid_to else ""
            scope = (f"{unit.name}{ended} [{unit.key}]" if unit
                     else r.producer or "Hà Nội")
            out[r.name] = (r.role, scope)
    return out


def _moment(when: str | int, today: datetime) -> datetime:
    if isinstance(when, int):
        return (today - timedelta(days=when)).replace(hour=9, minute=0, second=0,
                                                      microsecond=0)
    return datetime.fromisoformat(when).replace(hour=9, tzinfo=VIETNAM)


def _people(app: App, now: datetime) -> dict[str, str]:
    """The producers in their 2022 units, their users and the officers of that time."""
    tokens: dict[str, str] = {}
    with write_transaction(app.db) as conn:
        ids = [registry.add_producer(conn, now, name, kind, district, commune, email)
               for name, kind, district, commune, email in PRODUCERS]
        tokens |= _staff(conn, now, CITY_STAFF + RETIRED_STAFF)
        for user, pid in zip(PRODUCER_USERS, ids, strict=True):
            tokens[user] = registry.add_user(conn, now, user, "producer", producer_id=pid,
                                             created_by="demo", token_days=TOKEN_DAYS)
    return tokens


TOKEN_DAYS = 3650  # while the replay runs from 2022; `load` dates them from today at the end


def _staff(conn: Connection, now: datetime,
           rows: Sequence[tuple[str, str, str | None, str | None]]) -> dict[str, str]:
    return {user: registry.add_user(conn, now, user, role, district, commune,
                                    created_by="demo", token_days=TOKEN_DAYS)
            for user, role, district, commune in rows}


def _reorganise(sim: App, step: _Stepper, clock: FixedClock) -> dict[str, str]:
    """2025-07-01: the old units end; producers (and any open case) move to the new communes,
    whose officers get their accounts."""
    step.catch_up(REORGANISATION)
    clock.set(REORGANISATION)
    remap.run(sim.db, REORGANISATION, sim.settings, "demo")
    with write_transaction(sim.db) as conn:
        return _staff(conn, REORGANISATION, STAFF)


class _Stepper:
    def __init__(self, sim: App, clock: FixedClock) -> None:
        self.sim, self.clock = sim, clock
        self.sweeper = Sweeper(sim.engine)
        self.codes: dict[str, str] = {}
        self.councils: dict[tuple[str, str, int, tuple[str, ...]], int] = {}

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
            else:
                data = self._council(conn, at, key, trigger, actor, dict(data or {}))
        if trigger == "register":
            self._upload(key, actor)
            return
        self.sim.engine.apply(Event(self.codes[key], trigger, actor, data or {}, reason))

    def _upload(self, key: str, actor: Actor) -> None:
        """The documents the rule version asks for (and any the settings add), uploaded by
        the producer as they draft the dossier."""
        code = self.codes[key]
        with self.sim.db.connect() as conn:
            rules = conn.execute(select(cases.c.rule_version)
                                 .where(cases.c.code == code)).scalar_one()
        needed = (*states.lifecycle(rules).required_documents,
                  *required_documents(self.sim.settings, rules))
        for kind in dict.fromkeys(needed):
            title = label("document", kind, "vi")
            documents.add(self.sim, actor, code, kind, f"{title}.pdf",
                          document_pdf(title, CASES[key][0]))

    def _council(self, conn: Connection, at: datetime, key: str, trigger: str, actor: Actor,
                 data: dict[str, Any]) -> dict[str, Any]:
        """A scoring event's council: the one its officer made for the sheets' members
        (made now, on the first score it gives)."""
        level = SCORE_LEVELS.get(trigger)
        if level is None or not data.get("sheets"):
            return data
        case = conn.execute(select(cases.c.district_code, cases.c.commune_code)
                            .where(cases.c.code == self.codes[key])).one()
        unit = {"city": self.sim.settings.province, "district": case.district_code,
                "commune": case.commune_code}[level]
        members = [s["member"] for s in data["sheets"]]
        made = (level, unit, at.year, tuple(members))
        if made not in self.councils:
            self.councils[made] = councils.add(conn, at, actor, level, str(unit), at.year,
                                               members, settings=self.sim.settings)["id"]
        return {**data, "council": self.councils[made]}

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
