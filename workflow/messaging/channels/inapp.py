"""In-app notifications: the outbox row itself, shown on the producer's status page once sent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from workflow.clock import iso
from workflow.messaging.channels.base import Outgoing
from workflow.messaging.channels.render import render
from workflow.store.schema import outbox


class InAppChannel:
    """Nothing leaves the system: recording the row as sent is what makes it visible."""

    # Not external: a delivery task records it together with the next external message
    # (workflow/messaging/delivery.py) instead of in a transaction of its own.
    external = False

    def send(self, message: Outgoing) -> None:
        return None


def notifications(conn: Connection, case_id: int, lang: str | None = None,
                  limit: int = 50) -> list[dict[str, Any]]:
    """The producer's in-app notifications of one case, newest first, rendered in ``lang``."""
    rows = conn.execute(select(outbox).where(
        outbox.c.case_id == case_id, outbox.c.channel == "inapp",
        outbox.c.recipient.is_(None), outbox.c.status == "sent")
        .order_by(outbox.c.id.desc()).limit(limit))
    out = []
    for r in rows:
        subject, body = render(r.kind, lang or r.lang, r.payload)
        out.append({"id": r.message_id, "kind": r.kind, "at": iso(r.created_at),
                    "subject": subject, "body": body})
    return out
