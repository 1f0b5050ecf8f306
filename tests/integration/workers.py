"""Real parts for the worker tests: a private Redis, an SMTP server, a webhook receiver, and
``celery -A worker`` processes started, killed and restarted like a supervisor would."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from workflow.messaging.channels.webhook import EVENT_HEADER, SIGNATURE_HEADER, verify

ROOT = Path(__file__).resolve().parents[2]
CELERY = [sys.executable, "-m", "celery", "-A", "worker"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], bool], timeout: float, what: str,
               every: float = 0.1) -> None:
    """Poll ``check`` (a subprocess delivering, a server starting) until true or time is up."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop(proc: subprocess.Popen[bytes], grace: float = 15) -> None:
    """SIGTERM, then SIGKILL if the process lingers past ``grace`` seconds; reaped either way."""
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(15)


class RedisServer:
    """A private ``redis-server`` on its own port: stopping it disturbs nobody else."""

    def __init__(self, tmp: Path) -> None:
        self.port, self.tmp = free_port(), tmp
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.tmp)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._up, 10, "redis-server")

    def _up(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class _Sink:
    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = message_from_bytes(envelope.content)
        with self.lock:
            self.seen[str(mail["X-OCOP-Event-Id"])] += 1
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[str, Counter[str]]]:
    """A real SMTP server (aiosmtpd); yields its URL and the event ids it received."""
    sink = _Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield f"smtp://127.0.0.1:{controller.port}", sink.seen
    finally:
        controller.stop()


class Receiver:
    """A producer's webhook endpoint: checks signatures, dedups by event id, counts repeats."""

    def __init__(self, secrets: dict[str, str] | None = None, delay: float = 0.0) -> None:
        self.secrets = secrets or {}
        self.delay = delay
        self.deliveries: Counter[str] = Counter()  # every POST, repeats included
        self.bad_signatures = 0
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "hook") -> str:
        return f"http://127.0.0.1:{self.server.server_port}/{path}"

    @property
    def unique(self) -> set[str]:
        """What the receiver acts on: each event id once."""
        with self.lock:
            return set(self.deliveries)

    @property
    def redeliveries(self) -> int:
        with self.lock:
            return sum(self.deliveries.values()) - len(self.deliveries)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                secret = receiver.secrets.get(self.path.strip("/"), "")
                event = self.headers[EVENT_HEADER]
                if receiver.delay:
                    time.sleep(receiver.delay)
                with receiver.lock:
                    if not verify(secret, body, self.headers[SIGNATURE_HEADER] or ""):
                        receiver.bad_signatures += 1
                    elif json.loads(body)["event_id"] == event:
                        receiver.deliveries[event] += 1
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        return Handler

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class Proc:
    """A worker or beat process in its own session, so SIGKILL takes its pool children too."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], logs: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def start(self, ready: str | None = "ready.", timeout: float = 30) -> Proc:
        out = self.log.open("ab")
        self.proc = subprocess.Popen(self.args, env=self.env, cwd=ROOT, stdout=out,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        if ready:
            wait_until(lambda: ready in self.output() or self._dead(), timeout,
                       f"{self.name} to start")
            assert not self._dead(), f"{self.name} exited:\n{self.output()[-3000:]}"
        return self

    def keep_alive(self) -> None:
        """What a supervisor (compose's restart policy, ``ocop run``) does: restart it if it
        exited. kombu's Redis transport can crash a worker that loses Redis with tasks in
        flight ("Unrecoverable error: AttributeError ... 'hostname'")."""
        if self._dead():
            self.restarts += 1
            self.start()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def _dead(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def kill(self) -> None:
        """SIGKILL the whole process group: no warm shutdown, nothing acknowledged or restored."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # warm shutdown: running tasks finish
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # no orphaned pool process survives
        self.proc = None


def supervised(check: Callable[[], bool], *procs: Proc) -> Callable[[], bool]:
    """``check``, restarting any of ``procs`` that exited while we wait."""

    def probe() -> bool:
        for p in procs:
            p.keep_alive()
        return check()

    return probe


def worker(name: str, env: dict[str, str], logs: Path, concurrency: int = 2) -> Proc:
    return Proc(name, [*CELERY, "worker", "--loglevel=INFO", f"--concurrency={concurrency}",
                       f"--hostname={name}@%h", "--without-mingle", "--without-gossip",
                       "--without-heartbeat"], env, logs)


def beat(name: str, env: dict[str, str], logs: Path) -> Proc:
    return Proc(name, [*CELERY, "beat", "--loglevel=INFO"], env, logs)


def worker_env(tmp: Path, database_url: str, broker_url: str | None, clock_file: Path,
               **extra: str) -> dict[str, str]:
    """The environment of a worker or beat: simulated shared clock, fast relay and sweep."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    env.update({"OCOP_HOME": str(tmp / "home"), "OCOP_DATABASE_URL": database_url,
                "OCOP_SIMULATION": "1", "OCOP_NOW": f"@{clock_file}",
                "OCOP_SWEEP_INTERVAL": "0.5", "OCOP_RELAY_INTERVAL": "1",
                "OCOP_WEBHOOK_ALLOW_PRIVATE": "1",  # the Receiver listens on 127.0.0.1
                "PYTHONPATH": str(ROOT), **extra})
    if broker_url:
        env["OCOP_BROKER_URL"] = broker_url
    return env


@contextmanager
def running(*procs: Proc) -> Iterator[None]:
    """Stop every process on the way out, whatever happened."""
    try:
        yield
    finally:
        for p in procs:
            p.stop()
