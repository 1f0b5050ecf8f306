"""``ocop demo``."""

from __future__ import annotations

import click

from workflow import demo
from workflow.cli.base import Context, pass_app
from workflow.errors import Conflict


@click.command("demo")
@pass_app
def demo_cmd(ctx: Context) -> None:
    """Load the Hanoi demo into an empty database; write the demo users' tokens to
    ``$OCOP_HOME/demo-tokens.txt`` (name, role, scope, token) and print them."""
    if not demo.is_empty(ctx.app):
        raise Conflict("demo_not_empty")
    path = demo.tokens_path()
    demo.save_tokens(path, demo.load(ctx.app), demo.people(ctx.app))
    click.echo(path.read_text(encoding="utf-8"), nl=False)
