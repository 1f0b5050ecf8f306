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
    """``uvicorn.run(..., workers=N)``, but the listening socket says it is TCP: uvicorn binds
    it with ``proto`` 0, accepted connections inherit that, and asyncio then leaves Nagle's
    algorithm on, so each keep-alive answer waits ~40 ms for the client's delayed ACK
    (Kludex/uvicorn#3149). Rebuilt from its descriptor, the socket's ``proto`` is read back."""
    import socket

    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config("workflow.cli.serve_cmd:worker_app", factory=True, host=host,
                            port=port, workers=workers, access_log=False)
    listening = socket.socket(fileno=config.bind_socket().detach())
    Multiprocess(config, sockets=[listening]).run()
