"""Delivery with fewer round trips: one SMTP connection kept per worker, a transition's
messages delivered by one task in two transactions, rows written already leased to the
after-commit nudge — and none of it weakens "pending until recorded sent"."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from tests.support import DOCS, World
from workflow.clock import parse_iso
from workflow.domain import outbox as outbox_rows
from workflow.messaging.channels import DeliveryError, Outgoing
from workflow.messaging.channels.inapp import InAppChannel
from workflow.messaging.channels.smtp import SmtpChannel
from workflow.relay import Relay
from workflow.store.schema import outbox

MAIL = Outgoing("6b0c2d1e-5f3a-4c7b-9e8d-0a1b2c3d4e5f", "status", "email", "p1@example.vn",
                "vi", "HN-2025-000001", "[OCOP] Hồ sơ", "Nội dung")


class FakeSmtp(smtplib.SMTP):
    """An SMTP session that records what it carries; ``drop_after`` messages, then it behaves
    as a connection the server closed."""

    def __init__(self, server: FakeServer) -> None:
        super().__init__()  # no host: connects nowhere
        self.server, self.carried = server, 0

    def sendmail(self, from_addr: Any, to_addrs: Any, msg: Any, *args: Any,
                 **kwargs: Any) -> dict[str, tuple[int, bytes]]:
        if self.server.drop_after is not None and self.carried >= self.server.drop_after:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        if self.server.refuse_fresh:
            raise ConnectionRefusedError("connection refused")
        self.carried += 1
        self.server.received.append(msg)
        return {}

    def quit(self) -> tuple[int, bytes]:
        self.server.quits += 1
        return 221, b"bye"

    def close(self) -> None:
        self.server.closed += 1


class FakeServer:
    def __init__(self, drop_after: int | None = None) -> None:
        self.drop_after, self.refuse_fresh = drop_after, False
        self.connects = self.quits = self.closed = 0
        self.received: list[bytes] = []

    def connect(self, scheme: str, host: str, port: int | None, timeout: float) -> FakeSmtp:
        self.connects += 1
        return FakeSmtp(self)


def channel(server: FakeServer) -> SmtpChannel:
    return SmtpChannel("smtp://mail.example.vn:25", "OCOP Hà Nội <no-reply@ocop.vn>",
                       connect=server.connect)


def test_one_smtp_connection_carries_many_messages_and_says_quit_at_shutdown() -> None:
    """Three messages, one connection; closing the channel ends the session politely."""
    server = FakeServer()
    mail = channel(server)
    for _ in range(3):
        mail.send(MAIL)
    assert (server.connects, len(server.received)) == (1, 3)
    mail.close()
    assert (server.quits, server.closed) == (1, 1)


def test_a_connection_the_server_closed_is_replaced_and_the_message_sent_on_a_new_one() -> None:
    """The server dropped the idle session: the message goes out once on a fresh one."""
    server = FakeServer(drop_after=1)
    mail = channel(server)
    mail.send(MAIL)
    mail.send(MAIL)
    assert (server.connects, len(server.received)) == (2, 2)


def test_a_failure_on_a_fresh_connection_is_a_delivery_error_not_a_loop() -> None:
    """Only a reused connection is retried; a server that is down is the relay's to retry."""
    server = FakeServer()
    server.refuse_fresh = True
    with pytest.raises(DeliveryError):
        channel(server).send(MAIL)
    assert server.connects == 1


def test_the_mail_names_the_sender_in_vietnamese_and_carries_the_event_id() -> None:
    """The display name is RFC 2047 encoded; the envelope uses the bare address."""
    mail = channel(FakeServer()).compose(MAIL)
    assert "=?utf-8?" in mail["From"] and mail["From"].endswith("<no-reply@ocop.vn>")
    assert mail["X-OCOP-Event-Id"] == MAIL.message_id
    assert mail["Subject"] == "[OCOP] Hồ sơ"


class Recording:
    """A channel that records what it sent, external like e-mail unless told otherwise."""

    def __init__(self, external: bool = True) -> None:
        self.external, self.sent = external, []  # type: ignore[var-annotated]

    def send(self, message: Outgoing) -> None:
        self.sent.append(message.message_id)


def transition(world: World) -> list[str]:
    """One submission; returns its outbox message ids (in-app and e-mail)."""
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    with world.app.db.connect() as conn:
        seq = conn.execute(select(outbox.c.audit_seq).order_by(outbox.c.id.desc())).scalar()
        return list(conn.execute(select(outbox.c.message_id)
                                 .where(outbox.c.audit_seq == seq)
                                 .order_by(outbox.c.id.desc()).limit(2)).scalars())


def statuses(world: World, ids: list[str]) -> set[str]:
    with world.app.db.connect() as conn:
        return set(conn.execute(select(outbox.c.status)
                                .where(outbox.c.message_id.in_(ids))).scalars())


def test_a_transitions_messages_are_delivered_by_one_task_and_a_stale_copy_stands_down(
        world: World) -> None:
    """Dispatched together under one lease, both messages are sent and recorded by one task;
    a second copy of that task (a broker redelivery) finds nothing left to take."""
    groups: list[list[str]] = []
    leases: list[str] = []
    app = world.app
    email = Recording()

    def publish(g: Any, lease: str) -> list[str]:
        groups.extend(map(list, g))
        leases.append(lease)
        return []

    relay = Relay(app.db, app.clock, app.settings, publish,
                  channels={"inapp": Recording(external=False), "email": email})
    ids = transition(world)
    relay.nudge(SimpleNamespace(message_ids=tuple(ids), lease=None))  # type: ignore[arg-type]
    assert [sorted(g) for g in groups] == [sorted(ids)]
    assert relay.deliver_all(ids, leases[0]) == dict.fromkeys(ids, "sent")
    assert relay.deliver_all(ids, leases[0]) == {}
    assert statuses(world, ids) == {"sent"} and len(email.sent) == 1


def test_rows_written_leased_to_the_nudge_are_published_without_a_second_write(
        world: World) -> None:
    """The engine wrote the rows with the lease's end as ``available_at``: the nudge publishes
    them as they are, the periodic relay leaves them alone until the lease runs out, and the
    task of that dispatch sends them."""
    app = world.app
    published: list[tuple[list[str], str]] = []

    def publish(g: Any, lease: str) -> list[str]:
        published.extend((list(x), lease) for x in g)
        return []

    relay = Relay(app.db, app.clock, app.settings, publish,
                  channels={"inapp": InAppChannel(), "email": Recording()})
    lease_end = app.clock.now() + (relay.lease_for_engine() or timedelta())
    ids = transition(world)
    with app.db.begin() as conn:  # what the engine writes once it passes the lease
        conn.execute(outbox.update().where(outbox.c.message_id.in_(ids))
                     .values(available_at=lease_end))
    relay.nudge(SimpleNamespace(message_ids=tuple(ids), lease=lease_end))  # type: ignore[arg-type]
    assert published == [(ids, lease_end.isoformat())]
    relay.dispatch_due()  # hands over what is due (the registration's messages), not these
    assert [g for g, _ in published if set(g) & set(ids)] == [ids]
    assert relay.deliver_all(ids, lease_end.isoformat()) == dict.fromkeys(ids, "sent")


def test_status_messages_can_be_written_already_leased() -> None:
    """``available_at`` defaults to the transition's time; a lease's end can be given."""
    case = {"id": 1, "code": "HN-1", "product": "Tương", "producer_name": "HTX",
            "producer_lang": "vi", "producer_email": "p@example.vn", "status_token": "tok"}
    at = parse_iso("2025-09-01T09:00:00+07:00")
    due = outbox_rows.status_messages(case, 1, "submit", "draft", "registered", at, {},
                                      public_url="https://ocop.example.vn")
    leased = outbox_rows.status_messages(case, 1, "submit", "draft", "registered", at, {},
                                         public_url="https://ocop.example.vn",
                                         available_at=at + timedelta(seconds=60))
    assert {m["available_at"] for m in due} == {at}
    assert {m["available_at"] for m in leased} == {at + timedelta(seconds=60)}


def test_with_a_nudging_relay_the_engine_writes_its_messages_already_leased(
        world: World) -> None:
    """When a relay nudges after commit, the transition's outbox rows are written with the
    lease's end as ``available_at`` and ``Applied.lease`` says so; without one they are due."""
    code = world.register()
    world.app.engine.outbox_lease = timedelta(seconds=60)
    applied = world.fire(code, "submit", "producer1", DOCS)
    assert applied.lease == world.clock.now() + timedelta(seconds=60)
    with world.app.db.connect() as conn:
        due = set(conn.execute(select(outbox.c.available_at)
                               .where(outbox.c.message_id.in_(applied.message_ids))).scalars())
    assert due == {applied.lease}
    world.app.engine.outbox_lease = None
    assert world.fire(code, "withdraw", "producer1").lease is None
