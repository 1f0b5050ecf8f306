"""A case walks the whole 1489 lifecycle on the in-memory engine."""

from tests.support import DOCS, World, record_intact, sim_sheets
from workflow.store.audit import verify


def test_a_1489_case_goes_from_draft_to_a_city_4_star_certificate(world: World) -> None:
    """Registration, pre-score, IP check and city rating end in a valid city 4★ certificate."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "record_commune_prescore", "commune1", {"criteria": {
        "origin": True, "local_labour": True, "idea": True, "cultural_identity": True}})
    world.fire(code, "verify_ip", "ip", {"certificate_no": "4-1", "holder": "HTX Tương Cự Đà",
                                         "registered_on": "2020-01-01"})
    applied = world.fire(code, "record_city_score", "city", sim_sheets((35, 20, 25)))
    assert (applied.from_state, applied.to_state) == ("city_rating", "certified")
    with world.app.db.connect() as conn:
        from workflow.store.queries import case_view
        view = case_view(conn, code)
        assert verify(conn).ok
    record_intact(world.app)
    assert view["stars"] == 4 and view["certificate"]["level"] == "city"
    assert [h["trigger"] for h in view["history"]][-1] == "record_city_score"
