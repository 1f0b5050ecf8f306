"""Errors become RFC 9457 problem documents in one place, with the status the core table gives."""

from __future__ import annotations

import pytest
from fastapi import FastAPI

from tests.api_support import TestClient
from workflow.api import problems
from workflow.errors import STATUS, OcopError


def raising(error: OcopError) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize("cls", [c for c in STATUS if c is not OcopError], ids=lambda c: c.__name__)
def test_every_engine_error_answers_with_the_http_status_of_the_core_table(
        cls: type[OcopError]) -> None:
    """Each class in ``workflow.errors.STATUS`` maps to its HTTP status as problem+json."""
    r = raising(cls("Case X is in state draft; a sentence.", hint="h")).get("/boom")
    assert r.status_code == STATUS[cls][1]
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == r.status_code and body["detail"].startswith("Case X")
    assert body["kind"] == cls.kind and body["type"] == f"urn:ocop:problem:{cls.kind}"
    assert body["hint"] == "h" and body["instance"] == "/boom"


@pytest.mark.parametrize(("cls", "status"), [(problems.BodyTooLarge, 413),
                                             (problems.Malformed, 400)])
def test_the_two_http_only_conditions_have_their_own_status(
        cls: type[OcopError], status: int) -> None:
    """A body too large is 413 and an unreadable body or header is 400."""
    assert raising(cls("no")).get("/boom").status_code == status


def test_an_unknown_route_is_a_404_problem_too() -> None:
    """Even the framework's own errors answer as problem documents."""
    r = raising(OcopError("x")).get("/nowhere")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
