"""What beat asks for: sweep the due deadlines, relay the pending outbox."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="ocop.sweep", bind=True, ignore_result=True)
def sweep(self: Any) -> dict[str, int]:
    """Fire every deadline that is due now, each exactly once."""
    return dict(self.app.ocop_runtime.sweeper().run())


@shared_task(name="ocop.relay", bind=True, ignore_result=True)
def relay(self: Any) -> int:
    """Hand pending outbox messages whose dispatch lease ran out to delivery tasks."""
    return int(self.app.ocop_runtime.relay.dispatch_due())
