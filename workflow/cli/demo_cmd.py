"""``ocop demo``."""

from __future__ import annotations

import click

from workflow import demo
from workflow.cli.base import Context, cli, pass_app
from workflow.errors import Conflict


@cli.command("demo")
@pass_app
def demo_cmd(ctx: Context) -> None:
    """Load the Hanoi demo into an empty database and print the demo users' tokens."""
    if not demo.is_empty(ctx.app):
        raise Conflict("The database already holds cases; the demo loads only into an empty one.")
    for name, token in demo.load(ctx.app).items():
        click.echo(f"{name}\t{token}")
