"""Channels: signed webhooks that follow no redirect, e-mail carrying the event id, and the
relay's record of each delivery — sent once, retried with backoff, failed after N attempts."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tests.support import DOCS, World
from workflow.errors import WrongState
from workflow.messaging.channels import DeliveryError, Outgoing, PermanentFailure
from workflow.messaging.channels.smtp import SmtpChannel
from workflow.messaging.channels.webhook import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookChannel,
    verify,
)
from workflow.relay import Relay
from workflow.store.schema import outbox

MESSAGE = Outgoing("6b0c2d1e-5f3a-4c7b-9e8d-0a1b2c3d4e5f", "status", "webhook",
                   "https://hooks.example.vn/ocop", "vi", "HN-2025-000001",
                   "[OCOP] Hồ sơ", "Nội dung", {"state": "registered"}, secret="s3cret")


def hook(handler: Callable[[httpx.Request], httpx.Response]) -> WebhookChannel:
    return WebhookChannel(httpx.Client(transport=httpx.MockTransport(handler),
                                       follow_redirects=False))


def test_a_webhook_is_signed_over_its_exact_body_and_names_its_event() -> None:
    """The receiver can verify HMAC-SHA256 with the producer's secret and dedup by event id."""
    seen: list[httpx.Request] = []
    hook(lambda r: seen.append(r) or httpx.Response(204)).send(MESSAGE)
    (request,) = seen
    assert request.headers[EVENT_HEADER] == MESSAGE.message_id
    assert verify("s3cret", request.content, request.headers[SIGNATURE_HEADER])
    assert not verify("other", request.content, request.headers[SIGNATURE_HEADER])
    assert json.loads(request.content)["event_id"] == MESSAGE.message_id


def test_a_webhook_redirect_is_not_followed_and_fails_for_good() -> None:
    """A signed event goes only where the producer said: 302 is a permanent failure."""
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://elsewhere.example/"})

    with pytest.raises(PermanentFailure, match="redirect"):
        hook(handler).send(MESSAGE)
    assert calls == [MESSAGE.recipient]


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_webhook_server_error_is_retried_later(status: int) -> None:
    """5xx and 429 are temporary."""
    with pytest.raises(DeliveryError) as caught:
        hook(lambda r: httpx.Response(status)).send(MESSAGE)
    assert not isinstance(caught.value, PermanentFailure)


def test_a_webhook_without_a_secret_is_never_sent_unsigned() -> None:
    """No secret, no delivery."""
    with pytest.raises(PermanentFailure):
        hook(lambda r: httpx.Response(200)).send(replace(MESSAGE, secret=None))


def test_an_email_carries_the_event_id_as_message_id_and_header() -> None:
    """Mail systems drop repeats by Message-ID; receivers may also read X-OCOP-Event-Id."""
    mail = SmtpChannel("smtp://localhost:1025", "OCOP <no-reply@ocop.vn>").compose(
        replace(MESSAGE, channel="email", recipient="p1@example.vn"))
    assert mail["Message-ID"] == f"<{MESSAGE.message_id}@ocop>"
    assert mail["X-OCOP-Event-Id"] == MESSAGE.message_id
    assert mail["Subject"] == "[OCOP] Hồ sơ"


class Wire:
    """Stands in for an SMTP connection: keeps the bytes ``sendmail`` was given."""

    def __init__(self, *_: object) -> None:
        self.data: list[bytes] = []

    def sendmail(self, sender: str, to: list[str], data: bytes) -> dict[str, Any]:
        self.data.append(data)
        return {}


def test_an_email_goes_on_the_wire_in_crlf_lines_however_long_the_body() -> None:
    """smtplib sends bytes as they are; a bare-LF message is one 'line' to the server, refused
    past 1,000 bytes. Every line ends in CRLF and none is longer than 998 bytes."""
    wire = Wire()
    channel = SmtpChannel("smtp://localhost:1025", "OCOP <no-reply@ocop.vn>",
                          connect=lambda *_: wire)  # type: ignore[arg-type,return-value]
    body = "Hồ sơ của bạn đã được tiếp nhận.\n" * 200
    channel.send(replace(MESSAGE, channel="email", recipient="p1@example.vn", body=body))
    (data,) = wire.data
    assert len(data) > 5000
    lines = data.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and max(len(line) for line in lines) <= 998


class Flaky:
    """A channel that fails ``failures`` times, then records what it sent."""

    def __init__(self, failures: int = 0, error: type[Exception] = DeliveryError) -> None:
        self.failures, self.error, self.sent = failures, error, []  # type: ignore[var-annotated]

    def send(self, message: Outgoing) -> None:
        if self.failures:
            self.failures -= 1
            raise self.error("receiver down")
        self.sent.append(message.message_id)


def relay_with(world: World, channel: Flaky, published: list[str] | None = None) -> Relay:
    app = world.app
    settings = replace(app.settings, outbox_max_attempts=3, outbox_backoff_seconds=10)

    def publish(groups: Any, lease: str) -> list[str]:
        (published if published is not None else []).extend(i for g in groups for i in g)
        return []

    return Relay(app.db, app.clock, settings, publish,
                 channels={"inapp": channel, "email": channel, "webhook": channel})


def email_row(world: World) -> dict[str, Any]:
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    with world.app.db.connect() as conn:
        row = conn.execute(select(outbox).where(outbox.c.channel == "email")
                           .order_by(outbox.c.id.desc())).first()
    assert row is not None
    return dict(row._mapping)


def reload(world: World, row: dict[str, Any]) -> dict[str, Any]:
    with world.app.db.connect() as conn:
        return dict(conn.execute(select(outbox).where(outbox.c.id == row["id"])).one()._mapping)


def test_a_message_is_sent_once_even_if_its_task_runs_twice(world: World) -> None:
    """The second copy of a delivery task finds the row sent and does nothing."""
    channel = Flaky()
    relay, row = relay_with(world, channel), email_row(world)
    assert relay.deliver(row["message_id"]) == "sent"
    assert relay.deliver(row["message_id"]) == "already sent"
    assert channel.sent == [row["message_id"]]
    assert reload(world, row)["attempts"] == 1


def test_a_failed_send_is_retried_with_doubling_backoff_then_marked_failed(world: World) -> None:
    """Attempt 1 waits 10 s, attempt 2 waits 20 s, attempt 3 (the last) marks it failed."""
    relay, row = relay_with(world, Flaky(failures=5)), email_row(world)
    now = world.clock.now()
    assert relay.deliver(row["message_id"]) == "retry"
    assert (reload(world, row)["available_at"] - now).total_seconds() == 10
    world.clock.advance(seconds=10)
    assert relay.deliver(row["message_id"]) == "retry"
    assert (reload(world, row)["available_at"] - world.clock.now()).total_seconds() == 20
    world.clock.advance(seconds=20)
    assert relay.deliver(row["message_id"]) == "failed"
    failed = reload(world, row)
    assert (failed["status"], failed["attempts"]) == ("failed", 3)
    assert failed["last_error"] == "receiver down"


def test_a_permanent_failure_is_not_retried(world: World) -> None:
    """A refused address fails at once."""
    relay, row = relay_with(world, Flaky(failures=1, error=PermanentFailure)), email_row(world)
    assert relay.deliver(row["message_id"]) == "failed"
    assert reload(world, row)["attempts"] == 1


def test_retry_puts_a_failed_message_back_and_dispatches_it(world: World) -> None:
    """`ocop outbox retry ID`: pending again with attempts from zero, handed to the broker."""
    published: list[str] = []
    relay, row = relay_with(world, Flaky(failures=1, error=PermanentFailure), published), \
        email_row(world)
    relay.deliver(row["message_id"])
    with pytest.raises(WrongState):
        relay.retry(email_row(world)["id"])  # a pending one cannot be retried
    assert relay.retry(row["id"]) == row["message_id"]
    assert (reload(world, row)["status"], reload(world, row)["attempts"]) == ("pending", 0)
    assert published == [row["message_id"]]
    assert relay.deliver(row["message_id"]) == "sent"


def test_the_relay_hands_over_only_messages_whose_lease_ran_out(world: World) -> None:
    """Dispatched messages are leased; the periodic relay takes them again only after the
    lease, so a lost task comes back and a live one is not doubled."""
    published: list[str] = []
    relay = relay_with(world, Flaky(), published)
    email_row(world)
    first = relay.dispatch_due()
    assert first == len(published) > 0
    assert relay.dispatch_due() == 0
    world.clock.advance(seconds=world.app.settings.outbox_lease_seconds)
    assert relay.dispatch_due() == first


def test_a_broker_that_refuses_leaves_messages_due_for_the_next_relay(world: World) -> None:
    """Publishing failed: the lease is given back at once instead of waiting it out."""
    app = world.app
    relay = Relay(app.db, app.clock, app.settings,
                  lambda groups, lease: [i for g in groups for i in g],
                  channels={"inapp": Flaky()})
    email_row(world)
    assert relay.dispatch_due() == 0
    with app.db.connect() as conn:
        due = conn.execute(select(outbox.c.available_at)).scalars().all()
    assert all(at <= app.clock.now() for at in due)


def test_an_older_copy_of_a_delivery_task_stands_down_after_a_redispatch(world: World) -> None:
    """The first task was lost in the broker and the relay dispatched the message again; if
    the lost copy turns up after all, only the task of the current dispatch sends."""
    leases: list[str] = []
    app = world.app
    channel = Flaky()
    relay = Relay(app.db, app.clock, app.settings,
                  lambda ids, lease: leases.append(lease) or [], channels={"email": channel})
    row = email_row(world)
    relay.dispatch([row["message_id"]])
    world.clock.advance(seconds=app.settings.outbox_lease_seconds + 1)
    relay.dispatch_due()
    first, second = leases[0], leases[-1]
    assert relay.deliver(row["message_id"], first) == "superseded by another dispatch"
    assert relay.deliver(row["message_id"], second) == "sent"
    assert channel.sent == [row["message_id"]]


def test_without_an_smtp_url_mail_is_written_once_per_message_to_the_mail_folder(
        tmp_path: Path) -> None:
    """The embedded default delivers e-mail as .eml files named by message id: a redelivery
    rewrites the same file, so each message exists once."""
    from workflow.config import Settings
    from workflow.messaging.channels import channels_for

    channel = channels_for(replace(Settings(), smtp_url=None, mail_folder=str(tmp_path)))["email"]
    message = Outgoing("m-1", "status", "email", "htx@example.vn", "vi", "HN-2025-000001",
                       "Hồ sơ HN-2025-000001", "Nội dung", {}, "secret")
    channel.send(message)
    channel.send(message)
    files = list(tmp_path.glob("*.eml"))
    assert [f.name for f in files] == ["m-1.eml"]
    text = files[0].read_text(encoding="utf-8")
    assert "X-OCOP-Event-Id: m-1" in text and "htx@example.vn" in text
