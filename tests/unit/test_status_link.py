"""Every notice a producer receives links their own status page, on every channel; the status
page shows every kind of producer notice in words and never the office's escalations."""

from __future__ import annotations

import email
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, update

import states
from tests.api_support import TestClient, client
from tests.support import DOCS, START, World, make_app, sim_sheets
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.domain.outbox import PRODUCER_KINDS
from workflow.i18n import codes, label
from workflow.messaging.channels import Channel
from workflow.messaging.channels.inapp import InAppChannel
from workflow.messaging.channels.mailfile import MailFolderChannel
from workflow.messaging.channels.webhook import SIGNATURE_HEADER, WebhookChannel, verify
from workflow.messaging.delivery import Delivery
from workflow.store.schema import cases, outbox, producers
from workflow.sweep import Sweeper

PUBLIC = "https://ocop.hanoi.example.vn"
CRITERIA = {"criteria": {"origin": True, "local_labour": True, "idea": True,
                         "cultural_identity": True}}
TRADEMARK = {"certificate_no": "VN-4-0123456", "holder": "HTX Tương Cự Đà",
             "registered_on": "2021-05-17"}
OFFICE_KINDS = ("escalation", "reminder")
# The producer kinds this scenario sends; a transfer's notice (2025 reorganisation) is covered
# by tests/unit/test_remap.py.
SCENARIO_KINDS = tuple(k for k in PRODUCER_KINDS if k != "transferred")


@dataclass
class Scenario:
    world: World
    completing: str  # asked to complete the dossier, reminded, then withdrawn
    certified: str  # a 4★ certificate, noticed 90 days before expiry
    central: str  # potential 5★, the city officer reminded after 120 days
    late: str  # never reviewed: escalated to the supervisor


def certify(world: World, sheets: tuple[float, float, float]) -> str:
    code = world.register()
    world.fire(code, "submit", "producer1", DOCS)
    world.fire(code, "start_review", "commune1")
    world.fire(code, "record_commune_prescore", "commune1", CRITERIA)
    world.fire(code, "verify_ip", "ip", TRADEMARK)
    world.fire(code, "record_city_score", "city", sim_sheets(sheets))
    return code


@pytest.fixture
def app() -> Iterator[App]:
    """Links point at the configured public address, not at a default."""
    app = make_app("sqlite://", FixedClock(START), public_url=PUBLIC + "/")
    yield app
    app.close()


@pytest.fixture
def scenario(app: App) -> Scenario:
    """Notices of every kind, producer's and office's: transitions, then sweeps months apart.
    producer1 hears in-app, by e-mail and by webhook."""
    world = World(app)
    with app.db.begin() as conn:
        conn.execute(update(producers).where(producers.c.id == world.p1)
                     .values(webhook_url="https://hooks.example.vn/ocop", webhook_secret="s3"))
    completing = world.register()
    world.fire(completing, "submit", "producer1", DOCS)
    world.fire(completing, "start_review", "commune1")
    world.fire(completing, "request_completion", "commune1", {"days": 30},
               reason="Thiếu phiếu kiểm nghiệm")
    certified, central = certify(world, (35, 22, 28)), certify(world, (38, 24, 33))
    late = world.register()
    world.fire(late, "submit", "producer1", DOCS)
    sweeper = Sweeper(app.engine, app.relay)
    for moment in (START + timedelta(days=23), START + timedelta(days=121),
                   START.replace(year=2028, month=6, day=3)):
        world.clock.set(moment)
        sweeper.run()
    return Scenario(world, completing, certified, central, late)


def link_of(app: App, code: str) -> str:
    with app.db.connect() as conn:
        token = conn.execute(select(cases.c.status_token).where(cases.c.code == code)
                             ).scalar_one()
    return f"{PUBLIC}/status/{code}?t={token}"


def deliver_all(app: App, tmp: Path) -> list[httpx.Request]:
    """Deliver every pending message through the real channels (e-mail into a folder, the
    webhook to a recording server); returns the webhook requests."""
    hooks: list[httpx.Request] = []
    webhook = WebhookChannel(httpx.Client(transport=httpx.MockTransport(
        lambda r: hooks.append(r) or httpx.Response(204))))
    channels: dict[str, Channel] = {"inapp": InAppChannel(), "webhook": webhook,
                                    "email": MailFolderChannel(tmp, "OCOP <no-reply@ocop.vn>")}
    with app.db.connect() as conn:
        ids = list(conn.execute(select(outbox.c.message_id)).scalars())
    results = Delivery(app.db, app.clock, app.settings, lambda: channels).deliver(ids, None)
    assert set(results.values()) == {"sent"}
    return hooks


def test_every_producer_notice_carries_the_status_link_on_every_channel(
        scenario: Scenario, tmp_path: Path) -> None:
    """Status, completion reminder and certificate notice: the outbox row (in-app) holds
    ``status_url``, the e-mail body and the signed webhook payload give it, for the case's own
    page at the configured OCOP_PUBLIC_URL; office notices do not go to the producer."""
    app = scenario.world.app
    with app.db.connect() as conn:
        rows = conn.execute(select(outbox, cases.c.code)
                            .join(cases, cases.c.id == outbox.c.case_id)).all()
    producer_rows = [r for r in rows if r.kind in PRODUCER_KINDS]
    assert not [r for r in producer_rows if (r.recipient or "").startswith("role:")]
    seen = {(r.kind, r.channel) for r in producer_rows}
    assert seen == {(k, c) for k in SCENARIO_KINDS for c in ("inapp", "email", "webhook")}
    for r in producer_rows:
        assert r.payload["status_url"] == link_of(app, r.code), (r.kind, r.channel)
    office = [r for r in rows if r.kind in OFFICE_KINDS]
    assert office and all(r.recipient and r.recipient.startswith("role:") for r in office)
    hooks = deliver_all(app, tmp_path)
    mails = [email.message_from_bytes(p.read_bytes()) for p in tmp_path.glob("*.eml")]
    assert len(mails) == sum(r.channel == "email" for r in producer_rows)
    for mail in mails:
        body = mail.get_payload(decode=True).decode()
        assert link_of(app, mail["X-OCOP-Case"]) in body
    assert len(hooks) == sum(r.channel == "webhook" for r in producer_rows)
    for request in hooks:
        document = json.loads(request.content)
        assert verify("s3", request.content, request.headers[SIGNATURE_HEADER])
        assert document["status_url"] == link_of(app, document["case_code"])
        assert document["data"]["status_url"] in document["text"]


@pytest.fixture
def api(scenario: Scenario) -> Iterator[TestClient]:
    with client(scenario.world.app) as c:
        yield c


def visible(page: str) -> str:
    """The page's text as a reader sees it (no tags, no scripts)."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def codes_seen(text: str, lang: str) -> set[str]:
    """System codes (states, triggers, deadline and notice kinds) shown as words. In English a
    one-word code (``registered``) is also a plain word, so there only compound ones count."""
    found = {*states.ALL_STATES, *codes("trigger"), *codes("deadline"), *codes("notice")}
    if lang == "en":
        found = {c for c in found if "_" in c}
    return {w.strip(".,:;()—·→\"") for w in text.split()} & found


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_status_page_shows_every_producer_notice_kind_in_words(
        api: TestClient, scenario: Scenario, lang: str) -> None:
    """Every case's page answers 200 in either language; the notices of every producer kind
    appear under their catalogue names, and no system code is shown."""
    shown: set[str] = set()
    app = scenario.world.app
    for code in (scenario.completing, scenario.certified, scenario.central, scenario.late):
        page = api.get(link_of(app, code).removeprefix(PUBLIC) + f"&lang={lang}")
        assert page.status_code == 200, (code, page.text[:300])
        text = visible(page.text)
        assert not codes_seen(text, lang), code
        listed = visible(page.text.split('data-testid="notices"', 1)[1].split("</ul>")[0])
        shown |= {k for k in PRODUCER_KINDS if label("notice", k, lang) in listed}
    assert shown == set(SCENARIO_KINDS)


def test_the_status_page_hides_the_offices_escalations_and_reminders(
        api: TestClient, scenario: Scenario) -> None:
    """A case escalated to the supervisor, and one whose central review reminded the city
    officer: their pages answer 200 and show neither notice, nor the escalation entries."""
    app = scenario.world.app
    for code in (scenario.late, scenario.central):
        text = visible(api.get(link_of(app, code).removeprefix(PUBLIC)).text)
        for words in (label("notice", "escalation"), label("notice", "reminder"),
                      label("trigger", "escalate")):
            assert words not in text, (code, words)
    with app.db.connect() as conn:
        kinds = set(conn.execute(select(outbox.c.kind)).scalars())
    assert set(OFFICE_KINDS) <= kinds


def test_the_case_json_carries_the_status_link_for_those_who_may_see_the_case(
        api: TestClient, scenario: Scenario) -> None:
    """GET /api/v1/cases/{code}: the producer and the officers in scope get ``status_url``;
    a producer of another case gets the 404 of a missing case, no link."""
    world = scenario.world
    code = scenario.certified
    for who in ("producer1", "commune1", "city"):
        got = api.get(f"/api/v1/cases/{code}",
                      headers={"Authorization": f"Bearer {world.tokens[who]}"})
        assert got.json()["status_url"] == link_of(world.app, code), who
    other = api.get(f"/api/v1/cases/{code}",
                    headers={"Authorization": f"Bearer {world.tokens['producer2']}"})
    assert other.status_code == 404 and "status_url" not in other.text
