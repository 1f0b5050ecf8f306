"""``ocop campaign plan|run|list|show|cancel``: re-evaluation campaigns (issue 13).

The commands run as the operator at the machine (an administrator, logged as ``cli``) or as the
staff user ``--as`` names (a city officer or an administrator). ``run`` shows a progress bar on
a terminal (stderr) and plain progress lines otherwise; with ``OCOP_BROKER_URL`` on Redis it
hands the chunks to the Celery workers and watches them (``--here`` runs them in this process).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from workflow import campaigns
from workflow.cli.base import Context, emit, pass_app
from workflow.clock import local
from workflow.councils import acting
from workflow.domain.facts import Actor
from workflow.errors import InvalidInput, render
from workflow.i18n import from_env, label, text
from workflow.store.db import read_snapshot

AS_USER = click.option("--as", "as_user", metavar="NAME",
                       help="the city officer or administrator doing it (default: the operator, "
                            "logged as 'cli')")
JSON = click.option("--json", "as_json", is_flag=True)


@click.group("campaign")
def campaign_group() -> None:
    """Re-evaluation campaigns: plan a selection, run it, follow it (plan, run, list, show,
    cancel)."""


def _actor(ctx: Context, as_user: str | None) -> Actor:
    with read_snapshot(ctx.app.db) as conn:
        return acting(conn, as_user)


@campaign_group.command("plan")
@click.option("--where", "where", required=True,
              help='the certificates, e.g. "rules=1048 stars>=4 trademark=no"')
@click.option("--reason", type=click.Choice(campaigns.REASONS), default="criteria_change",
              show_default=True, help="why the cases are re-opened")
@click.option("--message-file", type=click.Path(dir_okay=False, path_type=Path),
              help="a text file whose words are added to each producer's notice")
@click.option("--start-review", is_flag=True, help="also start each case's review")
@click.option("--limit", type=int, default=100, show_default=True,
              help="how many of the selected cases to print")
@AS_USER
@JSON
@pass_app
def plan(ctx: Context, where: str, reason: str, message_file: Path | None, start_review: bool,
         limit: int, as_user: str | None, as_json: bool) -> None:
    """Print the count and the cases the words select, and save them as a plan (no case
    changes until ``run``)."""
    made = campaigns.plan(ctx.app, _actor(ctx, as_user), where, reason, _message(message_file),
                          start_review, limit)
    emit(made, as_json, lambda p: planned(p, from_env()))


def _message(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInput("data_file_unreadable", got=str(path),
                           why=getattr(error, "strerror", None) or str(error)) from None


def planned(p: dict[str, Any], lang: str) -> str:
    lines = [text("ui", "campaign_planned", lang, id=p["id"], count=p["count"],
                  reason=label("reevaluation_reason", p["reason"], lang))]
    lines += [f"  {c['code']}  {c['product']} — {c['producer']}  {c['stars']}★  {c['number']}"
              for c in p["cases"]]
    if p["count"] > len(p["cases"]):
        lines.append("  " + text("ui", "campaign_more", lang, n=p["count"] - len(p["cases"])))
    lines.append(text("ui", "campaign_run_hint", lang, id=p["id"]))
    return "\n".join(lines)


@campaign_group.command("run")
@click.argument("campaign_id", metavar="ID", type=int)
@click.option("--chunk", type=int, default=campaigns.CHUNK, show_default=True,
              help="cases per transaction")
@click.option("--here", is_flag=True, help="run every chunk in this process, even with workers")
@AS_USER
@JSON
@pass_app
def run(ctx: Context, campaign_id: int, chunk: int, here: bool, as_user: str | None,
        as_json: bool) -> None:
    """Re-open the plan's cases, chunk after chunk; run it again after a crash to finish."""
    app, lang = ctx.app, from_env()
    actor = _actor(ctx, as_user)
    enqueue = None if here else campaigns.celery_enqueue(app.settings)
    with _progress(lang, as_json) as progress:
        done = campaigns.run(app, campaign_id, actor, chunk, progress, enqueue)
    app.relay.close_handoff()
    emit(done, as_json, lambda c: shown(c, lang))


@contextmanager
def _progress(lang: str, quiet: bool) -> Iterator[Callable[[dict[str, int]], None]]:
    """A progress bar on a terminal, else one line per chunk (none with ``--json``)."""
    if quiet:
        yield lambda counts: None
        return
    if not sys.stderr.isatty():
        yield lambda counts: click.echo(text("ui", "campaign_counts", lang, **counts), err=True)
        return
    bar: list[Any] = []
    seen = [0]

    def update(counts: dict[str, int]) -> None:
        finished = counts["done"] + counts["skipped"] + counts["failed"]
        if not bar:
            bar.append(click.progressbar(length=finished + counts["left"], file=sys.stderr,
                                         label=label("ui", "campaign_progress", lang)))
            bar[0].__enter__()
        bar[0].update(finished - seen[0])
        seen[0] = finished

    try:
        yield update
    finally:
        if bar:
            bar[0].__exit__(None, None, None)


@campaign_group.command("list")
@click.option("--limit", type=int, default=50, show_default=True)
@JSON
@pass_app
def list_(ctx: Context, limit: int, as_json: bool) -> None:
    """The campaigns, newest first, with their counts."""
    lang = from_env()
    found = campaigns.listing(ctx.app, limit)
    emit(found, as_json, lambda cs: "\n".join(line(c, lang) for c in cs)
         or label("ui", "campaign_none", lang))


@campaign_group.command("show")
@click.argument("campaign_id", metavar="ID", type=int)
@JSON
@pass_app
def show(ctx: Context, campaign_id: int, as_json: bool) -> None:
    """One campaign: who planned and started it, when, its counts, and why items were
    skipped or failed."""
    emit(campaigns.show(ctx.app, campaign_id), as_json, lambda c: shown(c, from_env()))


@campaign_group.command("cancel")
@click.argument("campaign_id", metavar="ID", type=int)
@AS_USER
@JSON
@pass_app
def cancel(ctx: Context, campaign_id: int, as_user: str | None, as_json: bool) -> None:
    """Stop a campaign: pending items stay pending, and no run takes them."""
    found = campaigns.cancel(ctx.app, campaign_id, _actor(ctx, as_user))
    emit(found, as_json, lambda c: shown(c, from_env()))


def line(c: dict[str, Any], lang: str) -> str:
    return (f"{c['id']:>5}  {label('ui', 'campaign_status_' + c['status'], lang):<12} "
            f"{c['where']}  " + text("ui", "campaign_counts", lang, **c["counts"]))


def shown(c: dict[str, Any], lang: str) -> str:
    def at(value: Any) -> str:
        return local(value).isoformat(timespec="minutes") if value is not None else "—"
    lines = [line(c, lang),
             "  " + text("ui", "campaign_planned_by", lang, name=c["planned_by"],
                         at=at(c["planned_at"]))]
    if c["started_by"]:
        lines.append("  " + text("ui", "campaign_started_by", lang, name=c["started_by"],
                                 at=at(c["started_at"]), finished=at(c["finished_at"])))
    if c["cancelled_by"]:
        lines.append("  " + text("ui", "campaign_cancelled_by", lang, name=c["cancelled_by"],
                                 at=at(c["cancelled_at"])))
    for item in [*c.get("skipped", []), *c.get("failed", [])]:
        why = item["detail"] or {}
        lines.append(f"  {item['code']}  {item['product']}: "
                     f"{render(why.get('code', 'no_value'), why.get('params') or {}, lang)}")
    return "\n".join(lines)
