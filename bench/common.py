"""Shared benchmark plumbing: fresh databases, bulk seeding, resident memory."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psutil
from sqlalchemy import Engine, insert

if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.support import pg_database
from workflow.clock import FixedClock
from workflow.store import audit
from workflow.store.schema import cases, producers


def rss_mb() -> float:
    return psutil.Process(os.getpid()).memory_info().rss / 2**20


@contextmanager
def database(kind: str) -> Iterator[str]:
    """A fresh database URL of ``kind`` ("sqlite" or "postgres"), removed afterwards."""
    if kind == "postgres":
        with pg_database() as url:
            yield url
        return
    with tempfile.TemporaryDirectory() as tmp:
        yield f"sqlite:///{tmp}/bench.db"


def seed_drafts(db: Engine, clock: FixedClock, n: int, start: int = 0,
                batch: int = 10_000) -> list[str]:
    """``n`` cases in draft (dossier complete) for one producer; returns their codes."""
    now = clock.now()
    with db.begin() as conn:
        pid = conn.execute(insert(producers).values(
            name="HTX Bench", kind="cooperative", commune="Xã Bình Minh", commune_code="10126",
            email=None, webhook_url=None, webhook_secret="x" * 64, lang="vi", created_at=now,
        ).returning(producers.c.id)).scalar_one()
    codes = [f"B-{start + i:07d}" for i in range(n)]
    docs = {"documents": ["registration_form", "business_plan", "product_standard"]}
    for lo in range(0, n, batch):
        rows: list[dict[str, Any]] = [{
            "code": code, "producer_id": pid, "product": "Tương", "product_group": "food",
            "subgroup": None, "commune": "Xã Bình Minh", "commune_code": "10126", "state": "draft",
            "version": 1, "rule_version": "1489", "rules_pinned": False, "dossier": docs,
            "status_token": f"tok-{code}", "audit_seq": 0, "audit_head": audit.GENESIS,
            "created_at": now, "updated_at": now} for code in codes[lo:lo + batch]]
        with db.begin() as conn:
            conn.execute(insert(cases), rows)
    return codes
