"""The demo (``ocop demo``) as a new office meets it on its first day: every demo case's console
page as the city office, the supervisor and the case's commune officer, the inboxes, and every
producer's status page, in a Vietnamese browser, with the checks of ``test_every_page.py``
(no 5xx, ``<html lang="vi">``, no system code and no English sentence in visible text).
Problems also go to ``test-artifacts/pages/demo-findings.txt``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from tests.api_support import served
from tests.e2e.dataset import NOW, Case, DataSet
from tests.e2e.pages import Findings, write_report
from tests.e2e.visitor import Site, Visitor, browsing
from tests.support import make_app
from workflow import demo
from workflow.bootstrap import App
from workflow.clock import FixedClock
from workflow.store.schema import cases
from workflow.store.schema import certificates as certs

pytestmark = [pytest.mark.browser, pytest.mark.slow]
REPORT: list[str] = []


def demo_cases(app: App) -> list[Case]:
    with app.db.connect() as conn:
        rows = conn.execute(select(cases.c.id, cases.c.code, cases.c.state,
                                   cases.c.rule_version, cases.c.status_token, cases.c.commune_code)
                            .order_by(cases.c.id)).all()
        found = []
        for row in rows:
            number = conn.execute(select(certs.c.number).where(certs.c.case_id == row.id)
                                  .order_by(certs.c.id.desc())).scalars().first()
            found.append(Case(row.rule_version, row.state, row.commune_code or "", row.code,
                              row.status_token, number))
        return found


@pytest.fixture(scope="module")
def visitor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Visitor]:
    app = make_app(f"sqlite:///{tmp_path_factory.mktemp('demo') / 'ocop.db'}", FixedClock(NOW))
    tokens = demo.load(app)
    data = DataSet(tokens, {name: name for name in tokens}, demo_cases(app))
    with served(app) as url, browsing(Site(app, data, url)) as visiting:
        yield visiting
    app.close()
    write_report("demo-findings.txt", REPORT)


@pytest.fixture
def findings(request: pytest.FixtureRequest) -> Iterator[Findings]:
    found = Findings()
    yield found
    REPORT.extend(found.summary(request.node.name))


def staff(role: str) -> str:
    """The demo user who holds ``role``."""
    return next(user for user, held, *_ in demo.STAFF + demo.CITY_STAFF if held == role)


@pytest.mark.parametrize("role", ["city_officer", "supervisor"])
def test_every_demo_case_page_for_the_city_wide_roles(visitor: Visitor, findings: Findings,
                                                      role: str) -> None:
    """The inbox and each demo case's page, as the city office and as the supervisor."""
    who = staff(role)
    visitor.visit(who, "/console/inbox", f"demo inbox as {who}", findings, 200,
                  f"demo-inbox-{role.replace('_', '-')}")
    for case in visitor.site.data.cases:
        visitor.visit(who, f"/console/cases/{case.code}",
                      f"demo case {case.code} ({case.version} {case.state}) as {who}", findings)
    assert not findings.problems, findings.report()


def test_every_demo_case_page_for_its_commune_officer(visitor: Visitor,
                                                      findings: Findings) -> None:
    """Each commune officer's inbox and the pages of the cases of their commune (by its key:
    ``Case.how`` holds the case's commune key here)."""
    seen = 0
    for user, role, _, commune in demo.STAFF:
        if role != "commune_officer":
            continue
        visitor.visit(user, "/console/inbox", f"demo inbox as {user}", findings)
        for case in [c for c in visitor.site.data.cases if c.how == commune]:
            seen += 1
            visitor.visit(user, f"/console/cases/{case.code}",
                          f"demo case {case.code} ({case.version} {case.state}) as {user}",
                          findings)
    assert seen >= 8, "the commune officers' own cases should be visited"
    assert not findings.problems, findings.report()


def test_every_demo_status_and_verify_page(visitor: Visitor, findings: Findings) -> None:
    """Each demo producer's status page (their link) and each demo certificate's check."""
    for case in visitor.site.data.cases:
        visitor.visit(None, f"/status/{case.code}?t={case.token}",
                      f"demo status of {case.code} ({case.version} {case.state})", findings)
        if case.certificate:
            visitor.visit(None, f"/verify/{case.certificate}",
                          f"demo verify {case.certificate}", findings)
    assert not findings.problems, findings.report()
