"""Unit-tier fixtures: one world per test module, reset to the start clock for each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import START, World
from tests.unit.lifecycle_support import Driver, shared_world


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
