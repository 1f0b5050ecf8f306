"""``ocop serve``: the HTTP API, the staff console and the public pages, under uvicorn."""

from __future__ import annotations

import click

from workflow.cli.base import Context, cli, pass_app


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int,
              help="uvicorn worker processes (each builds its own app)")
@pass_app
def serve(ctx: Context, host: str, port: int, workers: int) -> None:
    """Serve the API (/api/v1, OpenAPI at /docs), the console (/console) and public pages."""
    import uvicorn

    if workers > 1:
        uvicorn.run("workflow.api:create_app", factory=True, host=host, port=port,
                    workers=workers, access_log=False)
        return
    from workflow.api import create_app

    uvicorn.run(create_app(ctx.app), host=host, port=port, access_log=False)
