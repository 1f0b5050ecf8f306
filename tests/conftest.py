"""Shared fixtures: a fake clock, a migrated app on SQLite (in memory or on disk) or PostgreSQL;
and what a test needs from the machine (PostgreSQL, redis-server, Chromium): missing, the test
is skipped with the reason on a workstation, and FAILS in CI (``CI=true``), where nothing may
skip silently — any other skip fails there too."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Generator, Iterator
from functools import cache
from pathlib import Path
from typing import NoReturn

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import SQLAlchemyError

from tests.support import PG_ADMIN_URL, START, World, make_app, pg_database
from workflow.bootstrap import App
from workflow.clock import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def mem_app(clock: FixedClock) -> Iterator[App]:
    """The engine on an in-memory SQLite database: no disk, no network."""
    app = make_app("sqlite://", clock)
    yield app
    app.close()


@pytest.fixture
def world(mem_app: App) -> World:
    return World(mem_app)


@pytest.fixture
def pg_url() -> Iterator[str]:
    require("postgres")
    with pg_database() as url:
        yield url


@pytest.fixture
def pg_app(pg_url: str, clock: FixedClock) -> Iterator[App]:
    app = make_app(pg_url, clock)
    yield app
    app.close()


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


@cache
def _postgres_answers() -> bool:
    engine = create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except (OSError, SQLAlchemyError):
        return False
    finally:
        engine.dispose()


NEEDS: dict[str, tuple[Callable[[], bool], str]] = {
    "postgres": (_postgres_answers, f"PostgreSQL does not answer at {PG_ADMIN_URL} "
                                    "(OCOP_TEST_PG_URL)"),
    "redis": (lambda: shutil.which("redis-server") is not None,
              "redis-server is not installed (apt-get install redis-server)"),
    "browser": (lambda: Path("/usr/bin/chromium").exists(),
                "Chromium is not installed at /usr/bin/chromium (apt-get install chromium)"),
}


def require(need: str) -> None:
    """Skip (workstation) or fail (CI) unless the machine has what ``need`` names."""
    available, missing = NEEDS[need]
    if not available():
        unavailable(missing)


def unavailable(reason: str) -> NoReturn:
    if in_ci():
        pytest.fail(f"{reason}; CI=true, so this test must run", pytrace=False)
    pytest.skip(reason)


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``postgres``, ``redis`` or ``browser`` needs that server or browser."""
    for need in NEEDS:
        if item.get_closest_marker(need) is not None:
            require(need)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, None]:
    """In CI a skip is a failure, whoever asked for it (an expected failure stays expected)."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if in_ci() and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped in CI (CI=true), which must not happen: {reason}"
