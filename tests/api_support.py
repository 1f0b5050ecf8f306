"""Helpers for the HTTP tests: an in-process client, bearer headers, a server in a thread."""

from __future__ import annotations

import socket
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.exceptions import StarletteDeprecationWarning

from tests.support import DOCS, World
from workflow.bootstrap import App
from workflow.clock import local
from workflow.domain.units import REORGANISED_ON
from workflow.web.api.config import ApiConfig
from workflow.web.app import create_app

with warnings.catch_warnings():
    # starlette's TestClient prefers httpx2 and warns once, at import, when it finds httpx
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextmanager
def client(app: App, config: ApiConfig | None = None) -> Iterator[TestClient]:
    """The whole HTTP app, in process, around ``app`` (no redirects followed)."""
    with TestClient(create_app(app, config or ApiConfig()), follow_redirects=False) as c:
        yield c


def in_district_review(world: World, product: str = "Tương bần") -> str:
    """A 148 case of producer1 waiting for the district stage's score: started by the district
    officer before 2025-07-01, by the district's successor (commune1) from then on."""
    code = world.register(rules="148", product=product)
    world.fire(code, "submit", "producer1", DOCS)
    before = local(world.clock.now()).date() < REORGANISED_ON
    world.fire(code, "start_review", "district1" if before else "commune1")
    return code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: App, **uvicorn_options: Any) -> Iterator[str]:
    """A real uvicorn server on a free local port, in a thread; yields its base URL."""
    port = free_port()
    config = uvicorn.Config(create_app(app, ApiConfig()), host="127.0.0.1", port=port,
                            log_level="warning", access_log=False, **uvicorn_options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)

__all__ = ["TestClient", "bearer", "client", "in_district_review", "served"]
