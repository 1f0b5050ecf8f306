"""The Celery application: ``celery -A worker worker`` runs deliveries and sweeps,
``celery -A worker beat`` the schedule. Built by ``create_celery``; nothing happens at import.

``app`` is created on first access (``celery -A worker`` reads ``worker.app``), from the
environment's settings. The broker settings and the task names shared with the publishers
(the API, the CLI) are in ``workflow/messaging/broker.py``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from celery import Celery
from celery.beat import Scheduler
from celery.signals import (
    worker_process_init,
    worker_process_shutdown,
    worker_ready,
    worker_shutdown,
)

from tasks.runtime import Runtime
from workflow.config import Settings
from workflow.messaging.broker import CHECKPOINT, RELAY, SWEEP, celery_config

TASK_MODULES = ["tasks.delivery", "tasks.schedule", "tasks.campaigns"]


def worker_config(settings: Settings) -> dict[str, Any]:
    """The shared Celery settings, plus beat's: deadlines are rows, not ETA tasks; beat only
    says "sweep now" and "relay now". Its schedule state needs no file: a restarted beat just
    sweeps again (catch-up is free). The scheduler is Celery's in-memory one, plus a heartbeat
    file touched on each tick (compose's health check reads its age: see ``beat_is_alive``)."""
    return {
        **celery_config(settings),
        "beat_scheduler": HeartbeatScheduler,
        "beat_schedule": {
            "sweep-deadlines": {"task": SWEEP, "schedule": settings.sweep_interval},
            "relay-outbox": {"task": RELAY, "schedule": settings.relay_interval},
            "audit-checkpoint": {"task": CHECKPOINT, "schedule": settings.checkpoint_interval},
        },
    }


def heartbeat_path(env: Mapping[str, str] | None = None) -> Path:
    """The file beat touches on each tick: ``$OCOP_BEAT_HEARTBEAT``, else in ``$OCOP_HOME``."""
    env = os.environ if env is None else env
    return Path(env.get("OCOP_BEAT_HEARTBEAT")
                or Path(env.get("OCOP_HOME", "var")) / "beat.heartbeat")


class HeartbeatScheduler(Scheduler):  # type: ignore[misc]  # celery is untyped
    """Celery's scheduler, touching the heartbeat file each time it looks at its schedule
    (at least every ``min(OCOP_SWEEP_INTERVAL, OCOP_RELAY_INTERVAL)`` seconds)."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        path = heartbeat_path()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        except OSError as error:  # a health check will say so; the schedule itself goes on
            logging.getLogger(__name__).warning("cannot touch %s: %s", path, error)
        return float(super().tick(*args, **kwargs))


def beat_is_alive(env: Mapping[str, str] | None = None) -> bool:
    """Beat's health: its heartbeat is younger than a few of its ticks (at least a minute).
    ``python -c "import sys, worker; sys.exit(not worker.beat_is_alive())"``."""
    settings = Settings.from_env(env)
    limit = max(60.0, 4 * min(settings.sweep_interval, settings.relay_interval))
    try:
        return time.time() - heartbeat_path(env).stat().st_mtime < limit
    except OSError:
        return False


def create_celery(settings: Settings | None = None) -> Celery:
    """The worker's Celery app for ``settings`` (the environment's by default), with its
    runtime: the application wired once per process, publishing through this same app."""
    settings = settings or Settings.from_env()
    celery = Celery("ocop", set_as_current=True, include=TASK_MODULES)
    celery.conf.update(worker_config(settings))
    runtime = Runtime(settings, celery)
    celery.ocop_runtime = runtime  # the tasks find it on ``self.app``
    # A forked pool process must not share the parent's database connections or sockets;
    # it gets its own, at once (see ``Runtime.warm``).
    worker_process_init.connect(lambda **_: _start_process(runtime), weak=False)
    # A pool process (prefork) or the worker itself (solo, threads) closes its SMTP
    # connection and database pool on the way out; closing twice is harmless.
    worker_process_shutdown.connect(lambda **_: runtime.close(), weak=False)
    worker_shutdown.connect(lambda **_: runtime.close(), weak=False)
    worker_ready.connect(_catch_up, weak=False)
    return celery


def _start_process(runtime: Runtime) -> None:
    runtime.after_fork()
    runtime.warm()


def _catch_up(sender: Any, **_: Any) -> None:
    """On start, sweep and relay at once: whatever fell due while nothing ran fires now."""
    sender.app.send_task(SWEEP)
    sender.app.send_task(RELAY)


_lazy: dict[str, Celery] = {}


def __getattr__(name: str) -> Celery:
    if name == "app":
        if "app" not in _lazy:
            _lazy["app"] = create_celery()
        return _lazy["app"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
