"""``ocop serve``: the HTTP API, the staff console and the public pages, under uvicorn."""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from workflow.cli.base import Context, pass_app
from workflow.config import listen_url
from workflow.logs import configure


def announce_address(host: str, port: int) -> None:
    """Without ``OCOP_PUBLIC_URL``, links and QR codes point to where we actually listen: the
    variable is set for this process and every process it starts (uvicorn workers, ``ocop run``'s
    worker and beat), before any of them reads its settings."""
    if not os.environ.get("OCOP_PUBLIC_URL"):
        os.environ["OCOP_PUBLIC_URL"] = listen_url(host, port)


def worker_app() -> Any:
    """What each uvicorn worker process builds (``--workers N``): the app, logging as a service."""
    from workflow.web.app import create_app  # here, not at the top: see ``serve``

    configure(level=logging.INFO)
    return create_app()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="OCOP_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="OCOP_PORT")
@click.option("--workers", type=click.IntRange(min=1), envvar="OCOP_API_WORKERS",
              help="uvicorn worker processes (each builds its own app) [default: one per "
              "core, at most 4, on PostgreSQL; 1 on SQLite]")
@pass_app
def serve(ctx: Context, host: str, port: int, workers: int | None) -> None:
    """Serve the API (/api/v1, OpenAPI at /docs), the console (/console) and public pages."""
    # Imported here, not at the top: ``ocop run`` loads this module for ``announce_address``,
    # and FastAPI, uvicorn and the web app are only for a process that serves. No cycle.
    import uvicorn

    from workflow.web.api.config import serve_workers

    announce_address(host, port)
    ctx.service = True  # a service keeps its log lines (JSON when not on a terminal)
    workers = serve_workers(workers, ctx.app.settings.database_url)
    if workers > 1:
        run_workers(host, port, workers)
        return
    from workflow.web.app import create_app

    uvicorn.run(create_app(ctx.app), host=host, port=port, access_log=False)


def run_workers(host: str, port: int, workers: int) -> None:
    """``uvicorn.run(..., workers=N)``, with two differences in the listening sockets.

    - Each worker has a socket of its own on the same port (``SO_REUSEPORT``), and the kernel
      spreads new connections over them. With one shared socket, the worker that wakes first
      accepts a whole burst of connections, and keep-alive clients stay on it. Measured with
      ``bench.api``: 98 % of the requests went to one of two workers. The parent keeps every
      socket open, so a worker's share waits in its queue while a replacement starts.
    - Sockets are built here and rebuilt from their descriptors, so ``proto`` reads back TCP.
      Bound by uvicorn, ``proto`` is 0, and accepted connections inherit that. asyncio then
      leaves Nagle's algorithm on, and each keep-alive answer waits ~40 ms for the client's
      delayed ACK (Kludex/uvicorn#3149).

    Where the system has no ``SO_REUSEPORT``, the workers share one socket."""
    import socket

    import uvicorn

    config = uvicorn.Config("workflow.cli.serve_cmd:worker_app", factory=True, host=host,
                            port=port, workers=workers, access_log=False)
    if not hasattr(socket, "SO_REUSEPORT"):
        listening = socket.socket(fileno=config.bind_socket().detach())
        _supervisor(config, [[listening]] * workers).run()
        return
    first = _reuse_port_socket(host, port)
    port = first.getsockname()[1]
    own = [first, *(_reuse_port_socket(host, port) for _ in range(workers - 1))]
    _supervisor(config, [[s] for s in own]).run()


def _reuse_port_socket(host: str, port: int) -> Any:
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _supervisor(config: Any, per_worker: list[list[Any]]) -> Any:
    """uvicorn's supervisor (health checks, restarts, signals), giving worker ``i`` the
    sockets ``per_worker[i]``."""
    from uvicorn.supervisors import Multiprocess

    class PerWorker(Multiprocess):
        """Each of Multiprocess's steps is run on one worker at a time, with its sockets."""

        def __init__(self, config: Any, per_worker: list[list[Any]]) -> None:
            super().__init__(config, sockets=per_worker[0])
            self.per_worker = per_worker

        def init_processes(self) -> None:
            from uvicorn.supervisors.multiprocess import Process

            for own in self.per_worker:
                process = Process(self.config, own)
                process.start()
                self.processes.append(process)

        def keep_subprocess_alive(self) -> None:
            self._each(super().keep_subprocess_alive)

        def restart_all(self) -> None:
            self._each(super().restart_all)

        def _each(self, step: Any) -> None:
            every = self.processes
            try:
                for i in range(len(every)):
                    self.processes, self.sockets = [every[i]], self.per_worker[i]
                    step()
                    every[i] = self.processes[0]
            finally:
                self.processes, self.sockets = every, self.per_worker[0]

    return PerWorker(config, per_worker)
