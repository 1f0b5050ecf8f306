"""Issue 13 in headless Chromium: a city officer over an imported 1048 cohort (120 certified
products, half of them with a trademark) describes the certificates to re-open in words,
previews the count, saves the plan, runs it and watches the progress page refresh itself until
every selected case is re-opened; a selected case's page then shows it in re-evaluation. Real
uvicorn server, on-disk SQLite. Screenshots go to ``test-artifacts/13-*.png``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from tests.api_support import served
from tests.cohorts import row, write_csv
from tests.e2e.chromium import signed_in
from tests.support import START, World, make_app
from workflow import importer
from workflow.clock import FixedClock

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
WHERE = "rules=1048 stars>=4 trademark=no"
# 120 products: 4★ but every fifth 3★, every other one with a trademark certificate; the
# words select the 4★ ones without: 60 without a trademark, 12 of them 3★.
SELECTED = 48


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    app = make_app(f"sqlite:///{tmp_path / 'ocop.db'}", FixedClock(START))
    world = World(app)
    rows = [row(n, rule_version="1048", decision_date="2023-01-10", stars=3 if n % 5 == 0 else 4,
                trademark_no=f"NH-{n}" if n % 2 else "",
                trademark_holder=f"HTX Nông sản số {n}" if n % 2 else "")
            for n in range(1, 121)]
    importer.run(app.db, write_csv(tmp_path / "cohort.csv", rows), world.actors["system"],
                 START)
    yield world
    app.close()


@pytest.fixture
def page(world: World) -> Iterator[Page]:
    with served(world.app) as url, signed_in(url, "city", world.tokens["city"], VIEWPORT,
                                             "en") as page:
        yield page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"13-{name}.png"), full_page=True)


def test_a_city_officer_plans_previews_runs_and_watches_a_campaign(page: Page) -> None:
    page.get_by_test_id("nav-campaigns").click()
    expect(page.get_by_test_id("campaign-words")).to_contain_text("trademark (=)")
    page.get_by_test_id("campaign-where").fill(WHERE)
    page.get_by_test_id("campaign-message").fill("Decision 148 asks for a trademark at 4★.")
    page.get_by_test_id("campaign-preview").click()
    expect(page.get_by_test_id("campaign-count")).to_have_attribute("data-count", str(SELECTED))
    expect(page.get_by_test_id("campaign-case")).to_have_count(SELECTED)
    expect(page.get_by_test_id("campaign-where")).to_have_value(WHERE)
    shot(page, "preview")
    first = page.get_by_test_id("campaign-case").first.get_attribute("data-case")

    page.get_by_test_id("campaign-save").click()
    expect(page).to_have_url(re.compile(r"/console/campaigns/\d+\?lang=en$"))
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "planned")
    expect(page.get_by_test_id("campaign-left")).to_have_text(str(SELECTED))
    page.get_by_test_id("campaign-run").click()
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "done",
                                                                      timeout=10_000)
    for testid, shown in (("campaign-done", SELECTED), ("campaign-skipped", 0),
                          ("campaign-failed", 0), ("campaign-left", 0)):
        expect(page.get_by_test_id(testid)).to_have_text(str(shown))
    expect(page.get_by_test_id("campaign-bar")).to_have_attribute("value", str(SELECTED))
    shot(page, "done")

    page.goto(f"/console/cases/{first}?lang=en")
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "reevaluation")
