"""``ocop db upgrade``."""

from __future__ import annotations

import click

from workflow.cli.base import Context, cli, pass_app
from workflow.store.migrate import upgrade


@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@pass_app
def db_upgrade(ctx: Context, revision: str) -> None:
    """Apply the Alembic migrations."""
    upgrade(ctx.app.db, revision)
    click.echo(f"database at {ctx.app.db.url.render_as_string()} is at {revision}")
