"""Checkpoints leave the machine: each is written to the folder (never rewritten, linked to
the one before) and POSTed to ``OCOP_CHECKPOINT_URL``, here a real HTTP receiver; a receiver
that is down is reported and the file is written all the same."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from tests.support import World, make_app
from workflow import record
from workflow.bootstrap import App
from workflow.store import checkpoint


class Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        Receiver.bodies.append(self.rfile.read(length))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.bodies = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/checkpoints"
    server.shutdown()
    server.server_close()


@pytest.fixture
def app(pg_url: str, tmp_path: Path, receiver: str) -> Iterator[App]:
    made = make_app(pg_url, checkpoint_dir=str(tmp_path / "cp"), checkpoint_url=receiver)
    World(made).register()
    yield made
    made.close()


def test_each_checkpoint_is_filed_linked_and_posted(app: App) -> None:
    first = record.take_checkpoint(app)
    second = record.take_checkpoint(app)
    assert (first["number"], second["number"]) == (1, 2)
    assert first["posted"] == second["posted"] == app.settings.checkpoint_url
    files = checkpoint.listing(Path(app.settings.checkpoint_dir))
    assert [p.name[:8] for p in files] == ["00000001", "00000002"]
    assert Receiver.bodies == [p.read_bytes() for p in files]
    doc = json.loads(files[1].read_text())
    assert doc["prev"] == checkpoint.file_hash(files[0]) and doc["case_count"] == 1
    assert doc["key"] == app.keys.fingerprint
    cp, before = checkpoint.latest(Path(app.settings.checkpoint_dir))
    assert cp is not None and checkpoint.file_problem(cp, before, app.keys) is None
    assert not files[0].stat().st_mode & 0o222  # written once, read-only


def test_a_receiver_that_is_down_is_reported_and_the_file_still_written(
        pg_url: str, tmp_path: Path) -> None:
    down = make_app(pg_url, checkpoint_dir=str(tmp_path / "cp"),
                    checkpoint_url="http://127.0.0.1:9/nothing-listens")
    try:
        result = record.take_checkpoint(down)
    finally:
        down.close()
    assert "posted" not in result and result["post_failed"]["url"].endswith(":9/nothing-listens")
    assert Path(result["path"]).is_file()
