"""The processes ``ocop run`` supervises: each in its own process group, its stderr passed
through to ours and its last lines kept, so a service that dies can be named with its cause."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from typing import IO

STOP_GRACE = 7.0  # seconds between SIGTERM and SIGKILL; the whole stop stays under 10 s
READY = b" ready."  # what a Celery worker logs once it consumes
TROUBLE = re.compile(r"error|exception|errno|fatal|denied|refused|in use|not found", re.I)


class Child:
    """One service: started, watched and stopped as a process group."""

    def __init__(self, name: str, args: list[str]) -> None:
        self.name, self.args = name, args
        self.proc: subprocess.Popen[bytes] | None = None
        self.tail: deque[str] = deque(maxlen=40)
        self.ready = False

    def start(self) -> None:
        self.kill_group()  # a restart: nothing of the previous run is left behind
        self.ready = False
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                     start_new_session=True)
        assert self.proc.stderr is not None
        threading.Thread(target=self._pump, args=(self.proc.stderr,), daemon=True,
                         name=f"{self.name}-stderr").start()

    def _pump(self, stream: IO[bytes]) -> None:
        """Copy the service's stderr to ours, line by line, remembering the last lines."""
        for line in iter(stream.readline, b""):
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.buffer.write(line)
                sys.stderr.buffer.flush()
            self.ready = self.ready or READY in line
            text = line.decode("utf-8", errors="replace").strip()
            if text:
                self.tail.append(text)
        stream.close()

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def note(self, line: str) -> None:
        self.tail.append(line)

    def cause(self) -> str:
        """The most telling of its last lines: the last that speaks of an error, else the last
        line, else its exit status."""
        if self.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(1)  # let the pump read what it wrote before dying
            time.sleep(0.1)
        lines = list(self.tail)
        telling = [line for line in lines if TROUBLE.search(line)]
        if telling or lines:
            return (telling or lines)[-1][:300]
        return f"exit status {self.returncode()}"

    def terminate(self) -> None:
        """SIGTERM to the service itself: uvicorn and Celery shut down warmly on it."""
        if self.alive():
            assert self.proc is not None
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)

    def kill_group(self) -> None:
        """SIGKILL whatever is left of its process group (a pool process outliving its worker)."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(2)
        end = time.monotonic() + 2  # the group is gone once its last member is reaped
        with contextlib.suppress(ProcessLookupError, PermissionError):
            while time.monotonic() < end:
                os.killpg(self.proc.pid, 0)
                time.sleep(0.05)


def stop_all(children: list[Child], grace: float = STOP_GRACE) -> None:
    """Ask every service to stop, wait up to ``grace`` seconds, then kill what is left of each
    process group: nothing outlives ``ocop run``."""
    for child in children:
        child.terminate()
    end = time.monotonic() + grace
    for child in children:
        if child.proc is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.proc.wait(max(0.0, end - time.monotonic()))
    for child in children:
        child.kill_group()
