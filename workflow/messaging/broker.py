"""The Celery side every process shares: the broker settings, the task names and queues, and a
publish-only Celery app (the relay inside the API or the CLI). ``worker.py`` builds the worker
and beat on top of this; this module imports neither it nor the tasks.

Broker: ``OCOP_BROKER_URL`` (``redis://…``), or by default kombu's ``filesystem://`` transport
in ``$OCOP_HOME/broker`` — a real worker process and no server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from celery import Celery
from kombu.entity import Queue

from workflow.config import Settings

DELIVER, DELIVER_ALL = "ocop.deliver", "ocop.deliver_all"
SWEEP, RELAY = "ocop.sweep", "ocop.relay"
CHECKPOINT = "ocop.checkpoint"


def celery_config(settings: Settings) -> dict[str, Any]:
    """Every setting the workers and publishers depend on, chosen on purpose (beat's schedule
    is added by ``worker.py``)."""
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
        "task_routes": {name: {"queue": "ocop.schedule"} for name in (SWEEP, RELAY, CHECKPOINT)},
        "worker_hijack_root_logger": False,
        "timezone": "UTC",
    }


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


def publisher_celery(settings: Settings) -> Celery:
    """A Celery app that only sends tasks: it neither becomes Celery's current app nor loads
    the tasks or the worker's runtime."""
    celery = Celery("ocop", set_as_current=False)
    celery.conf.update(celery_config(settings))
    return celery
