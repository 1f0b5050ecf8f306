"""``ocop demo``: a handful of Hanoi producers with cases in several states.

Dossiers are backfilled on a simulated clock (as staff importing historic files would), so each
case's history carries real dates and the rule version of its time.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from workflow import registry
from workflow.bootstrap import App, bootstrap
from workflow.clock import VIETNAM, FixedClock
from workflow.db import write_transaction
from workflow.facts import Event
from workflow.schema import cases

DOCS = {"documents": ["registration_form", "business_plan", "product_standard"]}


def sheets(*totals: tuple[float, float, float], ok: bool = True) -> dict[str, Any]:
    return {"sheets": [{"member": f"Thành viên {i}", "a": a, "b": b, "c": c}
                       for i, (a, b, c) in enumerate(totals, 1)], "mandatory_ok": ok}


PRODUCERS = [
    # name, kind, district, commune, email, product, group, subgroup
    ("HTX Tương Cự Đà", "cooperative", "Thanh Oai", "Cự Khê", "tuongcuda@example.vn",
     "Tương Cự Đà", "food", "seasonings"),
    ("Cơ sở Sơn mài Khảm trai Chuyên Mỹ", "household", "Phú Xuyên", "Chuyên Mỹ",
     "khamtrai@example.vn", "Tranh sơn mài khảm trai", "handicraft", "lacquer"),
    ("HTX Lụa Vạn Phúc", "cooperative", "Hà Đông", "Vạn Phúc", "luavanphuc@example.vn",
     "Khăn lụa tơ tằm Vạn Phúc", "handicraft", "silk"),
    ("Tổ hợp tác Miến dong Minh Hồng", "cooperative_group", "Ba Vì", "Minh Hồng", None,
     "Miến dong Minh Hồng", "food", "rice and starch noodles"),
    ("Công ty TNHH Trà sen Quảng An", "enterprise", "Tây Hồ", "Quảng An",
     "trasen@example.vn", "Trà sen Tây Hồ", "beverage", "tea"),
]

STAFF = [
    ("thanhoai.officer", "district_officer", "Thanh Oai", None),
    ("phuxuyen.officer", "district_officer", "Phú Xuyên", None),
    ("hadong.officer", "district_officer", "Hà Đông", None),
    ("cukhe.officer", "commune_officer", None, "Cự Khê"),
    ("chuyenmy.officer", "commune_officer", None, "Chuyên Mỹ"),
    ("quangan.officer", "commune_officer", None, "Quảng An"),
    ("vanphuc.officer", "commune_officer", None, "Vạn Phúc"),
    ("minhhong.officer", "commune_officer", None, "Minh Hồng"),
    ("dost.ip", "ip_officer", None, None),
    ("city.office", "city_officer", None, None),
    ("supervisor", "supervisor", None, None),
    ("admin", "admin", None, None),
]


def is_empty(app: App) -> bool:
    with app.db.connect() as conn:
        return conn.execute(select(func.count()).select_from(cases)).scalar_one() == 0


def load(app: App) -> dict[str, str]:
    """Load the demo; returns each demo user's API token."""
    clock = FixedClock(datetime(2024, 3, 4, 9, 0, tzinfo=VIETNAM))
    sim = bootstrap(replace(app.settings), clock=clock, db=app.db)
    tokens: dict[str, str] = {}
    ids: list[int] = []
    with write_transaction(app.db) as conn:
        for name, kind, district, commune, email, *_ in PRODUCERS:
            ids.append(registry.add_producer(conn, clock.now(), name, kind, district, commune,
                                             email))
        for user, role, user_district, user_commune in STAFF:
            tokens[user] = registry.add_user(conn, clock.now(), user, role, user_district,
                                             user_commune)
        for i, pid in enumerate(ids):
            tokens[f"producer{i + 1}"] = registry.add_user(
                conn, clock.now(), f"producer{i + 1}", "producer", producer_id=pid)
    step = _stepper(sim, clock)
    soya = step.register(ids[0], 0, "2024-03-04")
    step(soya, "submit", "producer1", "2024-03-05", DOCS)
    step(soya, "start_review", "thanhoai.officer", "2024-03-11")
    step(soya, "record_district_score", "thanhoai.officer", "2024-04-02",
         sheets((33, 20, 28), (35, 21, 27)))
    step(soya, "verify_ip", "dost.ip", "2024-04-15",
         {"certificate_no": "4-0312345-000", "holder": "HTX Tương Cự Đà",
          "registered_on": "2019-08-20"})
    step(soya, "record_city_score", "city.office", "2024-06-10", sheets((34, 21, 28)))
    lacquer = step.register(ids[1], 1, "2025-08-04")
    step(lacquer, "submit", "producer2", "2025-08-05", DOCS)
    step(lacquer, "start_review", "chuyenmy.officer", "2025-08-11")
    step(lacquer, "record_commune_prescore", "chuyenmy.officer", "2025-08-25",
         {"criteria": {"origin": True, "local_labour": True, "idea": True,
                       "cultural_identity": True}})
    step(lacquer, "record_no_ip", "dost.ip", "2025-09-08", reason="no trademark registered yet")
    silk = step.register(ids[2], 2, "2022-05-09", rules="1048", group="fabric_garment")
    step(silk, "submit", "vanphuc.officer", "2022-05-10", DOCS)
    step(silk, "start_review", "hadong.officer", "2022-05-16")
    step(silk, "record_district_score", "hadong.officer", "2022-06-20",
         sheets((30, 20, 30)))
    step(silk, "record_city_score", "city.office", "2022-08-15", sheets((31, 20, 29)))
    noodles = step.register(ids[3], 3, "2026-10-05")
    step(noodles, "submit", "producer4", "2026-10-06", DOCS)
    step(noodles, "start_review", "minhhong.officer", "2026-10-12")
    step(noodles, "request_completion", "minhhong.officer", "2026-11-02",
         {"days": 30}, reason="Thiếu phiếu kiểm nghiệm an toàn thực phẩm")
    tea = step.register(ids[4], 4, "2025-09-01")
    step(tea, "submit", "producer5", "2025-09-02", DOCS)
    step(tea, "start_review", "quangan.officer", "2025-09-08")
    step(tea, "record_commune_prescore", "quangan.officer", "2025-09-22",
         {"criteria": {"origin": True, "local_labour": True, "idea": True,
                       "cultural_identity": True}})
    step(tea, "verify_ip", "dost.ip", "2025-10-06",
         {"certificate_no": "4-0298765-000", "holder": "Công ty TNHH Trà sen Quảng An",
          "registered_on": "2018-02-11"})
    step(tea, "record_city_score", "city.office", "2025-11-20",
         sheets((38, 24, 30), (37, 23, 31)))
    return tokens


class _stepper:
    def __init__(self, sim: App, clock: FixedClock) -> None:
        self.sim, self.clock = sim, clock

    def _at(self, day: str) -> None:
        self.clock.set(datetime.fromisoformat(day).replace(hour=9, tzinfo=VIETNAM))

    def register(self, producer_id: int, i: int, day: str, rules: str | None = None,
                 group: str | None = None) -> str:
        self._at(day)
        _, _, _, _, _, product, default_group, subgroup = PRODUCERS[i]
        with write_transaction(self.sim.db) as conn:
            actor = registry.actor_named(conn, f"producer{i + 1}")
            return registry.register_case(conn, self.clock.now(), actor, registry.Registration(
                producer_id, product, group or default_group, subgroup, rules))

    def __call__(self, code: str, trigger: str, user: str, day: str,
                 data: dict[str, Any] | None = None, reason: str | None = None) -> None:
        self._at(day)
        with self.sim.db.connect() as conn:
            actor = registry.actor_named(conn, user)
        self.sim.engine.apply(Event(code, trigger, actor, data or {}, reason))

