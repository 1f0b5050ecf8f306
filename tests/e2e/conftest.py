"""What the browser tests of a single app share: its world of users and a real server on it.
Each test module gives its own ``app`` (settings differ)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api_support import served
from tests.support import World
from workflow.bootstrap import App


@pytest.fixture
def world(app: App) -> World:
    return World(app)


@pytest.fixture
def base_url(app: App) -> Iterator[str]:
    with served(app) as url:
        yield url
