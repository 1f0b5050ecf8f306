"""Every page a person can reach, for a case in every state of every rule version, in headless
Chromium with a Vietnamese browser: no answer is 5xx, every page is ``<html lang="vi">`` and no
visible text is a system code (see ``tests/e2e/pages.py`` for the list and the rule).

One server (uvicorn on an on-disk SQLite database, its clock at 2026-11-30), one browser, one
signed-in browser context per person. Each test lists every problem it finds, page by page;
all of them also go to ``test-artifacts/pages/findings.txt``, beside a screenshot of every kind
of page.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from playwright.sync_api import Page

import states
from tests.api_support import served
from tests.e2e.dataset import NOTICE_KINDS, NOW, Builder, Case, DataSet, notice_kinds
from tests.e2e.pages import ANY_REFUSAL, Findings, write_report
from tests.e2e.visitor import Site, Visitor, browsing
from tests.support import make_app
from workflow.clock import FixedClock

pytestmark = [pytest.mark.browser, pytest.mark.slow]
# The people who sign in: both city-wide roles, the producer who owns every case, and the
# officer of the commune every case is in.
READERS = ("city", "supervisor", "producer1", "commune1")
SLUG = {"city": "city-officer", "supervisor": "supervisor", "producer1": "producer",
        "commune1": "commune-officer"}
EVENTS_FORM = 'form[action$="/events"]'
REPORT: list[str] = []


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('pages') / 'ocop.db'}", FixedClock(NOW))
    data = Builder(app).build()
    with served(app) as url:
        yield Site(app, data, url)
    app.close()


@pytest.fixture(scope="module")
def visitor(site: Site) -> Iterator[Visitor]:
    with browsing(site) as visiting:
        yield visiting
    write_report("findings.txt", REPORT)


@pytest.fixture
def findings(request: pytest.FixtureRequest) -> Iterator[Findings]:
    found = Findings()
    yield found
    REPORT.extend(found.summary(request.node.name))


def kind(case: Case) -> str:
    return "-".join(filter(None, (case.version, case.state.replace("_", "-"), case.how)))


def showcase(case: Case, who: str | None = None) -> bool:
    """Whether to photograph this case's page (screenshots are the slow part of the run):
    the city officer's in every 1489 state and a certified case of each version; everyone
    else's in three 1489 states."""
    if who == "city":
        return case.version == "1489" or case.state == "certified"
    return case.version == "1489" and case.state in ("commune_prescore", "needs_completion",
                                                     "certified")


def test_the_data_set_has_a_case_in_every_state_of_every_rule_version(site: Site) -> None:
    """Every (rule version, state) pair of ``states/`` has a case; every notice kind was
    written; every case that holds or held a certificate has one to verify."""
    built = {(c.version, c.state) for c in site.data.cases}
    wanted = {(v, s) for v, lc in states.LIFECYCLES.items() for s in lc.states}
    assert built == wanted
    assert set(NOTICE_KINDS) <= notice_kinds(site.app)
    for case in site.data.cases:
        holds = case.state in ("certified", "reevaluation", "expired", "revoked")
        assert case.certificate or not holds, case


PLANTED = """<!doctype html><html lang="vi"><head><title>Hồ sơ · draft</title></head><body>
<p>Trạng thái: Bản nháp</p><p style="display:none">hidden_code_is_not_read submit</p>
<select><option>ip_officer</option></select><span title="cert_notice_90">Hạn</span>
<input placeholder="not_reassessed"><svg><text>escalate</text></svg>
<details><summary>Thêm</summary>record_city_score</details>
<script>throw new Error("hỏng")</script></body></html>"""


def test_the_check_reads_every_place_a_person_can_read(visitor: Visitor) -> None:
    """Codes planted in the title, an option, a tooltip, a placeholder, the diagram and a
    folded part are all found; text nobody can see is not; a script error is reported."""
    page = visitor.page(None)
    page.set_content(PLANTED)
    found = Findings()
    visitor.check(page, None, "planted", found, None)
    codes = sorted(p.split("shows code '")[1].split("'")[0] for p in found.problems
                   if "shows code" in p)
    assert codes == ["cert_notice_90", "draft", "escalate", "ip_officer", "not_reassessed",
                     "record_city_score"]
    assert any("script error" in p and "hỏng" in p for p in found.problems), found.report()


def test_the_sign_in_page_and_a_refused_sign_in(visitor: Visitor, findings: Findings) -> None:
    """The sign-in page, reached from /console, and the page after an unknown token."""
    page = visitor.visit(None, "/console", "sign-in", findings, 200, "sign-in")
    page.fill('input[name="name"]', "nobody")
    page.fill('input[name="token"]', "not-a-token")
    with page.expect_navigation() as nav:
        page.click('button[type="submit"]')
    visitor.check(page, nav.value, "sign-in refused", findings, 401, "sign-in-refused")
    assert not findings.problems, findings.report()


@pytest.mark.parametrize("who", READERS)
def test_the_inbox_and_each_of_its_views(visitor: Visitor, findings: Findings,
                                         who: str) -> None:
    """The inbox, every view it links to, each state in its state filter, and overdue."""
    page = visitor.visit(who, "/console/inbox", f"inbox as {who}", findings, 200,
                         f"inbox-{SLUG[who]}")
    views = [v for v in page.eval_on_selector_all(
        'a[href*="/console/inbox?"], a[href^="?"]', "els => els.map(e => e.href)")
        if "lang=" not in v]  # the language switch is not a view (and would set English)
    states_listed = page.eval_on_selector_all(
        'select[name="state"] option', "els => els.map(e => e.value).filter(v => v)")
    paths = dict.fromkeys([v.split(visitor.site.url, 1)[-1] for v in views]
                          + [f"/console/inbox?state={quote(s)}" for s in states_listed]
                          + ["/console/inbox?overdue=true"])
    for n, path in enumerate(paths):
        picture = f"inbox-{SLUG[who]}-view-{n}" if who == "city" and n < 4 else None
        visitor.visit(who, path, f"inbox view as {who}", findings, 200, picture)
    assert not findings.problems, findings.report()


@pytest.mark.parametrize("who", READERS)
def test_each_case_page(visitor: Visitor, findings: Findings, who: str) -> None:
    """The page of every case, with its timeline, diagram, notices and action forms (folded
    parts unfolded); the commune officer may be refused a case out of their scope (403)."""
    for case in visitor.site.data.cases:
        expect = None if who == "commune1" else 200
        picture = (f"case-{kind(case)}-{SLUG[who]}"
                   if showcase(case, who) else None)
        visitor.visit(who, f"/console/cases/{case.code}",
                      f"case {case.code} ({case.version} {case.state}) as {who}", findings,
                      expect, picture)
    assert not findings.problems, findings.report()


def test_the_audit_view_of_the_supervisor(visitor: Visitor, findings: Findings) -> None:
    """The audit trail, its other pages and filters, one case's entries, and a bad date; the
    CSV it links to is served too."""
    who, data = "supervisor", visitor.site.data
    page = visitor.visit(who, "/console/audit", "audit", findings, 200, "audit")
    links = page.eval_on_selector_all('a[href*="/console/audit?"], a[href^="?"]',
                                      "els => els.map(e => e.href)")
    for link in [link for link in links if ".csv" in link][:1]:
        answer = page.request.get(link)
        if answer.status != 200:
            findings.add("audit CSV", link, f"answered {answer.status}")
    paths = [link.split(visitor.site.url, 1)[-1] for link in links
             if ".csv" not in link and "lang=" not in link][:5]
    paths += [f"/console/audit?case={data.cases[0].code}", "/console/audit?trigger=escalate"]
    for n, path in enumerate(dict.fromkeys(paths)):
        visitor.visit(who, path, "audit view", findings, 200, f"audit-view-{n}")
    page = visitor.visit(who, "/console/audit?since=yesterday", "audit with a bad date",
                         findings, ANY_REFUSAL, "audit-bad-date")
    keeps_navigation(page, "audit with a bad date", findings)
    assert not findings.problems, findings.report()


def by_state(data: DataSet, state: str, version: str = "1489") -> str:
    return next(c.code for c in data.cases if c.state == state and c.version == version)


def keeps_navigation(page: Page, label: str, findings: Findings) -> None:
    """An error page of the console still has its header: the way back to the inbox."""
    if not page.locator('header a[href="/console/inbox"]').count():
        findings.add(label, page.url, "the error page has lost the navigation (no inbox link)")


def tampered(visitor: Visitor, code: str, script: str, label: str, findings: Findings,
             picture: str) -> None:
    """Open the case as the city officer, change its first action form with ``script`` (``f``
    is the form) and send it past the browser's own checks."""
    page = visitor.visit("city", f"/console/cases/{code}", label, Findings())
    assert page.locator(EVENTS_FORM).count(), f"no action form on {code} for the city officer"
    with page.expect_navigation() as nav:
        page.eval_on_selector(EVENTS_FORM, f"f => {{ {script}; f.submit(); }}")
    visitor.check(page, nav.value, label, findings, ANY_REFUSAL, picture)
    keeps_navigation(page, label, findings)


def test_error_pages(visitor: Visitor, findings: Findings) -> None:
    """A case that does not exist, another producer's case (the same 404 as a missing one, so
    case codes cannot be probed), and actions the engine refuses: a trigger the case's state
    does not allow, a stale form, a score form sent empty."""
    data = visitor.site.data
    page = visitor.visit("city", "/console/cases/HN-2026-999999", "unknown case", findings,
                         404, "error-unknown-case")
    keeps_navigation(page, "unknown case", findings)
    page = visitor.visit("producer2", f"/console/cases/{data.cases[0].code}",
                         "another producer's case", findings, 404, "error-not-yours-case")
    keeps_navigation(page, "another producer's case", findings)
    certified = by_state(data, "certified")
    tampered(visitor, certified, "f.querySelector('[name=trigger]').value = 'submit'",
             "action in the wrong state", findings, "error-action-wrong-state")
    tampered(visitor, certified, "f.querySelector('[name=csrf]').value = 'stale'",
             "stale form", findings, "error-action-stale-form")
    tampered(visitor, by_state(data, "city_rating"),
             "f.querySelectorAll('input:not([type=hidden])').forEach(i => { i.value = ''; })",
             "score form sent empty", findings, "error-action-invalid-data")
    assert not findings.problems, findings.report()


def test_the_status_page_of_every_case(visitor: Visitor, findings: Findings) -> None:
    """The producer's page (the link with the case's token) for every case; a wrong token
    and an unknown case get a page in Vietnamese, not a bare error."""
    for case in visitor.site.data.cases:
        visitor.visit(None, f"/status/{case.code}?t={case.token}",
                      f"status of {case.code} ({case.version} {case.state})", findings, 200,
                      f"status-{kind(case)}" if case.version == "1489"
                      or showcase(case) else None)
    code = visitor.site.data.cases[0].code
    visitor.visit(None, f"/status/{code}?t=wrong", "status with a wrong token", findings, 404,
                  "status-wrong-token")
    visitor.visit(None, "/status/HN-2026-999999?t=x", "status of no case", findings, 404)
    assert not findings.problems, findings.report()


def test_the_verify_page_of_every_certificate(visitor: Visitor, findings: Findings) -> None:
    """The public check of every certificate (valid, expired, revoked, superseded …) and of
    a number that was never issued."""
    for case in visitor.site.data.cases:
        if case.certificate:
            visitor.visit(None, f"/verify/{case.certificate}",
                          f"verify {case.certificate} ({case.version} {case.state})", findings,
                          200, f"verify-{kind(case)}"
                          if case.version == "1489" else None)
    visitor.visit(None, "/verify/HN-TP-2026-999999-1", "verify an unknown number", findings,
                  404, "verify-unknown")
    assert not findings.problems, findings.report()



def test_the_english_pages_show_no_code_either(visitor: Visitor, findings: Findings) -> None:
    """In English (``?lang=en``) too, a code with an underscore is never shown: the inbox,
    the audit view, and the case and status pages of every 1489 case."""
    data = visitor.site.data
    visitor.visit("city", "/console/inbox", "inbox in English", findings, 200, lang="en")
    visitor.visit("supervisor", "/console/audit", "audit in English", findings, 200,
                  "audit-english", lang="en")
    for case in data.cases:
        if case.version == "1489":
            visitor.visit("city", f"/console/cases/{case.code}", f"case {case.code} in English",
                          findings, 200, "case-1489-certified-city-officer-english"
                          if case.state == "certified" else None, lang="en")
            visitor.visit(None, f"/status/{case.code}?t={case.token}",
                          f"status of {case.code} in English", findings, 200, lang="en")
    assert not findings.problems, findings.report()
