"""Outgoing messages are rows written in the transition's transaction (the outbox)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote

from workflow.clock import iso

PENDING, SENT, FAILED = "pending", "sent", "failed"
# The notices a producer receives (and sees on the status page); the others go to the office.
# ``transferred``: a case at a district stage passed to the level that owns it since the
# districts ended (``ocop units remap``).
PRODUCER_KINDS = ("status", "completion_reminder", "certificate_notice", "transferred")


def status_url(public_url: str, code: str, token: str) -> str:
    """The producer's own status page: ``{OCOP_PUBLIC_URL}/status/{code}?t={status_token}``."""
    return f"{public_url.rstrip('/')}/status/{quote(code, safe='')}?t={quote(token, safe='')}"


def channels(case: dict[str, Any]) -> list[tuple[str, str | None]]:
    """Where a producer hears about their case: always in-app, plus e-mail and webhook if set."""
    out: list[tuple[str, str | None]] = [("inapp", None)]
    if case.get("producer_email"):
        out.append(("email", case["producer_email"]))
    if case.get("producer_webhook"):
        out.append(("webhook", case["producer_webhook"]))
    return out


def status_messages(case: dict[str, Any], seq: int, trigger: str, source: str, dest: str,
                    now: datetime, extra: dict[str, Any], *, public_url: str,
                    available_at: datetime | None = None,
                    kind: str = "status") -> list[dict[str, Any]]:
    """The producer's status notification of one transition, one row per channel; each
    carries the link to the producer's status page (``status_url``), computed now.
    ``kind``: one of :data:`PRODUCER_KINDS` (a transfer's notice is ``transferred``).

    ``available_at``: the end of the dispatch lease when the rows are written already leased
    to the relay's after-commit nudge (which then publishes without a write of its own);
    by default the rows are due at once, for the periodic relay."""
    payload = {
        "case_code": case["code"], "product": case["product"], "producer": case["producer_name"],
        "trigger": trigger, "from": source, "state": dest, "at": iso(now), "seq": seq, **extra,
        "status_url": status_url(public_url, case["code"], case["status_token"]),
    }
    return [
        message(case["id"], seq, kind, channel, recipient, case["producer_lang"], payload, now,
                available_at=available_at)
        for channel, recipient in channels(case)
    ]


def message(case_id: int, seq: int, kind: str, channel: str, recipient: str | None, lang: str,
            payload: dict[str, Any], now: datetime, *,
            available_at: datetime | None = None) -> dict[str, Any]:
    """One outbox row, pending; due at ``available_at`` (a dispatch lease's end) or now."""
    return {
        "message_id": str(uuid.uuid4()), "case_id": case_id, "audit_seq": seq, "kind": kind,
        "channel": channel, "recipient": recipient, "lang": lang, "payload": payload,
        "status": PENDING, "attempts": 0, "available_at": available_at or now, "sent_at": None,
        "last_error": None, "created_at": now,
    }
