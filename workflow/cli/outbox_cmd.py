"""``ocop outbox list``; ``retry``, which needs the relay, is in :mod:`workflow.cli.worker_cmd`."""

from __future__ import annotations

import click

from workflow.cli.base import Context, emit, pass_app
from workflow.cli.lazy import Lazy, LazyGroup
from workflow.store import queries


@click.group(cls=LazyGroup, lazy={"retry": Lazy(
    "workflow.cli.worker_cmd:outbox_retry",
    "Send a failed message again (its attempts start from zero).")})
def outbox() -> None:
    """Outgoing messages written with each transition."""


@outbox.command("list")
@click.option("--case", "code")
@click.option("--status", type=click.Choice(["pending", "sent", "failed"]))
@click.option("--json", "as_json", is_flag=True)
@pass_app
def outbox_list(ctx: Context, code: str | None, status: str | None, as_json: bool) -> None:
    """Messages, oldest first."""
    with ctx.app.db.connect() as conn:
        rows = queries.list_outbox(conn, code, status)
    emit(rows, as_json, lambda rs: "\n".join(
        f"{r['id']:>6} {r['case']} #{r['seq']:<3} {r['kind']:<10} {r['channel']:<8} "
        f"{r['status']:<8} attempts {r['attempts']} {r['recipient'] or ''}" for r in rs)
        or "no messages")
