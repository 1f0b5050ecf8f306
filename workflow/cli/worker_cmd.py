"""``ocop sweep`` (the deadline sweep, once) and ``ocop outbox retry ID``."""

from __future__ import annotations

import click

from workflow.cli.base import Context, emit, pass_app
from workflow.relay import Relay
from workflow.sweep import Sweeper


def _relay(ctx: Context) -> Relay:
    return ctx.app.relay


@click.command("sweep")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def sweep(ctx: Context, as_json: bool) -> None:
    """Fire every due deadline once (beat does this every minute), then relay the outbox."""
    counts = Sweeper(ctx.app.engine, _relay(ctx)).run()
    handed = _relay(ctx).dispatch_due()
    result = {**counts, "messages_dispatched": handed}
    emit(result, as_json, lambda r: ", ".join(f"{k} {v}" for k, v in r.items())
         if counts else f"nothing due; messages dispatched {handed}")


@click.command("retry")
@click.argument("outbox_id", type=int)
@pass_app
def outbox_retry(ctx: Context, outbox_id: int) -> None:
    """Send a failed message again (its attempts start from zero)."""
    message_id = _relay(ctx).retry(outbox_id)
    click.echo(f"message {outbox_id} ({message_id}) is pending again")
