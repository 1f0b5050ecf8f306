"""Errors become RFC 9457 problem documents in one place, with the status the core table gives,
the error's stable code and parameters, and the sentence in the language Accept-Language asks
for (English when it asks for neither of ours)."""

from __future__ import annotations

from typing import Annotated

import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

from states import lifecycle
from tests.api_support import TestClient
from workflow.domain.permissions import refusal_hint
from workflow.errors import STATUS, OcopError, WrongState
from workflow.web.api import problems


class Body(BaseModel):
    days: int = Field(ge=1, le=90)
    lang: str = Field(default="vi", pattern="^(vi|en)$")


def raising(error: OcopError) -> TestClient:
    app = FastAPI()
    problems.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise error

    @app.post("/body")
    def body(_: Body) -> None:
        return None

    @app.get("/query")
    def query(limit: Annotated[int, Query(ge=1, le=500)] = 10) -> None:
        return None

    return TestClient(app, raise_server_exceptions=False)


def wrong_state() -> WrongState:
    return WrongState("wrong_state", case="HN-2026-000001", state="draft",
                      trigger="start_review", sources=["registered"],
                      now=refusal_hint(lifecycle("1489"), "draft"))


@pytest.mark.parametrize("cls", [c for c in STATUS if c is not OcopError], ids=lambda c: c.__name__)
def test_every_engine_error_answers_with_the_http_status_of_the_core_table(
        cls: type[OcopError]) -> None:
    """Each class in ``workflow.errors.STATUS`` maps to its HTTP status as problem+json, with
    its code and parameters in the document."""
    r = raising(cls("case_not_found", got="HN-X")).get("/boom")
    assert r.status_code == STATUS[cls][1]
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == r.status_code and body["detail"] == 'No case has the code "HN-X".'
    assert body["kind"] == cls.kind and body["type"] == f"urn:ocop:problem:{cls.kind}"
    assert body["code"] == "case_not_found" and body["params"] == {"got": "HN-X"}
    assert body["instance"] == "/boom"


@pytest.mark.parametrize(("cls", "status"), [(problems.BodyTooLarge, 413),
                                             (problems.Malformed, 400)])
def test_the_two_http_only_conditions_have_their_own_status(
        cls: type[OcopError], status: int) -> None:
    """A body too large is 413 and an unreadable body or header is 400."""
    assert raising(cls("body_not_json")).get("/boom").status_code == status


@pytest.mark.parametrize(("header", "detail", "title"), [
    (None, "Case HN-2026-000001 is in state “Draft”", "Unprocessable request"),
    ("en-GB,en;q=0.9", "Case HN-2026-000001 is in state “Draft”", "Unprocessable request"),
    ("fr-FR", "Case HN-2026-000001 is in state “Draft”", "Unprocessable request"),
    ("vi-VN,vi;q=0.9,en;q=0.5", "Hồ sơ HN-2026-000001 đang ở trạng thái “Bản nháp”",
     "Yêu cầu không xử lý được"),
])
def test_the_detail_and_title_speak_the_language_accept_language_asks_for(
        header: str | None, detail: str, title: str) -> None:
    """Vietnamese when Accept-Language asks for it, English otherwise; the code and the
    parameters (raw codes, not words) are the same in every language."""
    headers = {"Accept-Language": header} if header else {}
    body = raising(wrong_state()).get("/boom", headers=headers).json()
    assert body["detail"].startswith(detail) and body["title"] == title
    assert body["code"] == "wrong_state" and body["params"]["state"] == "draft"
    assert body["params"]["now"]["params"]["allowed"] == ["submit", "withdraw"]


def test_a_vietnamese_refusal_names_what_is_allowed_in_vietnamese_words() -> None:
    """The allowed triggers are listed by their Vietnamese labels, no code left in the text."""
    detail = raising(wrong_state()).get("/boom", headers={"Accept-Language": "vi"}).json()[
        "detail"]
    assert "“Nộp hồ sơ”, “Rút hồ sơ”" in detail and "“Bắt đầu đánh giá”" in detail
    assert "submit" not in detail and "{" not in detail


@pytest.mark.parametrize(("lang", "words"), [
    ("en", '"days" must be at most 90; got 120.'),
    ("vi", '"days" không được vượt quá 90; đã nhập 120.'),
])
def test_a_validation_error_names_the_field_and_what_it_allows(lang: str, words: str) -> None:
    """A pydantic 422 has a code, the field and its limit as parameters, and a sentence."""
    r = raising(OcopError("x")).post("/body", json={"days": 120},
                                      headers={"Accept-Language": lang})
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "field_above_maximum" and body["kind"] == "invalid_input"
    assert body["params"] == {"field": "days", "maximum": 90, "got": 120}
    assert body["detail"] == words
    assert body["errors"][0]["type"] == "less_than_equal"


@pytest.mark.parametrize(("request_body", "code", "field"), [
    ({}, "field_missing", "days"),
    ({"days": "ten"}, "field_not_integer", "days"),
    ({"days": 3, "lang": "fr"}, "field_bad_format", "lang"),
    ([1, 2], "field_not_object", "body"),
])
def test_each_kind_of_validation_error_has_its_own_code(
        request_body: object, code: str, field: str) -> None:
    """A missing field, a wrong type, a value outside a pattern, a body of the wrong shape."""
    r = raising(OcopError("x")).post("/body", json=request_body,
                                      headers={"Accept-Language": "vi"})
    body = r.json()
    assert r.status_code == 422 and body["code"] == code and body["params"]["field"] == field
    assert f'"{field}"' in body["detail"] and "{" not in body["detail"].replace('{"', "")


def test_a_query_parameter_out_of_range_is_a_422_naming_it() -> None:
    """Query parameters are validated the same way; the field names where it was."""
    body = raising(OcopError("x")).get("/query?limit=0").json()
    assert body["code"] == "field_below_minimum"
    assert body["detail"] == '"query.limit" must be at least 1; got "0".'


@pytest.mark.parametrize(("lang", "words"), [
    ("en", "The request body is not valid JSON."),
    ("vi", "Nội dung yêu cầu không phải JSON hợp lệ."),
])
def test_a_body_that_is_not_json_is_a_400_with_its_code(lang: str, words: str) -> None:
    """Malformed JSON is 400 ``body_not_json``, in the language asked for."""
    r = raising(OcopError("x")).post("/body", content=b"{oops",
                                      headers={"Content-Type": "application/json",
                                               "Accept-Language": lang})
    assert r.status_code == 400
    assert r.json()["code"] == "body_not_json" and r.json()["detail"] == words


def test_an_unknown_route_is_a_404_problem_too() -> None:
    """Even the framework's own errors answer as problem documents, with a code."""
    r = raising(OcopError("x")).get("/nowhere", headers={"Accept-Language": "vi"})
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "route_not_found" and "/nowhere" in r.json()["detail"]
    assert r.json()["title"] == "Không tìm thấy"


def test_a_method_the_route_does_not_take_is_a_405_naming_it() -> None:
    """DELETE on a GET route: 405 ``method_not_allowed`` naming the method."""
    r = raising(OcopError("x")).delete("/boom")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
    assert r.json()["detail"] == "/boom does not accept the method DELETE."
