"""What the browser tests share: Debian's Chromium, its flags, and what to do without it."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect, sync_playwright

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


@contextmanager
def signed_in(url: str, name: str, token: str, viewport: ViewportSize,
              lang: str = "vi") -> Iterator[Page]:
    """A page of a fresh headless Chromium signed in to the console at ``url`` as ``name``
    (downloads accepted; relative ``goto`` paths resolve against ``url``)."""
    chromium = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        page = browser.new_context(viewport=viewport, base_url=url,
                                   accept_downloads=True).new_page()
        page.goto(f"/console/sign-in?lang={lang}")
        page.fill("#name", name)
        page.fill("#token", token)
        page.click("button[type=submit]")
        expect(page).to_have_url(re.compile(r"/console/inbox$"))
        try:
            yield page
        finally:
            browser.close()
