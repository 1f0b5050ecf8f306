"""Message templates: every kind renders in Vietnamese (the default) and English, and says what
the producer must do next and by when."""

from __future__ import annotations

from typing import Any

import pytest

import states
from workflow.domain.outbox import PRODUCER_KINDS
from workflow.i18n import codes, label
from workflow.messaging.channels.render import KINDS, LANGS, format_date, render

CASE = {"case_code": "HN-2025-000001", "product": "Tương Cự Đà", "producer": "HTX Tương Cự Đà",
        "at": "2025-09-01T09:00:00+07:00", "state": "certified", "from": "city_rating"}
EXTRA: dict[str, dict[str, Any]] = {
    "status": {"trigger": "record_city_score", "stars": 4, "seq": 5,
               "certificate": {"number": "HN-TP-2025-000001-1", "stars": 4,
                               "valid_to": "2028-08-31"}},
    "escalation": {"deadline": "review_start", "level": 2, "due": "2025-09-16T09:00:00+07:00"},
    "reminder": {"deadline": "central_review", "level": 1, "due": "2025-12-30T09:00:00+07:00"},
    "completion_reminder": {"days_left": 7, "due": "2025-10-01T09:00:00+07:00"},
    "certificate_notice": {"days_left": 30, "due": "2028-09-01T00:00:00+07:00",
                           "certificate": {"number": "HN-TP-2025-000001-1", "stars": 4,
                                           "valid_to": "2028-08-31"}},
    "transferred": {"trigger": "transfer_case", "state": "district_review",
                    "from": "district_review", "to_role": "commune_officer", "unit": "Xã Bình Minh",
                    "reason": "districts_ended_2025"},
}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_a_subject_and_a_body_in_each_language(kind: str, lang: str) -> None:
    """No template leaves a variable undefined; the subject names the case."""
    subject, body = render(kind, lang, {**CASE, **EXTRA[kind]})
    assert "HN-" in subject and "\n" not in subject
    assert body.strip()


def test_vietnamese_is_the_default_for_an_unknown_language() -> None:
    """A producer whose language is not supported reads Vietnamese."""
    assert render("status", "fr", {**CASE, **EXTRA["status"]}) == \
        render("status", "vi", {**CASE, **EXTRA["status"]})


def test_a_certification_notice_gives_stars_certificate_and_validity() -> None:
    """Case code, product, new state, stars and the certificate's last valid day."""
    _, body = render("status", "vi", {**CASE, **EXTRA["status"]})
    assert "Tương Cự Đà" in body and '"Đã công nhận"' in body and "4★" in body
    assert "HN-TP-2025-000001-1" in body and "31/08/2028" in body
    _, english = render("status", "en", {**CASE, **EXTRA["status"]})
    assert '"Certified"' in english and "31 Aug 2028" in english


def test_a_completion_request_says_what_to_do_and_by_when() -> None:
    """Thirty days from 1 September 09:00 is 1 October 09:00, in the producer's words."""
    payload = {**CASE, "state": "needs_completion", "from": "commune_prescore",
               "trigger": "request_completion", "completion_days": 30, "reason": "thiếu ảnh"}
    _, body = render("status", "vi", payload)
    assert "bổ sung hồ sơ trước 09:00 01/10/2025" in body and "Lý do: thiếu ảnh" in body
    _, english = render("status", "en", payload)
    assert "complete the dossier by 01 Oct 2025 09:00" in english


def test_dates_are_shown_in_vietnam_time() -> None:
    """A UTC instant is shown on the office's wall clock."""
    assert format_date("2025-09-30T17:00:00+00:00", "vi") == "00:00 01/10/2025"
    assert format_date("2028-08-31", "en") == "31 Aug 2028"


@pytest.mark.parametrize("lang", LANGS)
def test_a_registration_notice_has_no_previous_state(lang: str) -> None:
    """A new case starts in draft: the notice says where it is, not where it came from."""
    subject, body = render("status", lang, {**CASE, "state": "draft", "from": "",
                                            "trigger": "register"})
    assert ("Bản nháp" if lang == "vi" else "Draft") in subject
    assert "HN-2025-000001" in body


LINK = "https://ocop.example.vn/status/HN-2025-000001?t=tok"


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", PRODUCER_KINDS)
def test_every_producer_notice_ends_with_the_status_link(kind: str, lang: str) -> None:
    """The link to the producer's own status page is in the body of every producer notice."""
    _, body = render(kind, lang, {**CASE, **EXTRA[kind], "status_url": LINK})
    assert body.rstrip().endswith(LINK)


def test_a_message_written_before_links_existed_still_renders() -> None:
    """An outbox row without ``status_url`` (written by an older release) renders, unlinked."""
    _, body = render("status", "vi", {**CASE, **EXTRA["status"]})
    assert "/status/" not in body


def system_codes(lang: str) -> set[str]:
    """Every state, trigger and deadline code. In English a one-word code (``withdrawn``) is
    also an ordinary word, so there only the compound ones count."""
    found = set(states.ALL_STATES) | set(codes("deadline")) | set(codes("trigger"))
    return found if lang == "vi" else {c for c in found if "_" in c}


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("kind", KINDS)
def test_no_message_shows_a_system_code(kind: str, lang: str) -> None:
    """States, deadline kinds, triggers and next steps are words from the catalogue."""
    subject, body = render(kind, lang, {**CASE, **EXTRA[kind], "status_url": LINK})
    words = {w.strip('".,:;()–') for w in f"{subject} {body}".replace(LINK, "").split()}
    assert not words & system_codes(lang)
    if kind in ("escalation", "reminder"):
        assert label("deadline", EXTRA[kind]["deadline"], lang) in body


@pytest.mark.parametrize("lang", LANGS)
def test_every_state_has_a_next_step_in_the_catalogue(lang: str) -> None:
    """A status notice says what happens next for any state it can announce."""
    for state in states.ALL_STATES:
        assert label("next", state, lang) != state


@pytest.mark.parametrize("lang", LANGS)
def test_a_potential_5_star_is_announced_as_4_stars_proposed_for_5(lang: str) -> None:
    """During central review the case holds the city's 4★: the notice says so, not 5★."""
    _, body = render("status", lang, {**CASE, **EXTRA["status"], "state": "central_review",
                                      "stars": 5})
    assert label("ui", "status_page_proposed_5", lang) in body
    assert not [line for line in body.splitlines() if line.endswith(": 5★")]
