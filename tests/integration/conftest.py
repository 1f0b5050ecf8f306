"""Integration-tier fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.integration.workers import RedisServer


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server on its own port, so a test may stop it without disturbing anyone."""
    require("redis")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()
