"""The real API answers refusals in the language of ``Accept-Language`` (English when it asks
for neither of ours), with the error's code and parameters in the problem document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.api_support import TestClient, bearer, client, in_district_review
from tests.support import DOCS, World


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def submit(api: TestClient, world: World, code: str, lang: str | None) -> dict[str, Any]:
    headers = {**bearer(world.tokens["commune1"]), **({"Accept-Language": lang} if lang else {})}
    r = api.post(f"/api/v1/cases/{code}/events", headers=headers,
                 json={"trigger": "submit", "data": DOCS})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = r.json()
    return body


@pytest.mark.parametrize(("lang", "start", "title"), [
    ("vi", "Hồ sơ {code} đang ở trạng thái “Huyện đánh giá”; thao tác “Nộp hồ sơ”",
     "Yêu cầu không xử lý được"),
    ("en", "Case {code} is in state “District review”; “Submit the dossier”",
     "Unprocessable request"),
    (None, "Case {code} is in state “District review”; “Submit the dossier”",
     "Unprocessable request"),
])
def test_a_refused_event_speaks_the_callers_language(
        api: TestClient, world: World, lang: str | None, start: str, title: str) -> None:
    """Wrong state: the detail and title in Vietnamese or English; the code, the parameters
    and the triggers the caller may fire instead are the same codes in both."""
    code = in_district_review(world)
    body = submit(api, world, code, lang)
    assert body["detail"].startswith(start.format(code=code)) and body["title"] == title
    assert body["code"] == "wrong_state" and body["kind"] == "wrong_state"
    assert body["params"]["state"] == "district_review"
    assert set(body["allowed"]) == {"request_completion", "record_district_score"}


def test_a_missing_token_is_refused_in_vietnamese_when_asked(api: TestClient) -> None:
    """401 ``token_missing``, its sentence in Vietnamese, the WWW-Authenticate header kept."""
    r = api.get("/api/v1/cases", headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["code"] == "token_missing"
    assert r.json()["detail"].startswith("Cần có mã truy cập")
    assert r.json()["title"] == "Chưa đăng nhập"


def test_an_invalid_event_body_names_the_field_in_vietnamese(api: TestClient,
                                                              world: World) -> None:
    """A body without ``trigger`` is 422 ``field_missing`` naming the field."""
    code = in_district_review(world)
    r = api.post(f"/api/v1/cases/{code}/events", json={"data": {}},
                 headers={**bearer(world.tokens["district1"]), "Accept-Language": "vi"})
    assert r.status_code == 422
    assert r.json()["code"] == "field_missing" and r.json()["params"] == {"field": "trigger"}
    assert r.json()["detail"] == 'Yêu cầu thiếu trường bắt buộc "trigger".'
