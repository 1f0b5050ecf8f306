"""The answers to writes under load (issue 14): ``Prefer: return=minimal`` answers an event with
what the transition did and a registration with the case's code, state and version, saying so
in ``Preference-Applied``; without it an event is answered with the case and its newest 20
audit entries (``history_total`` counts them all), while GET stays complete."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.api_support import TestClient, bearer, client
from tests.support import DOCS, World, make_app
from workflow.cli import serve_cmd
from workflow.store import queries
from workflow.web.api.config import ApiConfig, default_workers, serve_workers

MINIMAL = {"Prefer": "return=minimal"}
STEPS = (("request_completion", "commune1", "one more document"), ("resubmit", "producer1", None))


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def in_prescore(world: World) -> str:
    """A case of producer1 in the commune's pre-scoring, three audit entries long."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    return code


def back_and_forth(world: World, code: str, times: int) -> None:
    """``times`` audited transitions through the engine: completion asked, dossier resubmitted."""
    for k in range(times):
        trigger, who, reason = STEPS[k % 2]
        world.fire(code, trigger, who, reason=reason)


def post(api: TestClient, world: World, code: str, step: int = 0,
         **headers: str) -> Any:
    trigger, who, reason = STEPS[step]
    return api.post(f"/api/v1/cases/{code}/events", json={"trigger": trigger, "reason": reason},
                    headers={**bearer(world.tokens[who]), **headers})


def shown(api: TestClient, world: World, code: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/cases/{code}", headers=bearer(world.tokens["commune1"]))
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


def test_return_minimal_answers_an_event_with_what_the_transition_did(
        api: TestClient, world: World) -> None:
    """The summary names the trigger, both states, the new version (also the ETag), the audit
    entry and the queued notices; the case itself moved as the summary says."""
    code = in_prescore(world)
    r = post(api, world, code, **MINIMAL)
    assert r.status_code == 200, r.text
    assert r.headers["preference-applied"] == "return=minimal"
    body = r.json()
    assert {k: body[k] for k in ("code", "trigger", "from", "to", "version", "seq", "replayed")
            } == {"code": code, "trigger": "request_completion", "from": "commune_prescore",
                  "to": "needs_completion", "version": 4, "seq": 4, "replayed": False}
    assert set(body) == {"code", "trigger", "from", "to", "version", "seq", "message_ids",
                         "replayed"}
    with world.app.db.connect() as conn:
        queued = [m["message_id"] for m in queries.list_outbox(conn, code) if m["seq"] == 4]
    assert body["message_ids"] == queued and queued
    assert r.headers["etag"] == '"4"'
    case = shown(api, world, code)
    assert (case["state"], case["version"], case["history"][-1]["seq"]) == (
        "needs_completion", 4, 4)


@pytest.mark.parametrize("prefer", ["respond-async, return=minimal; x=1", 'RETURN="minimal"'])
def test_return_minimal_is_found_among_other_preferences(
        api: TestClient, world: World, prefer: str) -> None:
    """RFC 7240: several preferences, parameters, case and quotes do not hide it."""
    code = in_prescore(world)
    r = post(api, world, code, Prefer=prefer)
    assert r.status_code == 200 and r.headers["preference-applied"] == "return=minimal"
    assert r.json()["to"] == "needs_completion" and "history" not in r.json()


@pytest.mark.parametrize("prefer", [None, "return=representation", "return=minimalist", "%%"])
def test_without_return_minimal_the_event_is_answered_with_the_case(
        api: TestClient, world: World, prefer: str | None) -> None:
    """The default (and any other preference, even an unreadable one) is the case, with no
    Preference-Applied."""
    code = in_prescore(world)
    r = post(api, world, code, **({"Prefer": prefer} if prefer else {}))
    assert r.status_code == 200 and "preference-applied" not in r.headers
    case = r.json()
    assert (case["state"], case["version"], case["history_total"]) == ("needs_completion", 4, 4)
    assert [h["seq"] for h in case["history"]] == [1, 2, 3, 4]


def test_the_answer_to_an_event_holds_the_newest_20_entries_and_get_holds_them_all(
        api: TestClient, world: World) -> None:
    """A case 28 entries long: the event's answer carries entries 9 to 28 in order and
    ``history_total`` 28; GET carries all 28 and no count; both agree on everything else."""
    code = in_prescore(world)
    back_and_forth(world, code, 24)
    r = post(api, world, code)
    assert r.status_code == 200
    answer = r.json()
    assert answer["history_total"] == 28
    assert [h["seq"] for h in answer["history"]] == list(range(9, 29))
    case = shown(api, world, code)
    assert [h["seq"] for h in case["history"]] == list(range(1, 29))
    assert "history_total" not in case
    assert answer["history"] == case["history"][-20:]
    assert {k: v for k, v in answer.items() if k not in ("history", "history_total")} == {
        k: v for k, v in case.items() if k != "history"}


def test_an_idempotent_replay_answers_as_the_first_did_in_either_form(
        api: TestClient, world: World) -> None:
    """With a key, the first full answer is cut like any other and its replay is identical; a
    minimal replay names the first transition's audit entry and is marked as a replay."""
    code = in_prescore(world)
    back_and_forth(world, code, 20)
    key = {"Idempotency-Key": "ask-once"}
    first = post(api, world, code, **key)
    again = post(api, world, code, **key)
    assert again.headers["idempotent-replayed"] == "true" and again.json() == first.json()
    assert first.json()["history_total"] == 24 and len(first.json()["history"]) == 20
    short = post(api, world, code, **key, **MINIMAL)
    assert short.headers["idempotent-replayed"] == "true"
    assert short.headers["preference-applied"] == "return=minimal"
    assert {k: short.json()[k] for k in ("seq", "version", "replayed", "message_ids")} == {
        "seq": 24, "version": 24, "replayed": True, "message_ids": []}
    assert shown(api, world, code)["version"] == 24


def test_return_minimal_answers_a_registration_with_code_state_and_version(
        api: TestClient, world: World) -> None:
    """201 with the new case's location, its ETag, and only its code, state and version."""
    r = api.post("/api/v1/cases", headers={**bearer(world.tokens["city"]), **MINIMAL},
                 json={"producer": world.p1, "product": "Chè Ba Vì", "group": "food"})
    assert r.status_code == 201 and r.headers["preference-applied"] == "return=minimal"
    code = r.json()["code"]
    assert r.json() == {"code": code, "state": "draft", "version": 1}
    assert r.headers["location"] == f"/api/v1/cases/{code}" and r.headers["etag"] == '"1"'
    assert shown(api, world, code)["product"] == "Chè Ba Vì"


def test_the_openapi_document_declares_the_prefer_header_and_both_answers(
        api: TestClient) -> None:
    """Both writes take a ``Prefer`` header; each 2xx answer is the case or the summary."""
    doc = api.get("/openapi.json").json()
    for path, status, short in (("/api/v1/cases/{code}/events", "200", "EventApplied"),
                                ("/api/v1/cases", "201", "Registered")):
        operation = doc["paths"][path]["post"]
        header = [p for p in operation["parameters"] if p["name"] == "prefer"]
        assert header and header[0]["in"] == "header" and "return=minimal" in header[0][
            "description"]
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert {s["$ref"].rsplit("/", 1)[1] for s in schema["anyOf"]} == {"Case", short}
    assert "history_total" in doc["components"]["schemas"]["Case"]["properties"]


@pytest.mark.postgres
def test_the_newest_entries_and_their_count_are_one_statement_on_postgresql(
        pg_url: str) -> None:
    """The window count taken before the limit gives the same entries and total on PostgreSQL
    as the whole history does."""
    world = World(make_app(pg_url))
    try:
        code = in_prescore(world)
        back_and_forth(world, code, 4)
        with world.app.db.connect() as conn:
            case_id = queries.case_row(conn, code)["id"]
            whole = queries.history(conn, case_id)
            assert queries.recent_history(conn, case_id, 5) == (whole[-5:], 7)
            assert queries.recent_history(conn, case_id, 20) == (whole, 7)
            assert queries.recent_history(conn, -1, 5) == ([], 0)
    finally:
        world.app.close()


@pytest.mark.parametrize(("url", "cores", "expected"), [
    ("postgresql+psycopg://h/db", 2, 2), ("postgresql+psycopg://h/db", 16, 4),
    ("postgresql+psycopg://h/db", 1, 1), ("sqlite:///var/ocop.db", 8, 1)])
def test_serve_runs_one_worker_per_core_up_to_four_on_postgresql_and_one_on_sqlite(
        url: str, cores: int, expected: int) -> None:
    """The default of ``ocop serve --workers`` (``OCOP_API_WORKERS``)."""
    assert default_workers(url, cores) == expected


def test_several_workers_counting_sign_ins_in_memory_are_warned_about() -> None:
    """A count given wins over the default; with ``memory://`` and more than one worker the
    warning names OCOP_RATELIMIT_URL, with a shared store or one worker there is none."""
    sqlite, shared = "sqlite:///x.db", ApiConfig(ratelimit_url="redis://127.0.0.1:6379/2")
    with capture_logs() as logs:
        assert serve_workers(3, sqlite, ApiConfig()) == 3
        assert serve_workers(3, sqlite, shared) == 3
        assert serve_workers(None, sqlite, ApiConfig()) == 1
    assert [(e["event"], e["workers"], e["set"]) for e in logs] == [
        ("signin_failures_counted_per_worker", 3, "OCOP_RATELIMIT_URL")]


def test_several_workers_each_listen_on_a_socket_of_their_own_answering_without_nagle(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``ocop serve --workers N`` hands each worker its own listening socket on the one port
    (``SO_REUSEPORT``: the kernel spreads connections over the workers), each marked TCP, so
    asyncio turns Nagle's algorithm off on every accepted connection (uvicorn's own leaves it
    on, and each keep-alive answer then waits ~40 ms for the client's delayed ACK)."""
    handed: list[list[socket.socket]] = []

    class Supervisor:
        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            assert config.workers == 2

        def run(self) -> None:
            """The workers would start here."""
            handed.extend(self.per_worker)  # type: ignore[attr-defined]

    monkeypatch.setattr("uvicorn.supervisors.Multiprocess", Supervisor)
    serve_cmd.run_workers("127.0.0.1", 0, 2)
    assert [len(own) for own in handed] == [1, 1]
    first, second = handed[0][0], handed[1][0]
    with first, second:
        assert first is not second and first.fileno() != second.fileno()
        assert first.getsockname() == second.getsockname()  # one port
        for listening in (first, second):
            assert listening.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 1
            assert listening.proto == socket.IPPROTO_TCP
        assert asyncio.run(accepted_nodelay(first, second)) == 1


async def accepted_nodelay(*listening: socket.socket) -> int:
    """TCP_NODELAY on the server side of one connection accepted the way uvicorn accepts (on
    whichever of the ``listening`` sockets of one port the kernel gives it to)."""
    seen: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            sock = transport.get_extra_info("socket")
            if not seen.done():
                seen.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            transport.close()

    loop = asyncio.get_running_loop()
    servers = [await loop.create_server(Probe, sock=s) for s in listening]
    _, writer = await asyncio.open_connection(*listening[0].getsockname()[:2])
    try:
        return await asyncio.wait_for(seen, 5)
    finally:
        writer.close()
        for server in servers:
            server.close()
            await server.wait_closed()
