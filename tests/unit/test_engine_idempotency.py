"""Idempotency keys and expected versions: a repeated request returns the first result and
changes nothing; a reused key for another request and a stale version are conflicts."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from tests.support import DOCS
from tests.unit.lifecycle_support import DISTRICT_STAGE, Driver, refused, scores, snapshot
from workflow.errors import Conflict, GuardFailed, PreconditionFailed


def test_the_same_key_and_request_returns_the_first_result_and_changes_nothing(
        drive: Driver) -> None:
    """A retried request (same key, same data) is answered from the first result."""
    world = drive.world
    code = drive.reach("148", "district_review")
    data = scores("148", 60)
    first = world.fire(code, "record_district_score", DISTRICT_STAGE, data, idempotency_key="k-1")
    after_first = snapshot(world.app)
    again = world.fire(code, "record_district_score", DISTRICT_STAGE, data, idempotency_key="k-1")
    assert snapshot(world.app) == after_first
    assert again.replayed and not first.replayed
    assert (again.code, again.from_state, again.to_state, again.version, again.seq) == (
        first.code, first.from_state, first.to_state, first.version, first.seq)
    assert again.response is not None and again.response["state"] == "certified"
    assert again.response == first.response


def test_a_replay_answers_even_after_the_case_moved_on(drive: Driver) -> None:
    """The first result is returned, not a wrong-state refusal, once the case has moved."""
    world = drive.world
    code = drive.reach("1489", "registered")
    first = world.fire(code, "start_review", "commune1", idempotency_key="start")
    world.fire(code, "request_completion", "commune1", {}, "photos missing")
    before = snapshot(world.app)
    again = world.fire(code, "start_review", "commune1", idempotency_key="start")
    assert snapshot(world.app) == before
    assert (again.to_state, again.version) == (first.to_state, first.version)


@pytest.mark.parametrize(("change", "value"), [
    ("data", {"days": 5}), ("reason", "another reason"), ("trigger", "record_no_ip"),
    ("case", None)])
def test_the_same_key_for_a_different_request_is_a_conflict(drive: Driver, change: str,
                                                            value: Any) -> None:
    """Reusing a key for other data, reason, trigger or case is refused as Conflict."""
    world = drive.world
    code = drive.reach("1489", "ip_check")
    key = f"ask-{change}"
    world.fire(code, "request_completion", "ip", {"days": 10}, "copy unreadable",
               idempotency_key=key)
    world.fire(code, "resubmit", "producer1")
    request: dict[str, Any] = {"code": code, "trigger": "request_completion",
                               "data": {"days": 10}, "reason": "copy unreadable"}
    if change == "case":
        request["code"] = drive.reach("1489", "ip_check")
    else:
        request[change] = value
    if change == "trigger":  # record_no_ip takes no data: "days" would be refused as unknown
        request["data"] = {}
    message = refused(world.app, code, Conflict, lambda: world.fire(
        request["code"], request["trigger"], "ip", request["data"], request["reason"],
        idempotency_key=key))
    assert key in message and "new key" in message


def test_a_refused_request_does_not_use_up_its_key(drive: Driver) -> None:
    """Nothing is stored for a refusal, so the corrected request may carry the same key."""
    world = drive.world
    code = drive.reach("1489", "registered")
    wrong = drive.reach("1489", "draft")
    settings = world.app.engine.settings
    world.app.engine.settings = replace(settings, required_documents=("registration_form",))
    try:
        refused(world.app, wrong, GuardFailed, lambda: world.fire(
            wrong, "submit", "producer1", {}, idempotency_key="sub"))
        world.upload(wrong, "registration_form")
        assert world.fire(wrong, "submit", "producer1", {},
                          idempotency_key="sub").to_state == "registered"
    finally:
        world.app.engine.settings = settings
    assert code != wrong


def test_keys_belong_to_the_user_who_sent_them(drive: Driver) -> None:
    """Two users may use the same key string for their own requests: each commune officer
    starts a review in their own commune with the key "x"."""
    world = drive.world
    a, b = drive.reach("1489", "registered"), drive.new_case("1489", producer="producer2")
    world.fire(b, "submit", "producer2", DOCS)
    assert world.fire(a, "start_review", "commune1", idempotency_key="x").to_state == \
        "commune_prescore"
    assert world.fire(b, "start_review", "commune2", idempotency_key="x").to_state == \
        "commune_prescore"


def test_a_stale_expected_version_is_a_precondition_failure(drive: Driver) -> None:
    """expected_version must equal the case's version: otherwise nothing is applied."""
    world = drive.world
    code = drive.reach("148", "registered")  # version 2 after submit
    message = refused(world.app, code, PreconditionFailed, lambda: world.fire(
        code, "start_review", DISTRICT_STAGE, expected_version=1))
    assert "version 2" in message and "reload" in message
    assert world.fire(code, "start_review", DISTRICT_STAGE, expected_version=2).version == 3


def test_precondition_failed_is_a_conflict_with_its_own_status() -> None:
    """A stale version exits 5 on the command line and is HTTP 412."""
    from workflow.errors import status_of
    assert isinstance(PreconditionFailed("x"), Conflict)
    assert status_of(PreconditionFailed("x")) == (5, 412)
    assert status_of(Conflict("x")) == (5, 409)
