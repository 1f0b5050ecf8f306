"""``ocop users add`` and ``ocop producers add``."""

from __future__ import annotations

import click

from states.model import ROLES
from workflow import registry
from workflow.cli.base import Context, cli, pass_app
from workflow.store.db import write_transaction


@cli.group()
def users() -> None:
    """Staff, producers' and supervisors' accounts."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--district")
@click.option("--commune")
@click.option("--producer", "producer_id", type=int)
@pass_app
def users_add(ctx: Context, name: str, role: str, district: str | None, commune: str | None,
              producer_id: int | None) -> None:
    """Add a user and print their API token (shown once; only its hash is kept)."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        token = registry.add_user(conn, app.clock.now(), name, role, district, commune,
                                  producer_id)
    click.echo(token)


@cli.group()
def producers() -> None:
    """Producers: enterprises, cooperatives, cooperative groups, households."""


@producers.command("add")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(registry.KINDS))
@click.option("--district", help="Only before 2025-07-01: narrows a commune name.")
@click.option("--commune", required=True, help="The commune or ward: its code or its name.")
@click.option("--email")
@click.option("--webhook")
@click.option("--lang", default="vi", type=click.Choice(registry.LANGS), show_default=True)
@pass_app
def producers_add(ctx: Context, name: str, kind: str, district: str | None, commune: str,
                  email: str | None, webhook: str | None, lang: str) -> None:
    """Add a producer and print its id."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        producer_id = registry.add_producer(conn, app.clock.now(), name, kind, district,
                                            commune, email, webhook, lang)
    click.echo(producer_id)
