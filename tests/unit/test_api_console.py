"""The staff console, server-rendered: sign-in, inbox, case page with forms and diagram, the
supervisor's audit view, in Vietnamese and English."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.api_support import TestClient, client, in_district_review
from tests.support import DOCS, World
from tests.unit.console_support import post_sign_in
from tests.unit.lifecycle_support import DISTRICT_STAGE
from workflow.errors import InvalidInput
from workflow.web.console import forms


@pytest.fixture
def api(world: World) -> Iterator[TestClient]:
    with client(world.app) as c:
        yield c


def sign_in(api: TestClient, world: World, who: str) -> None:
    r = post_sign_in(api, who, world.tokens[who])
    assert r.status_code == 303 and r.headers["location"] == "/console/inbox"



def score_form(page: str, a: str) -> dict[str, str]:
    hidden = dict(re.findall(r'name="(csrf|version|form_key)" value="([^"]+)"', page))
    hidden["form_key"] = re.search(r'name="form_key" value="([^"]+record_district_score)"',
                                   page).group(1)  # type: ignore[union-attr]
    return {**hidden, "trigger": "record_district_score", "member_1": "Bà Lan", "a_1": a,
            "b_1": "20", "c_1": "25", "mandatory_ok": "on"}


def test_a_wrong_token_does_not_sign_in(api: TestClient) -> None:
    """The sign-in page says the name or token is not right, in Vietnamese by default."""
    r = post_sign_in(api, "city", "nope")
    assert r.status_code == 401 and "Tên người dùng hoặc mã truy cập không đúng" in r.text


def test_pages_need_a_signed_in_user(api: TestClient) -> None:
    """Without the session cookie the console sends the browser to the sign-in page."""
    r = api.get("/console/inbox")
    assert r.status_code == 303 and r.headers["location"] == "/console/sign-in"


def test_the_inbox_lists_the_officers_work_by_due_date_with_overdue_ones_marked(
        api: TestClient, world: World) -> None:
    """Only commune1's cases, soonest deadline first; an overdue one carries the mark."""
    late = world.register()
    world.fire(late, "submit", "producer1", DOCS)
    world.clock.advance(days=20)
    fresh = world.register()
    world.fire(fresh, "submit", "producer1", DOCS)
    world.register("producer2")
    sign_in(api, world, "commune1")
    page = api.get("/console/inbox?lang=en").text
    assert page.index(late) < page.index(fresh)
    assert f'class="overdue" data-code="{late}"' in page
    assert "Vạn Phúc" not in page


def test_the_case_page_offers_score_sheets_with_each_parts_maximum(
        api: TestClient, world: World) -> None:
    """The form carries max 40/25/35 for rule version 148, and the lifecycle is drawn (the
    district stage's page, for the district's successor since 2025-07-01)."""
    code = in_district_review(world)
    sign_in(api, world, DISTRICT_STAGE)
    page = api.get(f"/console/cases/{code}").text
    assert 'name="a_1" min="0" max="40"' in page and 'name="c_1" min="0" max="35"' in page
    assert '<svg class="lifecycle"' in page and 'data-state="district_review"' in page


def test_a_score_over_its_maximum_is_refused_on_the_server_and_the_form_kept(
        api: TestClient, world: World) -> None:
    """Browser checks can be bypassed: the server refuses 45 of 40 and keeps what was typed."""
    code = in_district_review(world)
    sign_in(api, world, DISTRICT_STAGE)
    page = api.get(f"/console/cases/{code}").text
    r = api.post(f"/console/cases/{code}/events", data=score_form(page, "45"))
    error = re.search(r'data-testid="error">(.*?)</p>', r.text, re.S)
    assert r.status_code == 422 and error and "40" in error.group(1)
    assert 'value="Bà Lan"' in r.text


def test_recording_a_score_moves_the_case_and_grows_its_timeline(
        api: TestClient, world: World) -> None:
    """A valid sheet: redirect to the case, now in ip_check, one more timeline entry."""
    code = in_district_review(world)
    sign_in(api, world, DISTRICT_STAGE)
    page = api.get(f"/console/cases/{code}").text
    r = api.post(f"/console/cases/{code}/events", data=score_form(page, "30"))
    assert r.status_code == 303
    after = api.get(r.headers["location"]).text
    assert 'data-state="ip_check"' in after
    assert after.count("data-seq=") == page.count("data-seq=") + 1


def test_a_form_without_the_sessions_csrf_value_is_refused(api: TestClient,
                                                           world: World) -> None:
    """A forged form (another site's POST) does not change the case."""
    code = in_district_review(world)
    sign_in(api, world, DISTRICT_STAGE)
    form = {**score_form(api.get(f"/console/cases/{code}").text, "30"), "csrf": "forged"}
    r = api.post(f"/console/cases/{code}/events", data=form)
    assert r.status_code == 422 and 'data-state="district_review"' in r.text


def test_the_audit_view_is_for_the_supervisor_and_downloads_csv(
        api: TestClient, world: World) -> None:
    """A district officer is refused; the supervisor filters and downloads."""
    code = in_district_review(world)
    sign_in(api, world, "district1")
    assert api.get("/console/audit").status_code == 403
    sign_in(api, world, "supervisor")
    page = api.get("/console/audit?trigger=start_review&lang=en")
    assert page.status_code == 200 and "Audit trail" in page.text and code in page.text
    download = api.get("/console/audit.csv?trigger=start_review")
    assert download.text.splitlines()[0].startswith("\ufeffCase,No.,At,")
    assert len(download.text.splitlines()) == 2 and code in download.text


def test_a_score_form_becomes_the_engines_sheets_and_skips_empty_rows() -> None:
    """Members without a name are skipped; a comma decimal is read; a word is refused."""
    data, reason = forms.event_from("record_city_score", {
        "member_1": "Ông Hùng", "a_1": "30,5", "b_1": "20", "c_1": "25", "member_2": "",
        "mandatory_ok": "on"})
    assert data == {"sheets": [{"member": "Ông Hùng", "a": 30.5, "b": 20.0, "c": 25.0}],
                    "mandatory_ok": True} and reason is None
    with pytest.raises(InvalidInput) as refused:
        forms.event_from("record_city_score", {"member_1": "X", "a_1": "1", "b_1": "many",
                                               "c_1": "1"})
    assert "phần B phải là một số" in refused.value.text("vi")


def test_a_reason_from_a_list_is_submitted_as_its_code(api: TestClient, world: World) -> None:
    """Re-opening a certified case: the list's choice (shown as words) reaches the engine as
    its code, beside an empty free-text reason, and the case moves to re-evaluation."""
    code = in_district_review(world)
    world.fire(code, "record_district_score", DISTRICT_STAGE, {
        "sheets": [{"member": "Bà Lan", "a": 30, "b": 15, "c": 15}], "mandatory_ok": True})
    sign_in(api, world, "city")
    page = api.get(f"/console/cases/{code}").text
    assert '<option value="expiry" >Giấy chứng nhận sắp hết hạn</option>' in page
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    r = api.post(f"/console/cases/{code}/events", data={
        "trigger": "open_reevaluation", "csrf": csrf, "choice": "expiry", "reason": ""})
    assert r.status_code == 303
    after = api.get(r.headers["location"]).text
    assert 'data-state="reevaluation"' in after and "Lý do: Giấy chứng nhận sắp hết hạn" in after
