"""Shared fixtures: a fake clock, a migrated app on SQLite (in memory or on disk) or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import START, World, make_app, pg_database
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
    with pg_database() as url:
        yield url


@pytest.fixture
def pg_app(pg_url: str, clock: FixedClock) -> Iterator[App]:
    app = make_app(pg_url, clock)
    yield app
    app.close()
