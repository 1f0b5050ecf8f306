"""The processes ``ocop run`` supervises: each in its own process group, its output appended to
its log file (and passed through to our stderr with ``ocop -v run``) and its last lines kept, so a
service that dies can be named with its cause."""

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
from pathlib import Path
from typing import IO

STOP_GRACE = 7.0  # seconds between SIGTERM and SIGKILL; the whole stop stays under 10 s
READY = b" ready."  # what a Celery worker logs once it consumes
TROUBLE = re.compile(r"error|exception|errno|fatal|denied|refused|in use|not found", re.I)


class Child:
    """One service: started, watched and stopped as a process group."""

    def __init__(self, name: str, args: list[str], log: Path | None = None,
                 echo: bool = True) -> None:
        self.name, self.args, self.log, self.echo = name, args, log, echo
        self.proc: subprocess.Popen[bytes] | None = None
        self.tail: deque[str] = deque(maxlen=40)
        self.ready = False

    def start(self) -> None:
        self.kill_group()  # a restart: nothing of the previous run is left behind
        self.ready = False
        self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True,
                         name=f"{self.name}-output").start()

    def _pump(self, stream: IO[bytes]) -> None:
        """Append the service's output to its log file (and to our stderr when echoing), line
        by line, remembering the last lines."""
        sink = None
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            sink = self.log.open("ab")
        for line in iter(stream.readline, b""):
            with contextlib.suppress(OSError, ValueError):
                if sink is not None:
                    sink.write(line)
                    sink.flush()
                if self.echo:
                    sys.stderr.buffer.write(line)
                    sys.stderr.buffer.flush()
            self.ready = self.ready or READY in line
            text = line.decode("utf-8", errors="replace").strip()
            if text:
                self.tail.append(text)
        stream.close()
        if sink is not None:
            sink.close()

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
