"""The console and the public pages in headless Chromium (Debian's, driven by Playwright),
against a real uvicorn server on an on-disk SQLite database. Screenshots go to
``test-artifacts/`` (kept by CI, ignored by git)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Locator, Page, expect, sync_playwright
from sqlalchemy import select

from tests.api_support import in_district_review
from tests.e2e.chromium import FLAGS, require_chromium
from tests.support import World, make_app
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.store.schema import cases

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock) -> Iterator[App]:
    app = make_app(f"sqlite:///{tmp_path / 'ocop.db'}", clock)
    yield app
    app.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[BrowserContext]:
    chromium = require_chromium()
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=chromium, headless=True,
            args=FLAGS, viewport={"width": 1366, "height": 860}, accept_downloads=True)
        yield context
        context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    # Headless Chromium can place the next click wrongly after a full-page capture of a long
    # page (it lands on <main>); back at the top, clicks go where they are aimed.
    page.evaluate("window.scrollTo(0, 0)")


def sign_in(page: Page, base_url: str, world: World, who: str) -> None:
    page.goto(f"{base_url}/console")
    page.fill("#name", who)
    page.fill("#token", world.tokens[who])
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/inbox$"))


def fill_sheet(form: Locator, member: str, a: str, b: str = "20", c: str = "25") -> None:
    """The first council member's score sheet in a scoring form."""
    form.locator('input[name="member_1"]').fill(member)
    for part, value in (("a", a), ("b", b), ("c", c)):
        form.locator(f'input[name="{part}_1"]').fill(value)


def test_the_commune_officer_scores_a_district_stage_and_sees_the_case_move(
        browser: BrowserContext, base_url: str, world: World) -> None:
    """A 148 case at the district stage after 2025-07-01 is the commune officer's work (the
    districts' successor): sign in, open the case from the inbox, fill the council's sheet,
    apply: the case is now in ip_check, the timeline has one more entry, the diagram draws the
    step taken."""
    code = in_district_review(world, "Tương Cự Đà")
    page = browser.new_page()
    sign_in(page, base_url, world, "commune1")
    expect(page.get_by_test_id("inbox")).to_contain_text(code)
    shot(page, "01-inbox-commune-officer-district-stage")
    page.click(f"text={code}")
    timeline = page.get_by_test_id("timeline").locator("li")
    before = timeline.count()
    form = page.locator('form[data-trigger="record_district_score"]')
    fill_sheet(form, "Bà Nguyễn Thị Lan", "30")
    expect(form.locator("td.total").first).to_have_text("75.00")
    shot(page, "02-case-score-sheet-filled")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "ip_check")
    expect(timeline).to_have_count(before + 1)
    expect(page.get_by_test_id("score")).to_have_text(re.compile(r"^75([.,]0+)?$"))
    expect(page.locator("svg.lifecycle g.edge.taken")).to_have_count(3)
    shot(page, "03-case-moved-to-ip-check")


def test_a_part_over_its_maximum_is_caught_in_the_form_before_it_is_sent(
        browser: BrowserContext, base_url: str, world: World) -> None:
    """Part A is scored to 40: the browser will not submit 45, and the case stays put."""
    code = in_district_review(world)
    page = browser.new_page()
    sign_in(page, base_url, world, "commune1")
    page.goto(f"{base_url}/console/cases/{code}")
    form = page.locator('form[data-trigger="record_district_score"]')
    fill_sheet(form, "Ông Trần Văn Hùng", "45")
    assert not form.evaluate("f => f.checkValidity()")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", "district_review")
    shot(page, "04-score-over-maximum-held-in-form")


def test_a_producer_reads_their_status_page_in_vietnamese(
        browser: BrowserContext, base_url: str, world: World) -> None:
    """The link with the case's token shows state, timeline and notices in Vietnamese."""
    code = in_district_review(world)
    world.fire(code, "request_completion", "commune1", {"days": 20},
               "Bổ sung phiếu kiểm nghiệm sản phẩm")
    with world.app.db.connect() as conn:
        token = conn.execute(select(cases.c.status_token).where(cases.c.code == code)
                             ).scalar_one()
    page = browser.new_page()
    page.goto(f"{base_url}/status/{code}?t={token}")
    expect(page.locator("h1")).to_have_text("Tình trạng hồ sơ OCOP")
    expect(page.get_by_test_id("state")).to_have_text("Cần bổ sung hồ sơ")
    expect(page.get_by_test_id("timeline")).to_contain_text("Yêu cầu bổ sung")
    expect(page.get_by_test_id("notices")).to_contain_text("Bổ sung phiếu kiểm nghiệm")
    assert page.locator("html").get_attribute("lang") == "vi"
    shot(page, "05-producer-status-page-vi")


def test_the_supervisor_filters_the_audit_trail_and_downloads_it(
        browser: BrowserContext, base_url: str, world: World) -> None:
    """Filter by trigger in English, then download the CSV of exactly those entries: UTF-8
    with a byte-order mark, so that Excel reads the Vietnamese names right."""
    code = in_district_review(world)
    page = browser.new_page()
    sign_in(page, base_url, world, "supervisor")
    page.goto(f"{base_url}/console/audit?lang=en")
    page.select_option('select[name="trigger"]', "start_review")
    page.click("text=Filter")
    rows = page.get_by_test_id("audit").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(code)
    shot(page, "06-supervisor-audit-filtered")
    with page.expect_download() as download:
        page.get_by_test_id("csv").click()
    raw = Path(download.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:40]
    lines = raw.decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and code in lines[1], lines
