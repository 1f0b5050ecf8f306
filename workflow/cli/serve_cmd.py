"""``ocop serve``: the HTTP API, the staff console and the public pages, under uvicorn."""

from __future__ import annotations

import logging
import os
from typing import Any

import click

from workflow.cli.base import Context, cli, pass_app
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


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, envvar="OCOP_HOST")
@click.option("--port", default=8000, show_default=True, type=int, envvar="OCOP_PORT")
@click.option("--workers", default=1, show_default=True, type=int,
              help="uvicorn worker processes (each builds its own app)")
@pass_app
def serve(ctx: Context, host: str, port: int, workers: int) -> None:
    """Serve the API (/api/v1, OpenAPI at /docs), the console (/console) and public pages."""
    # Imported here, not at the top: every ``ocop`` command loads this module, and FastAPI,
    # uvicorn and the web app cost a noticeable share of a short command's start-up. No cycle.
    import uvicorn

    announce_address(host, port)
    ctx.service = True  # a service keeps its log lines (JSON when not on a terminal)
    if workers > 1:
        uvicorn.run("workflow.cli.serve_cmd:worker_app", factory=True, host=host, port=port,
                    workers=workers, access_log=False)
        return
    from workflow.web.app import create_app

    uvicorn.run(create_app(ctx.app), host=host, port=port, access_log=False)
