"""Issue 11 in headless Chromium: a producer from the office's invitation link to a submitted
application with its dossier uploaded; completion requested, a document replaced, resubmitted;
a city officer makes a council of three, records its round and, later, the People's Committee
decision; the producer downloads the signed certificate. Real uvicorn server, on-disk SQLite,
the real defaults (a council required, the rule version's required documents). Screenshots go
to ``test-artifacts/11-*.png``."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
    sync_playwright,
)
from pypdf import PdfReader

import states
from tests.e2e.chromium import FLAGS, require_chromium
from tests.support import World, make_app
from workflow import invitations
from workflow.bootstrap import App
from workflow.clock import FixedClock, local
from workflow.store.db import write_transaction

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

PRODUCT = "Miến dong Cự Đà"
ACCOUNT = "htx.tuongcuda"
PASSWORD = "mật khẩu đủ dài 2025"
REASON = "Bổ sung tiêu chuẩn sản phẩm có chữ ký của giám đốc"
MEMBERS = ("Bà Nguyễn Thị Lan", "Ông Trần Văn Hùng", "Bà Lê Thị Mai")
# Each member's parts A, B, C (maxima 40, 25, 35): totals 80, 79, 81 — a city 4★ (70 to < 90).
SHEETS = (("32", "20", "28"), ("31", "20", "28"), ("33", "20", "28"))
TRADEMARK = {"certificate_no": "4-0123456", "holder": "HTX Tương Cự Đà",
             "registered_on": "2021-05-17"}
CRITERIA = {"origin": True, "local_labour": True, "idea": True, "cultural_identity": True}
DECISION = {"number": "1234/QĐ-UBND", "body": "UBND thành phố Hà Nội"}
VIEWPORT: ViewportSize = {"width": 1366, "height": 860}


@pytest.fixture
def app(tmp_path: Path, clock: FixedClock) -> Iterator[App]:
    app = make_app(f"sqlite:///{tmp_path / 'ocop.db'}", clock, council_required=True,
                   required_documents=None)
    yield app
    app.close()


@dataclass
class Browsers:
    """The producer's browser (a profile of their own) and the office's (one context per
    officer): each person's cookies, so everyone stays signed in side by side."""

    producer: BrowserContext
    office: Browser

    def officer(self) -> Page:
        return self.office.new_context(viewport=VIEWPORT).new_page()


@pytest.fixture
def browsers(tmp_path: Path) -> Iterator[Browsers]:
    chromium = require_chromium()
    # The producer's Chromium saves PDFs rather than showing them in its viewer (the
    # "Download PDFs" setting): the certificate link then ends in a file on disk.
    profile = tmp_path / "producer-profile"
    (profile / "Default").mkdir(parents=True)
    (profile / "Default" / "Preferences").write_text(json.dumps(
        {"plugins": {"always_open_pdf_externally": True},
         "download": {"prompt_for_download": False}}))
    with sync_playwright() as p:
        office = p.chromium.launch(executable_path=chromium, headless=True, args=FLAGS)
        producer = p.chromium.launch_persistent_context(
            str(profile), executable_path=chromium, headless=True, args=FLAGS,
            viewport=VIEWPORT, accept_downloads=True)
        yield Browsers(producer, office)
        producer.close()
        office.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"11-{name}.png"), full_page=True)
    # After a full-page capture headless Chromium may place the next click by a stale scroll
    # offset (it landed on <main>, not the button); starting again from the top avoids it.
    page.evaluate("() => window.scrollTo(0, 0)")


def pdf(label: str) -> bytes:
    """A small PDF whose bytes differ per ``label`` (so each upload is its own file)."""
    return (b"%PDF-1.4\n% " + label.encode() + b"\n1 0 obj\n<< /Type /Catalog >>\nendobj\n"
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")


def sign_in(page: Page, base_url: str, world: World, who: str) -> None:
    page.goto(f"{base_url}/console")
    page.fill("#name", who)
    page.fill("#token", world.tokens[who])
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/console/inbox$"))


def state_of(page: Page, state: str) -> None:
    expect(page.get_by_test_id("state")).to_have_attribute("data-state", state)


def upload(page: Page, kind: str, label: str) -> None:
    """Upload a PDF as ``kind`` through the documents panel's form; back on the case page."""
    form = page.get_by_test_id("upload-form")
    form.get_by_test_id("upload-kind").select_option(kind)
    form.get_by_test_id("upload-file").set_input_files(
        {"name": f"{kind}.pdf", "mimeType": "application/pdf", "buffer": pdf(label)})
    form.get_by_test_id("upload-submit").click()
    expect(page.get_by_test_id("documents").get_by_test_id("done")).to_be_visible()


def apply(page: Page, trigger: str) -> None:
    page.locator(f'form[data-trigger="{trigger}"] button[type=submit]').click()


def invitation_path(world: World) -> str:
    """The office (the commune officer of p1's commune) invites p1's new account; the link's
    path (the link names the configured public address, not the test server's)."""
    with write_transaction(world.app.db) as conn:
        made = invitations.invite(conn, world.clock.now(), world.actors["commune1"], world.p1,
                                  ACCOUNT, public_url=world.app.settings.public_url)
    assert made.link.startswith(world.app.settings.public_url)
    return made.link.removeprefix(world.app.settings.public_url)


def test_a_producer_applies_online_and_downloads_the_certificate_a_council_gave(
        browsers: Browsers, base_url: str, world: World) -> None:
    required = states.lifecycle("1489").required_documents
    today = local(world.clock.now()).date().isoformat()

    # 1. The invitation: the producer sets a password and lands on their applications.
    producer = browsers.producer.new_page()
    producer.goto(base_url + invitation_path(world))
    expect(producer.get_by_test_id("invitation-for")).to_contain_text(ACCOUNT)
    producer.fill("#password", PASSWORD)
    producer.fill("#repeat", PASSWORD)
    shot(producer, "01-invitation-password")
    producer.get_by_test_id("set-password").click()
    expect(producer, "setting the password signs the producer in and opens their "
           "applications").to_have_url(re.compile(r"/console/applications$"))
    expect(producer.get_by_test_id("no-applications")).to_be_visible()
    shot(producer, "02-applications-empty")

    # 2. A new application, its dossier uploaded, submitted.
    producer.get_by_test_id("new-application").click()
    producer.fill("#product", PRODUCT)
    producer.select_option("#group", "food")
    producer.get_by_test_id("create-application").click()
    expect(producer).to_have_url(re.compile(r"/console/cases/[^/?]+$"))
    code = producer.url.rsplit("/", 1)[1]
    state_of(producer, "draft")
    for kind in required:
        upload(producer, kind, f"{kind} v1")
    dossier = producer.get_by_test_id("documents")
    for kind in required:
        expect(dossier.locator(f'tr[data-kind="{kind}"]')).to_have_attribute("data-version", "1")
    shot(producer, "03-dossier-uploaded")
    apply(producer, "submit")
    state_of(producer, "registered")
    shot(producer, "04-submitted")

    # 3. The commune officer starts the review and asks for completion, with a reason.
    officer = browsers.officer()
    sign_in(officer, base_url, world, "commune1")
    officer.goto(f"{base_url}/console/cases/{code}")
    apply(officer, "start_review")
    state_of(officer, "commune_prescore")
    asking = officer.locator('form[data-trigger="request_completion"]')
    asking.locator('input[name="reason"]').fill(REASON)
    asking.locator('input[name="days"]').fill("20")
    shot(officer, "05-officer-requests-completion")
    apply(officer, "request_completion")
    state_of(officer, "needs_completion")

    producer.goto(f"{base_url}/console/cases/{code}")
    banner = producer.get_by_test_id("completion-request")
    expect(banner.get_by_test_id("completion-reason")).to_have_text(REASON)
    expect(banner.get_by_test_id("completion-due")).to_contain_text("21/09/2025")
    shot(producer, "06-producer-sees-completion-request")
    upload(producer, "product_standard", "product_standard v2, signed")
    replaced = producer.get_by_test_id("documents").locator('tr[data-kind="product_standard"]')
    expect(replaced).to_have_attribute("data-version", "2")
    expect(replaced.locator("li[data-version='1']")).to_have_count(1)
    apply(producer, "resubmit")
    state_of(producer, "commune_prescore")
    shot(producer, "07-resubmitted")

    # 4. Pre-score and trademark (the middle steps, by the service); then the city officer
    # makes a council of three and records its round, without the decision first.
    world.fire(code, "record_commune_prescore", "commune1", {"criteria": CRITERIA})
    world.fire(code, "verify_ip", "ip", TRADEMARK)
    city = browsers.officer()
    sign_in(city, base_url, world, "city")
    city.goto(f"{base_url}/console/councils")
    making = city.get_by_test_id("council-form")
    making.locator('select[name="level"]').select_option("city")
    making.locator('input[name="unit"]').fill("Hà Nội")
    making.locator('input[name="year"]').fill(today[:4])
    making.locator('textarea[name="members"]').fill("\n".join(MEMBERS))
    making.locator("button[data-action=make-council]").click()
    expect(city).to_have_url(re.compile(r"/console/councils/\d+\?done=1$"))
    council = re.search(r"/councils/(\d+)", city.url).group(1)  # type: ignore[union-attr]
    shot(city, "08-council-made")

    city.goto(f"{base_url}/console/cases/{code}")
    state_of(city, "city_rating")
    scoring = city.locator('form[data-trigger="record_city_score"]')
    scoring.locator('select[name="council"]').select_option(council)
    expect(scoring.locator('input[name="scored_on"]')).to_have_value(today)
    for i, (member, parts) in enumerate(zip(MEMBERS, SHEETS, strict=True), 1):
        scoring.locator(f'input[name="member_{i}"]').fill(member)
        for part, value in zip("abc", parts, strict=True):
            scoring.locator(f'input[name="{part}_{i}"]').fill(value)
    shot(city, "09-council-round-filled")
    apply(city, "record_city_score")
    state_of(city, "certified")
    expect(city.get_by_test_id("stars")).to_contain_text("★★★★")
    expect(city.get_by_test_id("certificate-status")).to_have_attribute("data-status",
                                                                         "pending")
    shot(city, "10-certificate-pending")

    deciding = city.locator('form[data-trigger="record_decision"]')
    deciding.locator('input[name="decision_number"]').fill(DECISION["number"])
    deciding.locator('input[name="decision_date"]').fill(today)
    deciding.locator('input[name="decision_body"]').fill(DECISION["body"])
    apply(city, "record_decision")
    expect(city.get_by_test_id("error")).to_have_count(0)
    expect(city.get_by_test_id("certificate-status")).to_have_attribute("data-status", "valid")
    expect(city.get_by_test_id("decision")).to_contain_text(DECISION["number"])
    expect(city.get_by_test_id("decision")).to_contain_text(DECISION["body"])
    shot(city, "11-decision-recorded")

    # 5. The producer downloads the certificate: a PDF naming the product.
    producer.goto(f"{base_url}/console/applications")
    row = producer.get_by_test_id("applications").locator(f'tr[data-code="{code}"]')
    expect(row).to_have_attribute("data-state", "certified")
    expect(row.get_by_test_id("certificate-download")).to_be_visible()
    producer.goto(f"{base_url}/console/cases/{code}")
    shot(producer, "12-producer-certificate-link")
    with producer.expect_download() as download:
        producer.get_by_test_id("certificate-download").click()
    body = Path(download.value.path()).read_bytes()
    assert body.startswith(b"%PDF-"), body[:40]
    words = unicodedata.normalize("NFC", "\n".join(
        page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages))
    assert PRODUCT in words, words
