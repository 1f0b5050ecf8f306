"""Unit-tier fixtures: one world per test module, reset to the start clock for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_support import TestClient, client
from tests.support import START, World
from tests.unit.console_support import mixed
from tests.unit.lifecycle_support import ERA, Driver, EraWorld, era_world, shared_world


@pytest.fixture(scope="module")
def shared() -> Iterator[World]:
    with shared_world() as world:
        yield world


@pytest.fixture
def drive(shared: World) -> Iterator[Driver]:
    """Each test registers its own cases in the module's world, at the start clock."""
    shared.clock.set(START)
    yield Driver(shared)
    shared.clock.set(START)


@pytest.fixture(scope="module")
def era_shared() -> Iterator[EraWorld]:
    with era_world() as world:
        yield world


@pytest.fixture
def era_drive(era_shared: EraWorld) -> Iterator[Driver]:
    """:func:`drive` in January 2025: producers in the old units, the districts acting."""
    era_shared.clock.set(ERA)
    yield Driver(era_shared)
    era_shared.clock.set(ERA)


@pytest.fixture(scope="module")
def data(shared: World) -> dict[str, tuple[str, str]]:
    """Cases in every state of every rule version, built once for the module (console tests)."""
    return mixed(shared)


@pytest.fixture
def api(shared: World) -> Iterator[TestClient]:
    """The ASGI client on the module's world, at the start clock."""
    shared.clock.set(START)
    with client(shared.app) as c:
        yield c
    shared.clock.set(START)
