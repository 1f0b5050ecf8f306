"""What every channel shares: the message to send and the two ways a send can fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class DeliveryError(Exception):
    """The send failed but may work later (network, 5xx, 429): the relay retries with backoff."""


class PermanentFailure(DeliveryError):
    """Retrying cannot help (a redirect, a 4xx, no address): the message is marked failed."""


@dataclass(frozen=True)
class Outgoing:
    """One outbox row, rendered: ``message_id`` is the receiver's idempotency key."""

    message_id: str
    kind: str
    channel: str
    recipient: str | None
    lang: str
    case_code: str
    subject: str
    body: str
    payload: dict[str, Any] = field(default_factory=dict)
    secret: str | None = None  # the producer's webhook secret


class Channel(Protocol):
    def send(self, message: Outgoing) -> None:
        """Deliver ``message`` or raise ``DeliveryError``."""
