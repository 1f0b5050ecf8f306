"""A simulated clock several processes share: the time is read from a file on every call.

Only honoured in simulation (``OCOP_SIMULATION=1`` with ``OCOP_NOW=@/path/to/file``), so a test
or a backfill can move the time of running workers and schedulers without restarting them.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path

from workflow.clock import aware, parse_iso


class FileClock:
    """The time written in ``path`` (ISO 8601); re-read when the file changes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[int, datetime] | None = None

    def now(self) -> datetime:
        stamp = os.stat(self.path).st_mtime_ns
        if self._seen is None or self._seen[0] != stamp:
            self._seen = (stamp, parse_iso(self.path.read_text(encoding="utf-8").strip()))
        return self._seen[1]

    def set(self, at: datetime) -> None:
        """Write ``at`` atomically (readers never see a half-written file)."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(aware(at).isoformat(), encoding="utf-8")
        os.replace(tmp, self.path)
        self._seen = None

    def advance(self, **delta: float) -> datetime:
        at = self.now() + timedelta(**delta)
        self.set(at)
        return at
