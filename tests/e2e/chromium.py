"""What the browser tests share: Debian's Chromium, its flags, and what to do without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def require_chromium() -> str:
    """The browser's path. Without it a browser test skips on a workstation, but fails in CI
    (``CI=true``), where a missing browser must never pass unnoticed."""
    if not Path(CHROMIUM).exists():
        message = f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)"
        if in_ci():
            pytest.fail(message + "; CI=true, so browser tests must run", pytrace=False)
        pytest.skip(message)
    return CHROMIUM
