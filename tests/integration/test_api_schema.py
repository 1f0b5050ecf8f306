"""Schemathesis against the OpenAPI document, in process, on PostgreSQL: whatever it sends,
no answer is a 5xx, and every answer matches the schema the API publishes for it.

Generated path parameters are mostly unknown codes (404), so half of the examples aim at real
cases, producers and certificates instead, and events draw real trigger names and callers:
the engine's guards then see random data.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest
import structlog
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.openapi import from_asgi

import tests.api_support  # noqa: F401  (imports the test client quietly, before schemathesis)
from tests.support import DOCS, World, sim_sheets
from workflow.bootstrap import App
from workflow.engine import ALL_TRIGGERS
from workflow.store.queries import case_view
from workflow.web.api.config import ApiConfig
from workflow.web.app import create_app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance,
          status_code_conformance]
CALLERS = ("producer1", "commune1", "district1", "ip", "city", "supervisor", "admin")


def real_things(world: World) -> dict[str, list[Any]]:
    """Cases in several states, a certificate, the producers: targets worth hitting."""
    codes = [world.register() for _ in range(3)]
    world.fire(codes[1], "submit", "producer1", DOCS)
    world.fire(codes[2], "submit", "producer1", DOCS)
    world.fire(codes[2], "start_review", "commune1")
    old = world.register(rules="148")
    world.fire(old, "submit", "producer1", DOCS)
    world.fire(old, "start_review", "commune1")  # the district's successor since 2025-07-01
    world.fire(old, "record_district_score", "commune1", sim_sheets((25, 15, 20)))
    with world.app.db.connect() as conn:
        number = case_view(conn, old)["certificate"]["number"]
    return {"code": [*codes, old], "producer_id": [world.p1, world.p2],
            "certificate_no": [number]}


def aim(case: Any, draw: Any, things: dict[str, list[Any]]) -> None:
    """Point half the examples at real objects and real trigger names."""
    for name, values in things.items():
        if case.path_parameters and name in case.path_parameters and draw(st.booleans()):
            case.path_parameters[name] = draw(st.sampled_from(values))
    if isinstance(case.body, dict) and draw(st.booleans()):
        if "trigger" in case.body:
            case.body["trigger"] = draw(st.sampled_from(ALL_TRIGGERS))
        if "producer" in case.body:
            case.body["producer"] = draw(st.sampled_from(things["producer_id"]))


def test_no_generated_request_gets_a_server_error_or_breaks_the_published_schema(
        pg_app: App) -> None:
    """Every operation, 25 examples each (derandomized): no 5xx, responses as documented."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    world = World(pg_app)
    things = real_things(world)
    schema = from_asgi("/openapi.json", create_app(pg_app, ApiConfig()))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 16
    for operation in operations:
        exercise(operation, world, things)


def exercise(operation: Any, world: World, things: dict[str, list[Any]]) -> None:
    @settings(max_examples=25, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), data=st.data())
    def run(case: Any, data: Any) -> None:
        aim(case, data.draw, things)
        caller = data.draw(st.sampled_from(CALLERS))
        case.call_and_validate(headers={"Authorization": f"Bearer {world.tokens[caller]}"},
                               checks=CHECKS)

    run()
