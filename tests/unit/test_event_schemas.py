"""Event data is validated per trigger by a schema declared with the lifecycle (issue 10):
known keys only, strict types, ranges and sizes, NaN refused; each fault is an ``InvalidInput``
with one code per kind of fault naming the field's path and what is allowed, the case is
unchanged, and only the validated data reaches the audit entry."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import select

import states
from states import schemas
from states.model import Transition
from tests.api_support import bearer, client
from tests.support import DOCS
from tests.unit.lifecycle_support import (
    CRITERIA,
    PRODUCER1_NAME,
    Driver,
    happy,
    refusal,
)
from workflow.domain import eventdata, holders
from workflow.errors import InvalidInput
from workflow.store.schema import audit_entries, cases

ALL = [(v, t) for v, lc in states.LIFECYCLES.items() for t in lc.triggers()]
NO_DATA = ("start_review", "withdraw", "expire", "expire_certificate")
SCORED = ("record_district_score", "record_city_score")
IP = {"certificate_no": "4-0123456", "holder": PRODUCER1_NAME, "registered_on": "2021-05-17"}
SHEET = {"member": "Nguyễn Văn An", "a": 30, "b": 20, "c": 20}
LONG = "x" * 400


def valid(version: str, trigger: str) -> dict[str, Any]:
    """A payload the trigger's schema takes under ``version`` (the lifecycle tests' own)."""
    dest = {"record_district_score": "rejected", "record_city_score": "rejected"}.get(trigger)
    return happy(version, trigger, dest)[1]


def faults(trigger: str) -> list[tuple[str, dict[str, Any], str, str]]:
    """(what, data, code, path) for each kind of fault ``trigger``'s data can have."""
    nan = ("nan", {"x": math.nan}, "event_data_not_finite", "data.x")
    if trigger in NO_DATA:
        return [("unknown key", {"note": "x"}, "event_data_takes_none", "data.note"), nan]
    if trigger in ("submit", "resubmit"):
        return [
            ("unknown key", {**DOCS, "effects": {}}, "event_data_unknown_key", "data.effects"),
            ("wrong type", {"documents": "registration_form"}, "event_data_wrong_type",
             "data.documents"),
            ("too long", {"documents": [LONG]}, "event_data_text_too_long", "data.documents[0]"),
            ("too many", {"documents": [f"d{i}" for i in range(51)]}, "event_data_too_many",
             "data.documents"),
            ("nan", {"documents": [math.nan]}, "event_data_not_finite", "data.documents[0]"),
        ]
    if trigger == "request_completion":
        return [
            ("unknown key", {"days": 10, "weeks": 1}, "event_data_unknown_key", "data.weeks"),
            ("wrong type", {"days": "10"}, "event_data_wrong_type", "data.days"),
            ("wrong type", {"days": True}, "event_data_wrong_type", "data.days"),
            ("out of range", {"days": 0}, "event_data_out_of_range", "data.days"),
            ("out of range", {"days": 91}, "event_data_out_of_range", "data.days"),
            ("nan", {"days": math.inf}, "event_data_not_finite", "data.days"),
        ]
    if trigger in (*SCORED, "record_commune_prescore"):
        extra = {"criteria": CRITERIA} if trigger == "record_commune_prescore" else {}

        def sheets(**change: Any) -> dict[str, Any]:
            return {**extra, "sheets": [{**SHEET, **change}], "mandatory_ok": True}
        own = [
            ("unknown key", {**extra, "sheets": [{**SHEET, "d": 1}], "mandatory_ok": True},
             "event_data_unknown_key", "data.sheets[0].d"),
            ("wrong type", sheets(a="30"), "event_data_wrong_type", "data.sheets[0].a"),
            ("wrong type", sheets(b=True), "event_data_wrong_type", "data.sheets[0].b"),
            ("out of range", sheets(c=-0.5), "event_data_out_of_range", "data.sheets[0].c"),
            ("too long", sheets(member=LONG), "event_data_text_too_long",
             "data.sheets[0].member"),
            ("too many", {**extra, "sheets": [{**SHEET, "member": f"m{i}"} for i in range(51)],
                          "mandatory_ok": True}, "event_data_too_many", "data.sheets"),
            ("nan", sheets(a=math.nan), "event_data_not_finite", "data.sheets[0].a"),
        ]
        if trigger == "record_commune_prescore":
            own += [
                ("unknown key", {"criteria": {**CRITERIA, "price": True}},
                 "event_data_unknown_key", "data.criteria.price"),
                ("wrong type", {"criteria": {**CRITERIA, "idea": "yes"}},
                 "event_data_wrong_type", "data.criteria.idea"),
            ]
        else:
            own.append(("missing", {"sheets": [SHEET]}, "event_data_missing",
                        "data.mandatory_ok"))
        return own
    if trigger == "verify_ip":
        return [
            ("unknown key", {**IP, "owner": "x"}, "event_data_unknown_key", "data.owner"),
            ("wrong type", {**IP, "holder": 5}, "event_data_wrong_type", "data.holder"),
            ("not allowed", {**IP, "holder_relation": "friend"}, "event_data_not_allowed",
             "data.holder_relation"),
            ("too long", {**IP, "certificate_no": LONG}, "event_data_text_too_long",
             "data.certificate_no"),
            ("nan", {**IP, "certificate_no": math.nan}, "event_data_not_finite",
             "data.certificate_no"),
        ]
    if trigger == "record_central_result":
        ok = {"passed": True, "decision_no": "QĐ-1"}
        return [
            ("unknown key", {**ok, "stars": 5}, "event_data_unknown_key", "data.stars"),
            ("wrong type", {**ok, "passed": 1}, "event_data_wrong_type", "data.passed"),
            ("too long", {**ok, "decision_no": LONG}, "event_data_text_too_long",
             "data.decision_no"),
            ("nan", {**ok, "passed": math.nan}, "event_data_not_finite", "data.passed"),
        ]
    if trigger == "record_no_ip":
        return [
            ("unknown key", {"note": "x"}, "event_data_unknown_key", "data.note"),
            ("wrong type", {"decision": {"number": 5, "date": "2025-09-01", "body": "UBND"}},
             "event_data_wrong_type", "data.decision.number"),
            ("missing", {"decision": {"number": "1", "date": "2025-09-01"}},
             "event_data_missing", "data.decision.body"),
            ("nan", {"note": math.nan}, "event_data_not_finite", "data.note"),
        ]
    if trigger == "record_decision":
        ok = {"number": "123/QĐ-UBND", "date": "2025-09-01", "body": "UBND thành phố Hà Nội"}
        return [
            ("unknown key", {**ok, "stars": 5}, "event_data_unknown_key", "data.stars"),
            ("wrong type", {**ok, "date": 20250901}, "event_data_wrong_type", "data.date"),
            ("too long", {**ok, "body": LONG * 2}, "event_data_text_too_long", "data.body"),
            ("missing", {"number": "1", "date": "2025-09-01"}, "event_data_missing",
             "data.body"),
            ("nan", {**ok, "number": math.nan}, "event_data_not_finite", "data.number"),
        ]
    if trigger in ("open_reevaluation", "revoke"):
        key = "reason" if trigger == "open_reevaluation" else "reason_code"
        good = valid("148", trigger)
        return [
            ("unknown key", {**good, "note": "x"}, "event_data_unknown_key", "data.note"),
            ("wrong type", {key: 5}, "event_data_not_allowed", f"data.{key}"),
            ("not allowed", {key: "bored"}, "event_data_not_allowed", f"data.{key}"),
            ("missing", {}, "event_data_missing", f"data.{key}"),
            ("nan", {key: math.nan}, "event_data_not_finite", f"data.{key}"),
        ]
    if trigger == "escalate":
        ok = {"deadline": "review_start", "level": 1}
        return [
            ("unknown key", {**ok, "by": "x"}, "event_data_unknown_key", "data.by"),
            ("wrong type", {**ok, "level": "1"}, "event_data_wrong_type", "data.level"),
            ("wrong type", {**ok, "level": 1.0}, "event_data_wrong_type", "data.level"),
            ("out of range", {**ok, "level": 0}, "event_data_out_of_range", "data.level"),
            ("too long", {**ok, "deadline": LONG}, "event_data_text_too_long",
             "data.deadline"),
            ("nan", {**ok, "level": math.nan}, "event_data_not_finite", "data.level"),
        ]
    raise AssertionError(f"no faults listed for {trigger}: add them here")


FAULTS = [(v, t, *f) for v, t in ALL for f in faults(t)]


def test_every_trigger_of_every_lifecycle_has_a_schema() -> None:
    """Each trigger of each version has a model that refuses unknown keys and coerces nothing;
    a trigger added to a table without one is missing from ``for_lifecycle`` and fails."""
    for version, lc in states.LIFECYCLES.items():
        models = schemas.for_lifecycle(lc)
        assert set(models) == set(lc.triggers()), version
        for trigger in lc.triggers():
            model = lc.schema(trigger)
            assert issubclass(model, schemas.EventData) and issubclass(model, BaseModel)
            assert model.model_config.get("extra") == "forbid"
            assert model.model_config.get("strict") is True
            assert model.model_config.get("allow_inf_nan") is False
    assert set(schemas.loosest(states.LIFECYCLES.values())) == {t for _, t in ALL}
    base = states.lifecycle("1489")
    grown = replace(base, version="t-new", transitions=(
        *base.transitions, Transition("made_up", "draft", "registered", frozenset({"admin"}))))
    assert "made_up" not in schemas.for_lifecycle(grown)
    with pytest.raises(KeyError):
        grown.schema("made_up")


def test_every_trigger_has_its_faults_listed() -> None:
    """The table below covers each trigger (a new one without faults fails :func:`faults`)."""
    assert {t for _, t, *_ in FAULTS} == {t for _, t in ALL}


@pytest.mark.parametrize(("version", "trigger"), ALL, ids=[f"{v}-{t}" for v, t in ALL])
def test_a_valid_payload_passes_and_is_what_the_schema_reads(version: str, trigger: str) -> None:
    data = valid(version, trigger)
    eventdata.check(data, trigger)
    validated = eventdata.validate(data, trigger, version)
    assert json.loads(json.dumps(validated)) == json.loads(json.dumps(data))


@pytest.mark.parametrize(("version", "trigger", "what", "data", "code", "path"), FAULTS,
                         ids=[f"{v}-{t}-{w}-{p}" for v, t, w, _, _, p in FAULTS])
def test_each_kind_of_fault_is_refused_with_its_code_and_the_field(
        version: str, trigger: str, what: str, data: dict[str, Any], code: str,
        path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        eventdata.validate(data, trigger, version)
    error = caught.value
    assert error.code == code, error.message
    assert error.params.get("path") == path
    for lang in ("vi", "en"):
        words = error.text(lang)
        assert path in words and words.endswith("."), words
        assert "{" not in words and "pydantic" not in words.lower(), words
        assert "Input should" not in words and "validation error" not in words, words


@pytest.mark.parametrize(("version", "trigger"), ALL, ids=[f"{v}-{t}" for v, t in ALL])
def test_an_unknown_key_is_refused_before_the_version_is_known(version: str,
                                                               trigger: str) -> None:
    """The engine's first check (before the case is locked) refuses a key no version knows
    for the trigger, and names the keys that are allowed."""
    unknown = next(f for f in faults(trigger) if f[0] == "unknown key")
    with pytest.raises(InvalidInput) as caught:
        eventdata.check(unknown[1], trigger)
    assert caught.value.code == unknown[2]
    if unknown[2] == "event_data_unknown_key":
        assert caught.value.params["fields"]
        assert all(f in caught.value.text("en") for f in caught.value.params["fields"])
    # and nothing else is refused there: a wrong type waits for the guards and the version
    wrong = [f for f in faults(trigger) if f[0] == "wrong type"]
    for _, data, _, _ in wrong:
        eventdata.check(data, trigger)


def test_what_is_allowed_is_named() -> None:
    """The sentence says what the field takes: the allowed keys, the type, the bound, the
    choices with their words."""
    def text(data: dict[str, Any], trigger: str, version: str = "1489") -> str:
        with pytest.raises(InvalidInput) as caught:
            eventdata.validate(data, trigger, version)
        return caught.value.text("en")

    assert "reason_code" in text({"reason": "violation"}, "revoke")
    assert "at most 90; got 91" in text({"days": 91}, "request_completion")
    assert "at least 1; got 0" in text({"days": 0}, "request_completion")
    assert "a whole number" in text({"days": "5"}, "request_completion")
    assert "true or false" in text({"passed": "yes", "decision_no": "1"},
                                   "record_central_result")
    assert all(f"{r} (" in text({"reason_code": "fraud"}, "revoke")
               for r in states.model.REVOCATION_REASONS)
    assert all(f"{r} (" in text({"reason": "bored"}, "open_reevaluation")
               for r in states.lifecycle("1489").reevaluation_reasons)
    assert "takes no data" in text({"x": 1}, "withdraw")
    vi = InvalidInput("event_data_out_of_range", path="data.days", got=0,
                      expected=eventdata.BOUNDS["greater_than_equal"]({"ge": 1})).text("vi")
    assert vi == "Trường data.days nằm ngoài giới hạn: phải từ 1 trở lên; đã nhập 0."


@pytest.mark.parametrize("version", ["1048", "148", "1489"])
def test_the_part_maxima_are_the_versions(version: str) -> None:
    """1048: A ≤ 35, C ≤ 40; 148 and 1489: A ≤ 40, C ≤ 35 — the schema of the version."""
    trigger = "record_city_score"
    top = states.lifecycle(version).part_maxima
    at_max = {"sheets": [{"member": "m", "a": top[0], "b": top[1], "c": top[2]}],
              "mandatory_ok": True}
    assert eventdata.validate(at_max, trigger, version)["sheets"][0]["a"] == top[0]
    for i, part in enumerate("abc"):
        over = {"sheets": [{**at_max["sheets"][0], part: top[i] + 0.01}], "mandatory_ok": True}
        with pytest.raises(InvalidInput) as caught:
            eventdata.validate(over, trigger, version)
        assert caught.value.code == "score_over_maximum"
        assert caught.value.params["maximum"] == top[i]
        assert caught.value.params["part"] == part.upper()


def test_the_holder_relations_are_the_domains() -> None:
    assert schemas.HOLDER_RELATIONS == holders.HOLDER_RELATIONS


# ---- through the engine: refused, nothing written ----------------------------------------

def _refused(drive: Driver, code: str, trigger: str, who: str, data: dict[str, Any],
             reason: str | None = None) -> InvalidInput:
    error = refusal(drive.world.app, code, InvalidInput, lambda: drive.world.fire(
        code, trigger, who, data, reason))
    assert isinstance(error, InvalidInput)
    return error


def test_scores_through_the_engine(drive: Driver) -> None:
    """Each fault of a city score is refused with its code and the case is unchanged; the
    valid sheets then pass."""
    code = drive.reach("1489", "city_rating")
    for what, data, expected, path in faults("record_city_score"):
        error = _refused(drive, code, "record_city_score", "city", data)
        assert (error.code, error.params.get("path")) == (expected, path), what
    over = {"sheets": [{**SHEET, "a": 40.5}], "mandatory_ok": True}
    assert _refused(drive, code, "record_city_score", "city", over).code == "score_over_maximum"
    assert drive.world.fire(code, "record_city_score", "city",
                            {"sheets": [SHEET], "mandatory_ok": True}).to_state == "certified"


# The codes the guards of these triggers give when they refuse the data first (they run
# before the schema, which then refuses whatever they let through).
GUARD_CODES = {
    "submit": {"documents_not_codes"}, "request_completion": {"completion_days_range"},
    "record_commune_prescore": {"prescore_criteria_shape"},
    "verify_ip": {"ip_fields_missing", "holder_relation_invalid"},
    "record_central_result": {"central_passed_missing", "central_decision_missing"},
    "open_reevaluation": {"reevaluation_reason_invalid"},
    "revoke": {"revocation_reason_invalid"}, "escalate": {"escalation_data_invalid"},
    "withdraw": set(),
}


@pytest.mark.parametrize(("state", "trigger", "who"), [
    ("draft", "submit", "producer1"),
    ("commune_prescore", "request_completion", "commune1"),
    ("commune_prescore", "record_commune_prescore", "commune1"),
    ("ip_check", "verify_ip", "ip"),
    ("central_review", "record_central_result", "city"),
    ("certified", "open_reevaluation", "city"),
    ("certified", "revoke", "city"),
    ("registered", "escalate", "system"),
    ("registered", "withdraw", "producer1"),
])
def test_faults_through_the_engine(drive: Driver, state: str, trigger: str, who: str) -> None:
    """Every fault is refused and nothing is written (``refusal`` compares the whole
    database): by the trigger's guard with its own code, or else by the schema with the
    fault's code and path — the unknown key and NaN always by the schema's checks."""
    code = drive.reach("1489", state)
    reason = "the label is missing" if trigger == "request_completion" else None
    by_schema = 0
    for what, data, expected, path in faults(trigger):
        error = _refused(drive, code, trigger, who, data, reason)
        if error.code == expected:
            assert error.params.get("path") == path
            by_schema += 1
        else:
            assert what not in ("unknown key", "nan"), (what, error.code)
            assert error.code in GUARD_CODES[trigger], (what, error.code)
    assert by_schema >= 2


def test_a_misnamed_key_is_refused_naming_the_right_one(drive: Driver) -> None:
    code = drive.reach("148", "certified")
    error = _refused(drive, code, "revoke", "city", {"reason": "violation"})
    assert error.code == "event_data_unknown_key"
    assert error.params["fields"] == ["reason_code"]
    assert "reason_code" in error.text("vi")


def test_the_audit_entry_holds_the_validated_data(drive: Driver) -> None:
    """What the entry records is the schema's reading of the data: an ``effects`` key (the
    engine's own record) cannot be supplied, and a valid payload is recorded as given."""
    code = drive.reach("1489", "ip_check")
    _refused(drive, code, "verify_ip", "ip", {**IP, "effects": {"set": {"stars": 5}}})
    applied = drive.world.fire(code, "verify_ip", "ip", {**IP, "holder_relation": "owner"})
    with drive.world.app.db.connect() as conn:
        data = conn.execute(select(audit_entries.c.data).join(
            cases, cases.c.id == audit_entries.c.case_id).where(
            cases.c.code == code, audit_entries.c.seq == applied.seq)).scalar_one()
    recorded = json.loads(data)
    assert {k: recorded[k] for k in (*IP, "holder_relation")} == {**IP, "holder_relation": "owner"}
    assert set(recorded) <= {*IP, "holder_relation", "effects", "certificate"}


def test_an_unknown_key_is_a_422_in_the_api_and_the_case_stays_a_draft(drive: Driver) -> None:
    world = drive.world
    code = world.register()
    with client(world.app) as api:
        r = api.post(f"/api/v1/cases/{code}/events", json={
            "trigger": "submit", "data": {**DOCS, "note": "x"}},
            headers=bearer(world.tokens["producer1"]))
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "event_data_unknown_key"
        assert "data.note" in r.json()["detail"] and "documents" in r.json()["detail"]
        case = api.get(f"/api/v1/cases/{code}", headers=bearer(world.tokens["producer1"]))
    assert case.json()["state"] == "draft" and case.json()["version"] == 1
