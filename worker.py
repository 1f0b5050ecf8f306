"""The Celery application: ``celery -A worker worker`` runs deliveries and sweeps,
``celery -A worker beat`` the schedule. Built by ``create_celery``; nothing happens at import.

``app`` is created on first access (``celery -A worker`` reads ``worker.app``), from the
environment's settings. Broker: ``OCOP_BROKER_URL`` (``redis://…``), or by default kombu's
``filesystem://`` transport in ``$OCOP_HOME/broker`` — a real worker process and no server.
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
from kombu import Queue

from workflow.config import Settings

DELIVER, SWEEP, RELAY, PING = "ocop.deliver", "ocop.sweep", "ocop.relay", "ocop.ping"
TASK_MODULES = ["tasks.delivery", "tasks.schedule"]


def celery_config(settings: Settings) -> dict[str, Any]:
    """Every setting the workers depend on, chosen on purpose."""
    url = settings.broker_url or "filesystem://"
    redis = url.startswith(("redis://", "rediss://"))
    return {
        "broker_url": url,
        "result_backend": url if redis else None,
        "task_ignore_result": True,  # the outbox and the deadline rows are the record
        # A task is acknowledged only when it has finished, and a task whose worker process
        # died (SIGKILL, OOM) is put back rather than acknowledged as failed: every task here is
        # idempotent (a delivery checks its outbox row first; a sweep locks its rows), so running
        # one twice is harmless while losing one is not. The broker is still not trusted: a
        # message lost anyway (broker restarted without its append-only file, filesystem
        # transport) comes back through the outbox when its dispatch lease runs out.
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # Losing the broker does not cancel running deliveries: they finish and record "sent"
        # in the database (cancelling one after its send but before its record would send it
        # twice when the outbox re-dispatches it).
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        # One message reserved per process: a killed worker strands at most one per process,
        # and a long sweep never holds deliveries queued behind it.
        "worker_prefetch_multiplier": 1,
        # The prefork pool, four processes (compose and `ocop run` pass --concurrency=4): a
        # delivery waits on PostgreSQL commits and SMTP replies about half its time, so two
        # processes per core keep both cores busy. Measured on this 2-core machine at 50
        # transitions/s (bench/notify.py): prefork 11.7 ms of worker CPU per transition,
        # the threads pool 9.6 ms — not worth losing a pool process's isolation (a task
        # that crashes or leaks takes only its process) and task_reject_on_worker_lost.
        "worker_pool": "prefork",
        "worker_concurrency": 4,
        "broker_transport_options": _transport_options(settings, redis),
        "broker_connection_retry_on_startup": True,
        "broker_connection_timeout": 2.0,
        "redis_socket_connect_timeout": 2.0,
        # Deliveries and the scheduler's work on separate queues, both consumed by every
        # worker: a long sweep never sits in front of a delivery.
        "task_queues": (Queue("ocop"), Queue("ocop.schedule")),
        "task_default_queue": "ocop",
        "task_routes": {SWEEP: {"queue": "ocop.schedule"}, RELAY: {"queue": "ocop.schedule"}},
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
        # Deadlines are rows, not ETA tasks; beat only says "sweep now" and "relay now". Its
        # schedule state needs no file: a restarted beat just sweeps again (catch-up is free).
        # The scheduler is Celery's in-memory one, plus a heartbeat file touched on each tick
        # (compose's health check reads its age: see ``beat_is_alive``).
        "beat_scheduler": HeartbeatScheduler,
        "beat_schedule": {
            "sweep-deadlines": {"task": SWEEP, "schedule": settings.sweep_interval},
            "relay-outbox": {"task": RELAY, "schedule": settings.relay_interval},
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


def _transport_options(settings: Settings, redis: bool) -> dict[str, Any]:
    if redis:
        # Redis re-delivers an unacknowledged message after the visibility timeout. It must be
        # longer than the longest task (a delivery is bounded by its channel's timeouts, ~30 s;
        # a sweep by its batch), or a task still running would be started twice. Ten minutes
        # leaves a wide margin; quick recovery does not depend on it, because the relay
        # re-dispatches from the outbox once a message's lease (OCOP_OUTBOX_LEASE) runs out.
        return {"visibility_timeout": 600, "socket_timeout": 5, "socket_connect_timeout": 2,
                "max_retries": 1, "interval_start": 0, "interval_step": 0.2}
    if url_is_filesystem(settings.broker_url):
        root = Path(settings.broker_folder)
        for sub in ("queue", "control", "processed"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        return {"data_folder_in": str(root / "queue"), "data_folder_out": str(root / "queue"),
                "control_folder": str(root / "control"),
                "processed_folder": str(root / "processed"), "store_processed": False,
                # The filesystem transport polls its folder; the default second is a second of
                # latency per message. 50 ms costs a few stat() calls per second.
                "polling_interval": 0.05}
    return {}


def url_is_filesystem(url: str | None) -> bool:
    return url is None or url.startswith("filesystem://")


def create_celery(settings: Settings | None = None, *, main: bool = True) -> Celery:
    """The Celery app for ``settings`` (the environment's by default).

    ``main=False`` builds a publisher only (the relay inside the API or the CLI): it neither
    becomes Celery's current app nor loads the worker's runtime.
    """
    from tasks.runtime import Runtime

    settings = settings or Settings.from_env()
    celery = Celery("ocop", set_as_current=main, include=TASK_MODULES if main else [])
    celery.conf.update(celery_config(settings))
    if main:
        runtime = Runtime(settings, celery)
        celery.ocop_runtime = runtime  # type: ignore[attr-defined]
        # A forked pool process must not share the parent's database connections or sockets;
        # it gets its own, at once (see ``Runtime.warm``).
        worker_process_init.connect(lambda **_: _start_process(runtime), weak=False)
        # A pool process (prefork) or the worker itself (solo, threads) closes its SMTP
        # connection and database pool on the way out; closing twice is harmless.
        worker_process_shutdown.connect(lambda **_: runtime.close(), weak=False)
        worker_shutdown.connect(lambda **_: runtime.close(), weak=False)
        worker_ready.connect(_catch_up, weak=False)
    return celery


def _start_process(runtime: Any) -> None:
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
