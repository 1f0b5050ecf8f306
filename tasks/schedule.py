"""What beat asks for: sweep the due deadlines, relay the pending outbox, sign a checkpoint."""

from __future__ import annotations

from typing import Any

from tasks import task
from workflow import record
from workflow.messaging.broker import CHECKPOINT, RELAY, SWEEP


@task(SWEEP)
def sweep(self: Any) -> dict[str, int]:
    """Fire every deadline that is due now, each exactly once."""
    return dict(self.app.ocop_runtime.sweeper().run())


@task(RELAY)
def relay(self: Any) -> int:
    """Hand pending outbox messages whose dispatch lease ran out to delivery tasks."""
    return int(self.app.ocop_runtime.relay.dispatch_due())


@task(CHECKPOINT)
def checkpoint(self: Any) -> dict[str, Any]:
    """Sign every chain's length and head into OCOP_CHECKPOINT_DIR (``ocop audit checkpoint``)."""
    return record.take_checkpoint(self.app.ocop_runtime.app)
