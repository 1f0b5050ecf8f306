"""``ocop db upgrade``."""

from __future__ import annotations

import click
from sqlalchemy import inspect

from workflow.cli.base import Context, pass_app
from workflow.cli.units_cmd import loaded_text, loaded_view
from workflow.i18n import from_env
from workflow.store import units
from workflow.store.db import write_transaction
from workflow.store.migrate import upgrade


@click.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
@pass_app
def db_upgrade(ctx: Context, revision: str) -> None:
    """Apply the Alembic migrations; then, when the units table is empty, load the configured
    province's units (OCOP_PROVINCE)."""
    upgrade(ctx.app.db, revision, keys=ctx.app.keys)
    click.echo(f"database at {ctx.app.db.url.render_as_string()} is at {revision}")
    loaded = load_units(ctx)
    if loaded is not None:
        click.echo(loaded)


def load_units(ctx: Context) -> str | None:
    """Load ``OCOP_PROVINCE``'s units when the units table is there and empty; the line saying
    what was loaded, or None when nothing was."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        if not inspect(conn).has_table("units"):  # upgraded to a revision before units
            return None
        done = units.ensure_loaded(conn, app.settings.province)
    if done is None:
        return None
    return loaded_text(loaded_view(done, [app.settings.province]), from_env())
