"""A stateful fuzz test of the HTTP API (issue 10, "Must show"): a hypothesis state machine
drives the real app on a real PostgreSQL database with every role — producer (the owner and
another), commune officer (in scope and not), district officer (read-only since the 2025
reorganisation), IP officer, city officer, supervisor, admin, a wrong token and no token.

It follows the state it makes: registers producers' cases and producers, fires events on those
cases (the data a trigger needs, the same data bent out of shape, or whatever schemathesis
generates), reads them back (case, history, what may be done), makes, disables, re-enables,
rotates and deletes accounts it created, advances the clock and runs the deadline sweep; and
between these sends schemathesis' own requests, valid and invalid (bodies, query and path
parameters, headers), to every operation of the published OpenAPI document.

Every answer is checked as it comes: no status >= 500; the response conforms to the OpenAPI
document (schemathesis' status code, content type and schema checks); every 4xx of
``/api/v1`` is an ``application/problem+json`` document with a sentence in ``detail``; a case
that was read once keeps reading. After the run, ``ocop audit verify`` over the database exits
0. The budget is bounded and derandomized, so CI sees the same run every time.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
import structlog
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    multiple,
    rule,
    run_state_machine_as_test,
)
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.openapi import from_asgi

from tests.api_support import TestClient
from tests.integration.workers import ROOT
from tests.support import BINH_MINH, DOCS, HA_DONG, START, World
from tests.unit.lifecycle_support import CRITERIA, PRODUCER1_NAME, Driver, scores
from workflow.bootstrap import App
from workflow.engine import ALL_TRIGGERS
from workflow.sweep import Sweeper
from workflow.web.api.config import ApiConfig
from workflow.web.app import create_app

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance,
          status_code_conformance]
# Who calls: every role, in scope and out of it, a token nobody holds and no token at all.
CALLERS = ("producer1", "producer2", "commune1", "commune2", "district1", "district2", "ip",
           "city", "supervisor", "admin", "wrong-token", None)
# Who moves cases on, in this order: the first one who may do something does it.
ADVANCERS = ("producer1", "producer2", "commune1", "commune2", "ip", "city", "supervisor")
# Callers drawn for making things: mostly someone who may, often anyone.
MAKERS = st.sampled_from(("admin", "city", "commune1")) | st.sampled_from(CALLERS)
ADMIN_OR_ANYONE = st.just("admin") | st.sampled_from(CALLERS)
SCORING = ("record_district_score", "record_city_score")
# The data each trigger needs to go ahead (scoring triggers: see ``event_data``).
GOOD_DATA: dict[str, dict[str, Any]] = {
    "submit": DOCS,
    "request_completion": {"days": 10},
    "record_commune_prescore": {"criteria": CRITERIA},
    "verify_ip": {"certificate_no": "4-0123456", "holder": PRODUCER1_NAME,
                  "registered_on": "2021-05-17"},
    "record_central_result": {"passed": True, "decision_no": "QĐ-123/BNN"},
    "open_reevaluation": {"reason": "expiry"},
    "revoke": {"reason_code": "violation"},
    "escalate": {"deadline": "review_start", "level": 1},
}
REASONS = {"request_completion": "the product label is missing",
           "record_no_ip": "no trademark registration yet"}
# How many state machine runs and steps: some 4,000 requests, about a minute on 2 cores.
RUNS, STEPS = 32, 70
TOUR = 12  # then this many of schemathesis' requests to each operation
# The cases the engine takes there before the run: every run starts with them too.
FURTHER_ON = (("1489", "certified"), ("1489", "city_rating"), ("148", "certified"),
              ("1489", "needs_completion"), ("148", "ip_check"), ("1048", "central_review"))
MISSING_CASE = "HN-2025-999999"  # what a refused registration leaves in the bundle

JSON_LEAF = (st.none() | st.booleans() | st.integers(-10**20, 10**20)
             | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30))
JSON = st.recursive(JSON_LEAF, lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=3), max_leaves=8)
ODD_TEXT = st.sampled_from(["", " ", "\u200b", "a\u202eb", "x\r\ny", "\x00", "ñ" * 300,
                            "0001-01-01T00:00:00", "9999-12-31T23:59:59-12:00", "-1",
                            "2147483648", "NaN", "../../etc/passwd", "<script>", "' OR 1=1 --"])


class Api:
    """The app, the schema and one call: every answer checked before it is returned."""

    def __init__(self, app: App, world: World) -> None:
        self.world = world
        asgi = create_app(app, ApiConfig())
        self.schema = from_asgi("/openapi.json", asgi)
        # for bodies schemathesis will not send (NaN, Infinity: not JSON, but what a careless
        # client writes), the same app through the plain test client
        self.raw = TestClient(asgi, follow_redirects=False)
        results = list(self.schema.get_all_operations())
        assert all(isinstance(r, Ok) for r in results), results  # the document reads cleanly
        self.operations = {(op.method.upper(), op.path): op
                           for op in (r.ok() for r in results if isinstance(r, Ok))}
        self.tokens: dict[str, str] = {**world.tokens, "wrong-token": "not-a-real-token"}
        self.seen: Counter[tuple[str, str, int]] = Counter()
        self.strategies: dict[tuple[str, str, GenerationMode], Any] = {}
        drive = Driver(world)
        self.further_on = [drive.reach(version, state) for version, state in FURTHER_ON]
        world.clock.set(START)

    def strategy(self, key: tuple[str, str], mode: GenerationMode) -> Any:
        if (*key, mode) not in self.strategies:
            self.strategies[(*key, mode)] = self.operations[key].as_strategy(
                generation_mode=mode)
        return self.strategies[(*key, mode)]

    def auth(self, caller: str | None) -> dict[str, str]:
        if caller is None:
            return {}
        return {"Authorization": f"Bearer {self.tokens.get(caller, 'not-a-real-token')}"}

    def send(self, method: str, path: str, caller: str | None, **parts: Any) -> Any:
        case = self.operations[(method, path)].Case(**parts)
        return self.call(case, caller)

    def call(self, case: Any, caller: str | None) -> Any:
        if strict_json(case.body):
            response = case.call_and_validate(headers=self.auth(caller), checks=CHECKS)
        else:
            response = self.raw.request(
                case.method, case.formatted_path, params=case.query,
                headers={**(case.headers or {}), **self.auth(caller),
                         "Content-Type": "application/json"},
                content=json.dumps(case.body).encode())
            case.validate_response(response, checks=CHECKS)
        status = response.status_code
        self.seen[(case.method.upper(), case.path, status)] += 1
        if 400 <= status < 500 and case.path.startswith("/api/"):
            kind = header(response, "content-type")
            assert kind.startswith("application/problem+json"), (case.path, status, kind)
            detail = response.json().get("detail")
            assert isinstance(detail, str) and detail.strip(), (case.path, status, detail)
        return response


class ApiFuzz(RuleBasedStateMachine):
    """One run: cases, producers and accounts made through the API, then worked on."""

    api: Api  # set by the test before the run
    cases = Bundle("cases")
    producers = Bundle("producers")
    accounts = Bundle("accounts")  # accounts this run made: safe to disable, rotate, delete

    def __init__(self) -> None:
        super().__init__()
        self.readable: set[str] = set()
        self.api.world.clock.set(START)  # each run starts on the same day

    # --- state the run makes -------------------------------------------------------------

    @initialize(target=cases)
    def cases_further_on(self) -> Any:
        """Cases the engine moved on before the run (certified ones among them): shared by
        every run, they go where the runs take them."""
        return multiple(*self.api.further_on)

    @initialize(target=cases)
    def a_submitted_case(self) -> Any:
        made = self.api.send("POST", "/api/v1/cases", "producer1",
                             body={"producer": self.api.world.p1, "product": "Tương bần",
                                   "group": "food"})
        assert made.status_code == 201, made.text
        code = made.json()["code"]
        fired = self.api.send("POST", "/api/v1/cases/{code}/events", "producer1",
                              path_parameters={"code": code},
                              body={"trigger": "submit", "data": DOCS})
        assert fired.status_code == 200, fired.text
        return code

    @rule(target=cases, caller=st.sampled_from(CALLERS),
          producer=st.sampled_from(["p1", "p2", "none"]),
          product=st.text(min_size=1, max_size=20) | ODD_TEXT,
          group=st.sampled_from(["food", "beverage", "herbal", "handicraft", "nope"]),
          rules=st.sampled_from([None, "1048", "148", "1489", "9999"]))
    def register_case(self, caller: str | None, producer: str, product: str, group: str,
                      rules: str | None) -> Any:
        body: dict[str, Any] = {"producer": getattr(self.api.world, producer, 2**31 - 1),
                                "product": product, "group": group}
        if rules is not None:
            body["rules"] = rules
        made = self.api.send("POST", "/api/v1/cases", caller, body=body)
        return made.json()["code"] if made.status_code == 201 else MISSING_CASE

    @rule(target=producers, caller=MAKERS,
          name=st.text(min_size=1, max_size=30) | ODD_TEXT,
          kind=st.sampled_from(["enterprise", "cooperative", "household", "nope"]),
          commune=st.sampled_from([BINH_MINH, HA_DONG, "Bình Minh", "Hà Đông", "00000", "",
                                   ",", "\u200b", "Hà Đông, Hà Nội"]),
          email=st.none() | st.sampled_from(["a@example.vn", "x\r\n@example.vn", "nope"]),
          webhook=st.none() | st.sampled_from(["https://hooks.example.vn/ocop",
                                               "http://127.0.0.1:9/x", "ftp://x", "nope"]))
    def register_producer(self, caller: str | None, name: str, kind: str, commune: str,
                          email: str | None, webhook: str | None) -> Any:
        body = {"name": name, "kind": kind, "commune": commune, "email": email,
                "webhook": webhook}
        made = self.api.send("POST", "/api/v1/producers", caller, body=body)
        return made.json()["id"] if made.status_code == 201 else 2**31 - 1

    @rule(target=accounts, caller=ADMIN_OR_ANYONE, data=st.data(),
          role=st.sampled_from(["producer", "commune_officer", "district_officer",
                                "ip_officer", "city_officer", "supervisor", "admin", "x"]))
    def make_account(self, caller: str | None, data: Any, role: str) -> Any:
        name = f"fuzz-{data.draw(st.integers(0, 10**9))}"
        body: dict[str, Any] = {"name": name, "role": role}
        if role == "commune_officer":
            body["commune"] = data.draw(st.sampled_from([BINH_MINH, HA_DONG, "nowhere", ","]))
        if role == "producer":
            body["producer"] = data.draw(st.sampled_from([self.api.world.p1, 2**31 - 1]))
        made = self.api.send("POST", "/api/v1/users", caller, body=body)
        if made.status_code == 201:
            self.api.tokens[name] = made.json()["token"]
        return name  # made or not: the bundles' sizes must not depend on the database

    # --- working on what was made ----------------------------------------------------------

    @rule(code=cases, caller=st.sampled_from(CALLERS), data=st.data())
    def fire_event(self, code: str, caller: str | None, data: Any) -> None:
        """An event on a case: often one the caller may do now, with the data it needs or
        that data bent; else any trigger with any data and headers. (What is drawn never
        depends on the database, so hypothesis sees the same draws for the same choices.)"""
        pick, use_allowed = data.draw(st.integers(0, 10**6)), data.draw(st.booleans())
        other = data.draw(st.sampled_from([*ALL_TRIGGERS, "", "x" * 41, "__init__"]))
        allowed = []
        if caller in self.api.world.tokens:
            answer = self.api.send("GET", "/api/v1/cases/{code}/allowed", caller,
                                   path_parameters={"code": code})
            if answer.status_code == 200:
                allowed = [a["trigger"] for a in answer.json() if a.get("allowed")]
        trigger = allowed[pick % len(allowed)] if allowed and use_allowed else other
        body: dict[str, Any] = {"trigger": trigger,
                                "data": event_data(trigger, self.version_of(code), data)}
        odd_reason, reason = data.draw(st.booleans()), data.draw(ODD_TEXT)
        if trigger in REASONS or odd_reason:
            body["reason"] = reason if odd_reason else REASONS[trigger]
        key, match = data.draw(st.integers(0, 7)), data.draw(st.integers(0, 9))
        headers: dict[str, str] = {}
        if key < 4:
            headers["Idempotency-Key"] = ["k1", "k2", "", "x" * 300][key]
        if match < 5:
            headers["If-Match"] = ['"1"', '"999"', "*", "garbage", '"-1"'][match]
        self.api.send("POST", "/api/v1/cases/{code}/events", caller,
                      path_parameters={"code": code}, body=body, headers=headers)

    @rule(code=cases, data=st.data())
    def advance(self, code: str, data: Any) -> None:
        """Move a case on: the first person who may do something with it does one of those
        things, with the data it needs (scores routing it to any outcome)."""
        pick = data.draw(st.integers(0, 10**6))
        total = data.draw(st.sampled_from([40.0, 60.0, 75.0, 80.0, 95.0]))
        for who in ADVANCERS:
            answer = self.api.send("GET", "/api/v1/cases/{code}/allowed", who,
                                   path_parameters={"code": code})
            triggers = ([a["trigger"] for a in answer.json() if a.get("allowed")]
                        if answer.status_code == 200 else [])
            if triggers:
                break
        else:
            return
        trigger = triggers[pick % len(triggers)]
        body: dict[str, Any] = {"trigger": trigger, "data": (
            scores(self.version_of(code), total) if trigger in SCORING
            else GOOD_DATA.get(trigger, {}))}
        if trigger in REASONS:
            body["reason"] = REASONS[trigger]
        self.api.send("POST", "/api/v1/cases/{code}/events", who,
                      path_parameters={"code": code}, body=body)

    def version_of(self, code: str) -> str:
        answer = self.api.send("GET", "/api/v1/cases/{code}", "supervisor",
                               path_parameters={"code": code})
        return str(answer.json()["rule_version"]) if answer.status_code == 200 else "1489"

    @rule(code=cases, caller=st.sampled_from(CALLERS),
          what=st.sampled_from(["", "/history", "/allowed"]))
    def read_case(self, code: str, caller: str | None, what: str) -> None:
        answer = self.api.send("GET", f"/api/v1/cases/{{code}}{what}", caller,
                               path_parameters={"code": code})
        if answer.status_code == 200 and what == "":
            assert answer.json()["code"] == code
            self.readable.add(code)

    @rule(caller=st.sampled_from(CALLERS), data=st.data())
    def list_and_filter(self, caller: str | None, data: Any) -> None:
        value = st.none() | ODD_TEXT | st.text(max_size=10)
        query = {k: v for k, v in {
            "state": data.draw(st.none() | st.sampled_from(["registered", "certified"])
                               | value),
            "unit": data.draw(st.none() | st.sampled_from([BINH_MINH, HA_DONG, ","]) | value),
            "overdue": data.draw(st.none() | st.sampled_from(["true", "false", "maybe"])),
            "limit": data.draw(st.none() | st.sampled_from(["0", "1", "10", "-1", "10000000"])),
            "offset": data.draw(st.none() | st.sampled_from(["0", "5", "-3", "9" * 30]))}.items()
            if v is not None}
        self.api.send("GET", "/api/v1/cases", caller, query=query)
        dates = st.none() | ODD_TEXT | st.sampled_from(["2025-09-01", "2025-09-01T09:00:00+07:00",
                                                        "1900-01-01", "99999-01-01"])
        audit = {k: v for k, v in {
            "since": data.draw(dates), "until": data.draw(dates),
            "trigger": data.draw(st.none() | st.sampled_from(ALL_TRIGGERS)),
            "format": data.draw(st.none() | st.sampled_from(["json", "csv", "xml"])),
            "limit": data.draw(st.none() | st.sampled_from(["1", "0", "-1", "1000000"]))}.items()
            if v is not None}
        self.api.send("GET", "/api/v1/audit", caller, query=audit)

    @rule(name=accounts, caller=ADMIN_OR_ANYONE,
          action=st.sampled_from(["disable", "enable", "rotate-token", "scope", "read"]),
          commune=st.sampled_from([BINH_MINH, HA_DONG, "nowhere", "", "\x13"]))
    def manage_account(self, name: str, caller: str | None, action: str, commune: str) -> None:
        path = {"name": name}
        if action == "read":
            self.api.send("GET", "/api/v1/users/{name}", caller, path_parameters=path)
        elif action == "scope":
            self.api.send("PUT", "/api/v1/users/{name}/scope", caller, path_parameters=path,
                          body={"commune": commune})
        else:
            done = self.api.send("POST", f"/api/v1/users/{{name}}/{action}", caller,
                                 path_parameters=path)
            if action == "rotate-token" and done.status_code == 200:
                self.api.tokens[name] = done.json()["token"]
        self.api.send("GET", "/api/v1/cases", name)  # the account's own token, if it works

    @rule(name=consumes(accounts), caller=ADMIN_OR_ANYONE)
    def delete_account(self, name: str, caller: str | None) -> None:
        self.api.send("DELETE", "/api/v1/users/{name}", caller, path_parameters={"name": name})

    @rule(producer=producers, caller=st.sampled_from(CALLERS))
    def read_producer(self, producer: int, caller: str | None) -> None:
        self.api.send("GET", "/api/v1/producers/{producer_id}", caller,
                      path_parameters={"producer_id": producer})

    @rule(code=cases, caller=st.sampled_from(CALLERS), bent=st.booleans())
    def public_pages(self, code: str, caller: str | None, bent: bool) -> None:
        """The producer's status page (its secret link, or a bent one) and, once the case
        holds a certificate, its public check and QR code."""
        case = self.api.send("GET", "/api/v1/cases/{code}", "supervisor",
                             path_parameters={"code": code})
        if case.status_code != 200:
            return
        view = case.json()
        secret = urlsplit(view["status_url"]).query.removeprefix("t=")
        self.api.send("GET", "/status/{code}", caller, path_parameters={"code": code},
                      query={"t": secret[::-1] if bent else secret})
        number = (view.get("certificate") or {}).get("number")
        if number:
            number = number[:-1] + ("0" if number[-1] != "0" else "1") if bent else number
            for fmt in ("json", "html"):
                self.api.send("GET", "/verify/{certificate_no}", caller,
                              path_parameters={"certificate_no": number}, query={"format": fmt})
            self.api.send("GET", "/verify/{certificate_no}/qr.svg", caller,
                          path_parameters={"certificate_no": number})

    @rule(caller=st.sampled_from(CALLERS),
          text=st.sampled_from([BINH_MINH, "old:10120", "Vạn Phúc, Hà Đông", "xã Cự Khê",
                                "Ha Dong"]) | ODD_TEXT,
          level=st.sampled_from([None, "commune", "district", "province", "hamlet"]))
    def units(self, caller: str | None, text: str, level: str | None) -> None:
        query = {"q": text} if level is None else {"q": text, "level": level}
        self.api.send("GET", "/api/v1/units", caller, query=query)
        if text:  # (an empty key is another address: the list)
            self.api.send("GET", "/api/v1/units/{key}", caller, path_parameters={"key": text})

    @rule(days=st.integers(1, 60))
    def time_passes(self, days: int) -> None:
        """The scheduler's sweep after some days: escalations, system withdrawals, expiries."""
        self.api.world.clock.advance(days=days)
        Sweeper(self.api.world.app.engine, self.api.world.app.relay).run()

    # --- schemathesis' own requests to every operation -------------------------------------

    @rule(data=st.data(), caller=st.sampled_from(CALLERS),
          mode=st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    def anything(self, data: Any, caller: str | None, mode: GenerationMode) -> None:
        key = data.draw(st.sampled_from(sorted(self.api.operations)))
        case = data.draw(self.api.strategy(key, mode))
        params = case.path_parameters or {}
        if "name" in params and key[0] != "GET" and params["name"] in self.api.tokens:
            params["name"] = f"nobody-{params['name']}"[:120]  # never a caller's own account
        self.api.call(case, caller)

    # --- what must always hold -----------------------------------------------------------

    def teardown(self) -> None:
        """A case that was read once reads still (an event never makes it unreadable)."""
        for code in sorted(self.readable):
            answer = self.api.send("GET", "/api/v1/cases/{code}", "supervisor",
                                   path_parameters={"code": code})
            assert answer.status_code == 200, (code, answer.text)
            json.dumps(answer.json(), allow_nan=False)  # strict JSON: no NaN, no Infinity


def strict_json(body: Any) -> bool:
    try:
        json.dumps(body, allow_nan=False, default=str)
    except ValueError:
        return False
    return True


def header(response: Any, name: str) -> str:
    """A header of a schemathesis (lists of values) or an httpx response."""
    value = response.headers.get(name, "")
    return str(value[0] if isinstance(value, list) and value else value)


def event_data(trigger: str, version: str, data: Any) -> Any:
    """The data of an event: what ``trigger`` needs (for a scoring trigger, sheets of the
    case's rule version whose total routes the case somewhere), that with one value bent, or
    anything at all. The same draws whatever the trigger."""
    how = data.draw(st.sampled_from(["good", "good", "bent", "any"]))
    total = data.draw(st.sampled_from([40.0, 60.0, 75.0, 80.0, 95.0]))
    key_index, value = data.draw(st.integers(0, 10)), data.draw(JSON)
    good: dict[str, Any] = (scores(version, total) if trigger in SCORING
                            else dict(GOOD_DATA.get(trigger, {})))
    if how == "good":
        return good
    if how == "bent":
        keys = [*good, "extra"]
        return {**good, keys[key_index % len(keys)]: value}
    return value


def tour(api: Api, key: tuple[str, str]) -> None:
    """Schemathesis' requests to one operation, valid and invalid, from every caller: every
    operation is reached however the state machine's draws fell."""
    @settings(max_examples=TOUR, derandomize=True, database=None, deadline=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(data=st.data(), caller=st.sampled_from(CALLERS),
           mode=st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    def run(data: Any, caller: str | None, mode: GenerationMode) -> None:
        case = data.draw(api.strategy(key, mode))
        params = case.path_parameters or {}
        if "name" in params and key[0] != "GET" and params["name"] in api.tokens:
            params["name"] = f"nobody-{params['name']}"[:120]
        api.call(case, caller)

    run()


def audit_verify(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OCOP_DATABASE_URL": url, "OCOP_LANG": "en"}
    return subprocess.run([sys.executable, "-m", "workflow", "audit", "verify"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_api_under_a_stateful_fuzzer_never_fails_and_keeps_an_intact_record(
        pg_app: App, pg_url: str) -> None:
    """Every role against every operation, following the cases it makes: no 5xx, every answer
    as the OpenAPI document says, every 4xx a problem document with a sentence; afterwards
    ``ocop audit verify`` is clean."""
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    world = World(pg_app)
    api = Api(pg_app, world)
    assert len(api.operations) >= 26
    ApiFuzz.api = api
    try:
        run_state_machine_as_test(ApiFuzz, settings=settings(
            max_examples=RUNS, stateful_step_count=STEPS, derandomize=True, database=None,
            deadline=None, phases=[Phase.generate], suppress_health_check=list(HealthCheck)))
        for key in sorted(api.operations):
            tour(api, key)
    finally:
        api.raw.close()
    print(f"{sum(api.seen.values())} requests:",  # shown with -s or on failure
          *(f"{m} {p} {c}: {n}" for (m, p, c), n in sorted(api.seen.items())), sep="\n  ")
    called = {(method, path) for method, path, _ in api.seen}
    assert called == set(api.operations), set(api.operations) - called
    fired = {status for method, path, status in api.seen if path.endswith("/events")}
    assert 200 in fired and fired & {403, 422}, fired  # events went through and were refused
    done = audit_verify(pg_url)
    assert done.returncode == 0, done.stdout + done.stderr
