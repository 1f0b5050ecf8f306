"""Deliver one outbox message."""

from __future__ import annotations

from typing import Any

from tasks import task
from workflow.messaging.broker import DELIVER, DELIVER_ALL


@task(DELIVER)
def deliver(self: Any, message_id: str, lease: str | None = None) -> str:
    """Send outbox message ``message_id`` (dispatched with ``lease``) and record the outcome."""
    return str(self.app.ocop_runtime.relay.deliver(message_id, lease))


@task(DELIVER_ALL)
def deliver_all(self: Any, message_ids: list[str], lease: str | None = None) -> dict[str, str]:
    """Send the messages of one dispatch (a transition's: in-app, e-mail, webhook) in one task;
    half the tasks and transactions of one task per message."""
    return dict(self.app.ocop_runtime.relay.deliver_all(message_ids, lease))

