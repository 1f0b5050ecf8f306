"""The rule the page-by-page browser check applies to visible text (no browser needed)."""

from __future__ import annotations

from tests.e2e.pages import CODES, english, leaks


def found(text: str) -> list[str]:
    return [code for code, _ in leaks("body", text)]


def test_the_list_holds_every_kind_of_system_code_and_no_decision_number() -> None:
    """States, triggers, roles, clock and notice kinds, reason codes and catalogue codes are
    in the list; rule versions and the allowed everyday words are not."""
    for code in ("draft", "record_city_score", "supervisor", "system", "review_start",
                 "cert_notice_90", "completion_reminder_1", "not_reassessed", "local_labour",
                 "fabric_garment", "cooperative_group", "inapp", "valid"):
        assert code in CODES, code
    for word in ("1048", "148", "1489", "email", "webhook"):
        assert word not in CODES, word


def test_a_code_in_a_sentence_is_found_and_vietnamese_words_are_not() -> None:
    """A trigger or deadline kind inside Vietnamese text is a leak, in any case when it has an
    underscore; Vietnamese words, decision numbers and capitalised English are not codes."""
    assert found("Trạng thái: draft · Hạn cert_notice_90") == ["draft", "cert_notice_90"]
    assert found("Thao tác RECORD_CITY_SCORE (Quyết định 1489/QĐ-TTg)") == [
        "RECORD_CITY_SCORE"]
    assert found("Bản nháp · Đã công nhận 4★ · Cấp thành phố · email chủ thể") == []


def test_addresses_are_not_read_as_words() -> None:
    """A status link or an e-mail address on a page may contain anything; it is left out."""
    assert found("Đường dẫn: http://127.0.0.1:8000/status/HN-2026-000001?t=draft_x") == []
    assert found("Gửi tới city_officer@example.vn và /verify/HN-TP-2026-000001-1") == []
    assert found("http://x/ok submit") == ["submit"]


def test_an_english_sentence_on_a_vietnamese_page_is_found() -> None:
    """An untranslated message is caught by its English function words, not by Vietnamese."""
    assert [w for w, _ in english("body", "Lý do: The completion deadline passed.")] == ["the"]
    assert english("body", "Hồ sơ đã được công nhận; có thể đăng ký lại khi sẵn sàng.") == []


def test_on_an_english_page_only_codes_with_an_underscore_are_leaks() -> None:
    """English words such as "draft" or "city" are fine there; ``cert_notice_90`` is not."""
    text = "State: draft · city level · cert_notice_90"
    assert [code for code, _ in leaks("body", text, plain=False)] == ["cert_notice_90"]
