"""A browser that visits pages as one person or another and checks each page it opens."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from playwright.sync_api import Browser, BrowserContext, Page, Response, sync_playwright

from tests.e2e.chromium import FLAGS, require_chromium
from tests.e2e.dataset import DataSet
from tests.e2e.pages import Findings, check_page, shot
from workflow.bootstrap import App


@dataclass
class Site:
    """The served app, its data set and its address."""

    app: App
    data: DataSet
    url: str


@dataclass
class Visitor:
    """The browser contexts, one per person (signed in once), and what went wrong besides
    the page itself: 5xx answers to any request, script errors."""

    browser: Browser
    site: Site
    contexts: dict[tuple[str | None, str], Page] = field(default_factory=dict)
    stray: list[str] = field(default_factory=list)

    def page(self, who: str | None, lang: str = "vi") -> Page:
        """The page of ``who`` (``None``: nobody signed in) in a browser set to ``lang``."""
        if (who, lang) not in self.contexts:
            context = self.browser.new_context(
                locale="vi-VN" if lang == "vi" else "en-GB", timezone_id="Asia/Ho_Chi_Minh",
                viewport={"width": 1366, "height": 860})
            self._watch(context)
            page = context.new_page()
            if who is not None:
                self._sign_in(page, who)
            self.contexts[who, lang] = page
        return self.contexts[who, lang]

    def _watch(self, context: BrowserContext) -> None:
        def answered(response: Response) -> None:
            if response.status >= 500:
                self.stray.append(f"{response.url} answered {response.status}")
        context.on("response", answered)
        context.on("weberror", lambda error: self.stray.append(f"script error: {error.error}"))

    def _sign_in(self, page: Page, who: str) -> None:
        page.goto(f"{self.site.url}/console/sign-in")
        page.fill('input[name="name"]', self.site.data.names[who])
        page.fill('input[name="token"]', self.site.data.tokens[who])
        with page.expect_navigation():
            page.click('button[type="submit"]')
        assert "/console/inbox" in page.url, f"{who} could not sign in: {page.url}"

    def visit(self, who: str | None, path: str, label: str, findings: Findings,
              expect: int | range | None = 200, picture: str | None = None,
              lang: str = "vi") -> Page:
        """Open ``path`` as ``who`` and check it; in English by asking with ``?lang=en``."""
        page = self.page(who, lang)
        ask = "" if lang == "vi" else ("&" if "?" in path else "?") + f"lang={lang}"
        response = page.goto(f"{self.site.url}{path}{ask}")
        self.check(page, response, label, findings, expect, picture, lang)
        return page

    def check(self, page: Page, response: Response | None, label: str, findings: Findings,
              expect: int | range | None, picture: str | None = None,
              lang: str = "vi") -> None:
        check_page(page, response, label, findings, expect, lang)
        for problem in self.stray:
            if not problem.startswith(f"{page.url} "):  # the page's own status is checked
                findings.add(label, page.url, problem)
        self.stray.clear()
        if picture:
            shot(page, picture, findings)


@contextmanager
def browsing(site: Site) -> Iterator[Visitor]:
    """One headless Chromium for a whole module, visiting ``site``."""
    chromium = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        try:
            yield Visitor(browser, site)
        finally:
            browser.close()
