"""Issue 12 in headless Chromium: the office's register and reports pages over an imported
cohort (Hà Nội 2018–2020, 630 products) and a few products certified this year. The city
officer filters the register to the products proposed for 5★ and downloads them as Excel, reads
the counts by stars with their chart drawn, sets this year's target and sees new products
against it. Real uvicorn server, on-disk SQLite. Screenshots go to ``test-artifacts/12-*.png``."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Locator, Page, ViewportSize, expect

from tests.api_support import served
from tests.cohorts import hanoi_2018_2020, row, write_csv
from tests.e2e.chromium import signed_in
from tests.support import START, World, make_app
from workflow import importer
from workflow.bootstrap import App
from workflow.clock import FixedClock, local
from workflow.domain.facts import Actor
from workflow.store import units

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
VIEWPORT: ViewportSize = {"width": 1366, "height": 900}
THIS_YEAR = local(START).date().year


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    app = make_app(f"sqlite:///{tmp_path / 'ocop.db'}", FixedClock(START))
    with app.db.connect() as conn:
        communes = [u.name for u in units.listing(conn, "commune") if u.valid_to is None][:40]
    recent = [row(1000 + n, decision_date=f"{THIS_YEAR}-0{1 + n % 5}-1{n % 9}",
                  certificate_no=f"HN-{THIS_YEAR}-{n:04d}", stars=3 + n % 2)
              for n in range(12)]
    path = write_csv(tmp_path / "register.csv", hanoi_2018_2020(communes) + recent)
    importer.run(app.db, path, Actor("system", "system"), START)
    yield app
    app.close()


@pytest.fixture
def page(app: App) -> Iterator[Page]:
    world = World(app)
    with served(app) as url, signed_in(url, "city", world.tokens["city"], VIEWPORT) as page:
        yield page


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"12-{name}.png"), full_page=True)
    page.evaluate("() => window.scrollTo(0, 0)")


def drawn(page: Page, chart: Locator) -> None:
    """The chart's picture loaded and decoded, at a readable width."""
    chart.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 300",
                           arg=chart.element_handle(), timeout=10_000)


def test_the_office_reads_its_register_and_reports_with_a_chart(
        page: Page) -> None:
    browser = page
    browser.get_by_test_id("nav-register").click()
    expect(browser.get_by_test_id("register-total")).to_have_attribute("data-total", "12")

    browser.get_by_test_id("filter-stars").select_option("4+")
    browser.get_by_test_id("filter-status").select_option("any")
    browser.get_by_test_id("filter-year").fill("2019-2020")
    browser.get_by_role("button", name=re.compile("Lọc|Filter")).click()
    expect(browser.get_by_test_id("register-total")).to_have_attribute("data-total", "14")
    expect(browser.get_by_test_id("register-row")).to_have_count(14)
    expect(browser.get_by_test_id("register-row").first).to_contain_text("đề")
    shot(browser, "register")
    with browser.expect_download() as download:
        browser.get_by_test_id("register-export-xlsx").click()
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert sheet is not None and sheet.max_row == 15  # the header and 14 products

    browser.get_by_test_id("nav-reports").click()
    browser.get_by_test_id("reports-by").select_option("stars")
    filters = browser.get_by_test_id("reports-filters")
    filters.locator("select[name=status]").select_option("any")
    filters.locator("input[name=year]").fill("2018-2020")
    browser.get_by_test_id("reports-show").click()
    counts = browser.get_by_test_id("reports-counts")
    for shown in ("421", "195", "14"):
        expect(counts).to_contain_text(shown)
    chart = browser.get_by_test_id("reports-chart-stars")
    expect(chart).to_be_visible()
    drawn(browser, chart)

    form = browser.get_by_test_id("reports-target-form")
    form.locator("input[name=year]").fill(str(THIS_YEAR))
    form.locator("input[name=products]").fill("400")
    form.locator("button[type=submit]").click()
    expect(browser.get_by_test_id("reports-target-done")).to_be_visible()
    expect(browser.get_by_test_id("reports-targets")).to_contain_text("400")
    expect(browser.get_by_test_id("reports-new-per-year")).to_contain_text(str(THIS_YEAR))
    new_chart = browser.get_by_test_id("reports-chart-new")
    drawn(browser, new_chart)
    for each in browser.locator("img[data-testid^=reports-chart-]").all():
        drawn(browser, each)
    shot(browser, "reports")
