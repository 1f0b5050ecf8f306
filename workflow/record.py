"""The record's integrity as a service: sign a checkpoint (``ocop audit checkpoint``, beat),
verify everything (``ocop audit verify``). The checks themselves are ``store/integrity.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import structlog

from workflow.bootstrap import App
from workflow.store import adminlog, checkpoint, integrity
from workflow.store.db import read_snapshot

log = structlog.get_logger("ocop.record")


def take_checkpoint(app: App) -> dict[str, Any]:
    """Sign the database as it stands into ``OCOP_CHECKPOINT_DIR`` and, with
    ``OCOP_CHECKPOINT_URL``, POST the same document there (a failed post is reported; the
    file is written first all the same)."""
    folder = Path(app.settings.checkpoint_dir)
    with read_snapshot(app.db) as conn:
        cp = checkpoint.write(conn, app.keys, app.clock.now(), folder)
    result: dict[str, Any] = {"number": cp.number, "at": cp.at, "path": str(cp.path),
                              "cases": cp.doc["case_count"], "entries": cp.doc["entry_count"],
                              "key": cp.doc["key"]}
    url = app.settings.checkpoint_url
    if url:
        try:
            httpx.post(url, content=cp.path.read_bytes(), timeout=10.0,
                       headers={"Content-Type": "application/json"},
                       follow_redirects=False).raise_for_status()
            result["posted"] = url
        except httpx.HTTPError as error:
            result["post_failed"] = {"url": url, "why": str(error) or type(error).__name__}
            log.error("checkpoint_post_failed", url=url, error=str(error))
    log.info("checkpoint_written", **{k: v for k, v in result.items() if k != "path"},
             path=str(cp.path))
    return result


def verify(app: App, case_code: str | None = None, signatures: bool = False
           ) -> tuple[integrity.Report, adminlog.Verification | None]:
    """Every check of ``store/integrity`` and, with no case given, the admin log's chain;
    ``signatures``: verify every certificate's Ed25519 signature with the public key too."""
    with read_snapshot(app.db) as conn:
        report = integrity.verify(conn, app.keys, Path(app.settings.checkpoint_dir), case_code,
                                  signatures)
        log_check = adminlog.verify(conn) if case_code is None else None
    return report, log_check
