"""What beat asks for: sweep the due deadlines, relay the pending outbox."""

from __future__ import annotations

from typing import Any

from tasks import task
from workflow.messaging.broker import RELAY, SWEEP


@task(SWEEP)
def sweep(self: Any) -> dict[str, int]:
    """Fire every deadline that is due now, each exactly once."""
    return dict(self.app.ocop_runtime.sweeper().run())


@task(RELAY)
def relay(self: Any) -> int:
    """Hand pending outbox messages whose dispatch lease ran out to delivery tasks."""
    return int(self.app.ocop_runtime.relay.dispatch_due())
