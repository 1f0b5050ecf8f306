"""A long e-mail reaches a real SMTP server: the message travels in CRLF lines (aiosmtpd refuses
a bare-LF message past 1,000 bytes as one over-long line)."""

from __future__ import annotations

from tests.integration.workers import smtp_server
from workflow.messaging.channels import Outgoing
from workflow.messaging.channels.smtp import SmtpChannel


def test_a_long_vietnamese_email_is_accepted_by_a_real_smtp_server() -> None:
    """A 9 kB Vietnamese body (far past one SMTP line) is sent and received once."""
    body = "Hồ sơ HN-2026-000001 đã chuyển sang bước «Thành phố đánh giá».\n" * 120
    message = Outgoing("m-long-1", "status", "email", "p1@example.vn", "vi", "HN-2026-000001",
                       "[OCOP] Hồ sơ HN-2026-000001", body)
    with smtp_server() as (url, seen):
        channel = SmtpChannel(url, "OCOP Hà Nội <no-reply@ocop.example.vn>")
        try:
            channel.send(message)
        finally:
            channel.close()
        assert seen["m-long-1"] == 1
