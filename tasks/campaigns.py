"""A re-evaluation campaign's chunk, run by a worker: several workers share a large campaign."""

from __future__ import annotations

from typing import Any

from tasks import task
from workflow import campaigns


@task(campaigns.CHUNK_TASK)
def run_chunk(self: Any, campaign_id: int, size: int) -> int:
    """Claim and re-open up to ``size`` pending cases of campaign ``campaign_id`` (one
    transaction, ``workflow.campaigns.run_chunk``); how many items it took."""
    return campaigns.run_chunk(self.app.ocop_runtime.app, campaign_id, size)
