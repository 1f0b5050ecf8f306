"""`ocop run`'s pieces: the address links point to, the services' command lines, how a dead
service is named, and that stopping a service stops its whole process group."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from workflow.cli.run_cmd import services
from workflow.cli.serve_cmd import announce_address
from workflow.cli.services import Child, stop_all
from workflow.config import Settings, listen_url


@pytest.mark.parametrize(("env", "url"), [
    ({}, "http://127.0.0.1:8000"),
    ({"OCOP_PORT": "8123"}, "http://127.0.0.1:8123"),
    ({"OCOP_HOST": "10.0.0.5", "OCOP_PORT": "9000"}, "http://10.0.0.5:9000"),
    ({"OCOP_HOST": "::1", "OCOP_PORT": "9000"}, "http://[::1]:9000"),
    ({"OCOP_PUBLIC_URL": "https://ocop.example.vn", "OCOP_PORT": "8123"},
     "https://ocop.example.vn"),
])
def test_links_point_where_the_server_listens_unless_a_public_url_is_set(
        env: dict[str, str], url: str) -> None:
    """Without OCOP_PUBLIC_URL, QR codes and status links use OCOP_HOST and OCOP_PORT."""
    assert Settings.from_env(env).public_url == url


def test_a_wildcard_host_is_reached_through_the_machines_name() -> None:
    """`--host 0.0.0.0` listens everywhere; links name the machine, not 0.0.0.0."""
    assert "0.0.0.0" not in listen_url("0.0.0.0", 8000)


def test_serve_and_run_tell_their_children_the_address_but_keep_a_given_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The real --host/--port become OCOP_PUBLIC_URL for the processes started next; an
    OCOP_PUBLIC_URL the operator set is left alone."""
    # Set, then removed: monkeypatch then restores the variable's absence afterwards too (a
    # bare delenv of an absent variable records nothing, and the address would leak).
    monkeypatch.setenv("OCOP_PUBLIC_URL", "")
    monkeypatch.delenv("OCOP_PUBLIC_URL")
    announce_address("127.0.0.1", 8765)
    assert os.environ["OCOP_PUBLIC_URL"] == "http://127.0.0.1:8765"
    monkeypatch.setenv("OCOP_PUBLIC_URL", "https://ocop.example.vn")
    announce_address("127.0.0.1", 8765)
    assert os.environ["OCOP_PUBLIC_URL"] == "https://ocop.example.vn"


def test_every_service_runs_on_this_interpreter_not_on_whatever_path_finds() -> None:
    """API, worker and beat start as `sys.executable -m …`: no PATH lookup at all."""
    commands = services("127.0.0.1", 8123)
    assert set(commands) == {"api", "worker", "beat"}
    assert all(args[:2] == [sys.executable, "-m"] for args in commands.values())
    assert commands["api"][2:] == ["workflow", "serve", "--host", "127.0.0.1", "--port", "8123"]


def test_a_dead_service_is_named_with_its_error_line_not_its_last_words() -> None:
    """The cause is the last line that speaks of an error (uvicorn logs shutdown lines after
    its bind error); a silent death gives its exit status."""
    script = ("import sys; print('ERROR: [Errno 98] address already in use', file=sys.stderr);"
              "print('INFO: Application shutdown complete.', file=sys.stderr); sys.exit(3)")
    child = Child("api", [sys.executable, "-c", script])
    child.start()
    assert child.proc is not None and child.proc.wait(10) == 3
    assert child.cause() == "ERROR: [Errno 98] address already in use"
    silent = Child("beat", [sys.executable, "-c", "raise SystemExit(4)"])
    silent.start()
    assert silent.cause() == "exit status 4"


def test_stopping_a_service_stops_its_children_even_those_that_ignore_sigterm(
        tmp_path: Path) -> None:
    """Like a Celery worker's pool: a child process that ignores SIGTERM is killed with its
    group within the grace period, and nothing of the group is left."""
    pid_file = tmp_path / "grandchild.pid"
    script = ("import signal, subprocess, sys, time;"
              "p = subprocess.Popen([sys.executable, '-c', 'import signal, time;"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(600)']);"
              f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(600)")
    child = Child("worker", [sys.executable, "-c", script])
    child.start()
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    grandchild = psutil.Process(int(pid_file.read_text()))
    started = time.monotonic()
    stop_all([child], grace=1.0)
    assert time.monotonic() - started < 5
    assert not child.alive() and gone(grandchild)


def gone(process: psutil.Process) -> bool:
    try:
        return process.status() == psutil.STATUS_ZOMBIE  # dead, its parent not yet told
    except psutil.NoSuchProcess:
        return True
