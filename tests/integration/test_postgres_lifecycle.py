"""The engine on real PostgreSQL: migrations apply and a 148 case is certified by the district."""

from datetime import datetime

import pytest

from tests.support import DOCS, sim_sheets
from tests.unit.lifecycle_support import EraWorld
from workflow.bootstrap import App
from workflow.clock import VIETNAM, FixedClock
from workflow.store.audit import verify

pytestmark = pytest.mark.postgres


def test_a_148_case_scored_50_to_70_gets_a_district_3_star_certificate(
        clock: FixedClock, pg_app: App) -> None:
    """Under Decision 148 the district certifies 3★ itself (March 2025: the Thanh Oai district
    officer, for a producer of Cự Khê); the audit chain verifies on PG."""
    clock.set(datetime(2025, 3, 4, 9, 0, tzinfo=VIETNAM))
    world = EraWorld(pg_app)
    code = world.register(rules="148")
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "district1")
    applied = world.fire(code, "record_district_score", "district1", sim_sheets((25, 15, 20)))
    assert applied.to_state == "certified"
    with pg_app.db.connect() as conn:
        from workflow.store.queries import case_view
        view = case_view(conn, code)
        assert verify(conn).ok
    assert view["certificate"]["level"] == "district" and view["certificate"]["stars"] == 3
    assert view["certificate"]["number"].startswith("HN-H-2025-")
    assert (view["district_code"], view["commune_code"]) == ("old:278", "old:10120")
