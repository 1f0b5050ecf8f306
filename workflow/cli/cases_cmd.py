"""``ocop cases register|advance|show|list|allowed``.

The registry (accounts, producers, registration) is imported by the commands that use it, not
with this module: it brings e-mail validation and password hashing, which ``cases show`` and
``cases list`` do not need."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

import states
from workflow import i18n
from workflow.cli.base import Context, emit, parse_data, pass_app
from workflow.domain.facts import Event
from workflow.store import queries, units
from workflow.store.db import write_transaction

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from workflow.domain.facts import Actor


@click.group()
def cases() -> None:
    """Product applications and their lifecycle."""


@cases.command("register")
@click.option("--as", "as_user", required=True, help="the user registering the case")
@click.option("--producer", "producer_id", required=True, type=int)
@click.option("--product", required=True)
@click.option("--group", required=True, help=f"one of {', '.join(states.groups.ALL_GROUPS)}")
@click.option("--subgroup")
@click.option("--rules", help="pin the rule version (1048, 148, 1489), e.g. for historic dossiers")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def register(ctx: Context, as_user: str, producer_id: int, product: str, group: str,
             subgroup: str | None, rules: str | None, as_json: bool) -> None:
    """Open a case in draft; prints its code."""
    from workflow import registry
    app = ctx.app
    with write_transaction(app.db) as conn:
        actor = actor_named(conn, as_user)
        code = registry.register_case(conn, app.clock.now(), actor, registry.Registration(
            producer_id, product, group, subgroup, rules), public_url=app.settings.public_url)
    show_case(ctx, code, as_json, short=True)


def actor_named(conn: Connection, name: str) -> Actor:
    """The user ``name`` as the actor of a command (:func:`workflow.registry.actor_named`)."""
    from workflow import registry
    return registry.actor_named(conn, name)


@cases.command("advance")
@click.argument("code")
@click.argument("trigger")
@click.option("--as", "as_user", required=True)
@click.option("--reason")
@click.option("--data", "data_text", help="event data as JSON, or @FILE")
@click.option("--idempotency-key")
@click.option("--if-version", type=int, help="refuse unless the case is at this version")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def advance(ctx: Context, code: str, trigger: str, as_user: str, reason: str | None,
            data_text: str | None, idempotency_key: str | None, if_version: int | None,
            as_json: bool) -> None:
    """Apply TRIGGER to case CODE as a user."""
    app = ctx.app
    data = parse_data(data_text)
    with app.db.connect() as conn:
        actor = actor_named(conn, as_user)
    applied = app.engine.apply(Event(code, trigger, actor, data, reason, idempotency_key,
                                     if_version))
    if as_json and applied.replayed and applied.response:
        emit(applied.response, True)
        return
    if not as_json:
        note = " (replayed: this key was already applied)" if applied.replayed else ""
        click.echo(f"{applied.code}: {applied.from_state} -> {applied.to_state} by {trigger}, "
                   f"version {applied.version}{note}")
        return
    show_case(ctx, code, True)


@cases.command("show")
@click.argument("code")
@click.option("--as", "as_user", help="show it only if this user may see it (as the API does)")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(ctx: Context, code: str, as_user: str | None, as_json: bool) -> None:
    """The case: state, score, stars, certificate, deadlines and its whole history."""
    show_case(ctx, code, as_json, as_user=as_user)


def show_case(ctx: Context, code: str, as_json: bool, short: bool = False,
              as_user: str | None = None) -> None:
    with ctx.app.db.connect() as conn:
        if as_user is not None:
            # The API's read rule, imported here so that other commands do not load FastAPI.
            from workflow.web.api.auth import check_read
            check_read(actor_named(conn, as_user), queries.case_row(conn, code))
        view = queries.case_view(conn, code, public_url=ctx.app.settings.public_url)
    if short and not as_json:
        click.echo(view["code"])
        return
    emit(view, as_json, _case_text)


def _case_text(v: dict[str, Any]) -> str:
    cert = v["certificate"]
    lines = [
        f"{v['code']}  {v['product']} ({v['group']}) — {v['producer']['name']}",
        f"  state {v['state']}  version {v['version']}  rules {v['rule_version']}  "
        f"district {unit_words(v, 'district')}  commune {unit_words(v, 'commune')}",
        f"  score {v['score'] if v['score'] is not None else '-'}  stars "
        f"{v['stars'] or '-'}",
        f"  certificate {cert['number']} {cert['stars']}★ {cert['level']} "
        f"{cert['issued_on']}..{cert['valid_to']} {cert['status']}" if cert else
        "  certificate -",
        f"  status page {v.get('status_url') or '-'}",
    ]
    lines += [f"  deadline {d['kind']} due {d['due_at']}{' (paused)' if d['paused'] else ''}"
              for d in v["deadlines"]]
    lines.append("  history:")
    lines += [f"    {h['seq']:>3} {h['at']} {h['trigger']:<24} {h['from'] or '-'} -> {h['to']}"
              f"  by {h['actor']} ({h['role']}){'  — ' + h['reason'] if h['reason'] else ''}"
              for h in v["history"]]
    return "\n".join(lines)


def unit_words(v: dict[str, Any], level: str) -> str:
    """``Xã Bình Minh [10126]``: a unit's name with the key scope compares; ``-`` for none."""
    name, key = v.get(level), v.get(level + "_code")
    return f"{name or '-'} [{key}]" if key else (name or "-")


@cases.command("list")
@click.option("--state")
@click.option("--unit", help="only the cases of this commune or (before 2025-07-01) district: "
                             "its code or its name")
@click.option("--district", hidden=True, help="the same as --unit")
@click.option("--overdue", is_flag=True)
@click.option("--as", "as_user", help="only the cases this user may see")
@click.option("--limit", type=int, default=50, show_default=True,
              help=f"cases per page (at most {queries.MAX_PAGE})")
@click.option("--offset", type=int, default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(ctx: Context, state: str | None, unit: str | None, district: str | None,
          overdue: bool, as_user: str | None, limit: int, offset: int, as_json: bool) -> None:
    """Cases, soonest deadline first, a page at a time ("N of M")."""
    app, lang = ctx.app, i18n.from_env()
    with app.db.connect() as conn:
        key = units.filter_key(conn, unit, district)
        actor = actor_named(conn, as_user) if as_user is not None else None
        page = queries.page_cases(conn, app.clock.now(), state, key, overdue, actor,
                                  limit=limit, offset=offset)
    emit(page, as_json, lambda p: _page_text(p, lang))


def _page_text(page: dict[str, Any], lang: str) -> str:
    rows, shown = page["items"], page["offset"] + len(page["items"])
    lines = [f"{r['code']}  {r['state']:<17} {r['due_at'] or '-':<26}"
             f"{' OVERDUE' if r['overdue'] else ''}  {r['product']} — {r['producer']}, "
             f"{unit_words(r, 'commune')}"
             for r in rows] or ["no cases"]
    lines.append(i18n.text("ui", "page_of", lang, shown=shown, total=page["total"])
                 + (f"  (--offset {page['next_offset']})" if page["next_offset"] else ""))
    return "\n".join(lines)


@cases.command("allowed")
@click.argument("code")
@click.option("--as", "as_user", required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def allowed(ctx: Context, code: str, as_user: str, as_json: bool) -> None:
    """What a user may do to the case now, and why the rest is refused."""
    app, lang = ctx.app, i18n.from_env()
    with app.db.connect() as conn:
        actor = actor_named(conn, as_user)
        rows = queries.allowed(conn, code, actor, app.clock.now(), lang, app.settings)
    emit(rows, as_json, lambda rs: "\n".join(
        f"{'✓' if r['allowed'] else '✗'} {r['trigger']:<24} "
        f"{i18n.label('trigger', r['trigger'], lang)}"
        f"{'' if r['allowed'] else ' — ' + r['why']}" for r in rs))
