"""``ocop users add|list|show|disable|enable|rotate-token|set-scope|delete`` and
``ocop producers add|invite``.

Account commands run as the operator at the machine (logged as ``cli``) or as the administrator
``--as`` names; each change is written with its admin-log entry (:mod:`workflow.accounts`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from states.model import ROLES
from workflow import accounts, invitations, registry
from workflow.cli.base import Context, emit, pass_app
from workflow.clock import local
from workflow.errors import InvalidInput
from workflow.i18n import from_env, label, text
from workflow.store.db import write_transaction

F = TypeVar("F", bound=Callable[..., Any])
SHOWN = ("role", "unit", "producer", "created", "token_expires_at", "last_used_at",
         "disabled_at")


def as_admin(f: F) -> F:
    """The ``--as NAME`` option every account command takes."""
    return click.option("--as", "as_user", metavar="NAME",
                        help="the administrator doing it (default: the operator, logged as "
                             "'cli')")(f)


def json_flag(f: F) -> F:
    return click.option("--json", "as_json", is_flag=True)(f)


@click.group()
def users() -> None:
    """Accounts of staff, producers and supervisors: add, list, show, disable, enable,
    rotate-token, set-scope, delete (every change is in the admin log)."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--district", help="a district officer's district (only before 2025-07-01)")
@click.option("--commune", help="a commune officer's commune or ward: its code or its name")
@click.option("--producer", "producer_id", type=int)
@as_admin
@json_flag
@pass_app
def users_add(ctx: Context, name: str, role: str, district: str | None, commune: str | None,
              producer_id: int | None, as_user: str | None, as_json: bool) -> None:
    """Add a user and print their API token (shown once; only its hash is kept). It expires
    after OCOP_TOKEN_DAYS days."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        actor = accounts.acting(conn, as_user)
        issued = accounts.add(conn, app.clock.now(), actor, name, role, district, commune,
                              producer_id, token_days=app.settings.token_days)
    print_token(issued, as_json)


@users.command("list")
@as_admin
@json_flag
@pass_app
def users_list(ctx: Context, as_user: str | None, as_json: bool) -> None:
    """Every account: name, role, unit, state, token expiry and last use."""
    app, lang = ctx.app, from_env()
    with app.db.connect() as conn:
        rows = accounts.list_users(conn, app.clock.now(), accounts.acting(conn, as_user))
    emit(rows, as_json, lambda rs: "\n".join(list_line(r, lang) for r in rs)
         or label("ui", "accounts_none", lang))


@users.command("show")
@click.argument("name")
@as_admin
@json_flag
@pass_app
def users_show(ctx: Context, name: str, as_user: str | None, as_json: bool) -> None:
    """One account: role, unit (code and name), who created it and when, when its token
    expires and was last used, whether it is disabled."""
    app = ctx.app
    with app.db.connect() as conn:
        view = accounts.show_user(conn, app.clock.now(), accounts.acting(conn, as_user), name)
    emit(view, as_json, lambda v: shown_text(v, from_env()))


def change(ctx: Context, as_user: str | None, as_json: bool, do: Callable[..., Any],
           *args: Any) -> None:
    """Run one account change as the acting administrator and show the account after it."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        view = do(conn, app.clock.now(), accounts.acting(conn, as_user), *args)
    emit(view, as_json, lambda v: shown_text(v, from_env()))


@users.command("disable")
@click.argument("name")
@as_admin
@json_flag
@pass_app
def users_disable(ctx: Context, name: str, as_user: str | None, as_json: bool) -> None:
    """Stop an account: its token and console sessions stop working at once."""
    change(ctx, as_user, as_json, accounts.disable, name)


@users.command("enable")
@click.argument("name")
@as_admin
@json_flag
@pass_app
def users_enable(ctx: Context, name: str, as_user: str | None, as_json: bool) -> None:
    """Let a disabled account in again."""
    change(ctx, as_user, as_json, accounts.enable, name)


@users.command("set-scope")
@click.argument("name")
@click.option("--commune", help="a commune officer's new commune or ward (code or name)")
@click.option("--district", help="a district officer's new district (before 2025-07-01)")
@as_admin
@json_flag
@pass_app
def users_set_scope(ctx: Context, name: str, commune: str | None, district: str | None,
                    as_user: str | None, as_json: bool) -> None:
    """Move an officer to another unit; the role stays."""
    change(ctx, as_user, as_json, accounts.set_scope, name, district, commune)


@users.command("rotate-token")
@click.argument("name")
@as_admin
@json_flag
@pass_app
def users_rotate_token(ctx: Context, name: str, as_user: str | None, as_json: bool) -> None:
    """Issue a new token and print it (shown once); the old one, and the account's console
    sessions, stop working at once."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        issued = accounts.rotate_token(conn, app.clock.now(), accounts.acting(conn, as_user),
                                       name, token_days=app.settings.token_days)
    print_token(issued, as_json)


@users.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="do not ask")
@as_admin
@pass_app
def users_delete(ctx: Context, name: str, yes: bool, as_user: str | None) -> None:
    """Delete an account and its sessions (the audit trail keeps the name it acted under)."""
    lang = from_env()
    asked = not yes and sys.stdin.isatty() and click.confirm(
        text("ui", "account_delete_confirm", lang, name=name), default=False, err=True)
    if not (yes or asked):  # no terminal: nobody to ask, so --yes it must be
        raise InvalidInput("delete_needs_yes", user=name)
    app = ctx.app
    with write_transaction(app.db) as conn:
        accounts.delete_user(conn, app.clock.now(), accounts.acting(conn, as_user), name)
    click.echo(text("ui", "account_deleted", lang, name=name))


def print_token(issued: accounts.Issued, as_json: bool) -> None:
    """The token alone on stdout (for scripts), or with ``--json`` the account and expiry."""
    emit({"name": issued.name, "token": issued.token,
          "token_expires_at": issued.expires_at.isoformat()}, as_json, lambda v: v["token"])


def list_line(r: dict[str, Any], lang: str) -> str:
    unit = unit_words(r["unit"]) or (r["producer"] or {}).get("name") or "—"
    return (f"{r['name']:<20} {label('role', r['role'], lang):<32} {unit:<36} "
            f"{label('ui', 'account_state_' + r['state'], lang):<12} "
            f"{text('ui', 'account_expires_short', lang, at=when(r['token_expires_at']))}")


def shown_text(v: dict[str, Any], lang: str) -> str:
    values = {
        "role": label("role", v["role"], lang), "unit": unit_words(v["unit"]) or "—",
        "producer": f"{v['producer']['name']} (#{v['producer']['id']})" if v["producer"]
        else "—",
        "created": text("ui", "account_created_by_at", lang, by=v["created_by"] or "—",
                        at=when(v["created_at"])),
        "token_expires_at": when(v["token_expires_at"]),
        "last_used_at": when(v["last_used_at"]), "disabled_at": when(v["disabled_at"])}
    lines = [f"{v['name']} — {label('ui', 'account_state_' + v['state'], lang)}"]
    lines += [f"  {label('ui', 'account_' + key, lang)}: {values[key]}" for key in SHOWN]
    return "\n".join(lines)


def unit_words(unit: dict[str, Any] | None) -> str:
    return "" if unit is None else f"{unit['name']} [{unit['key']}]"


def when(iso: str | None) -> str:
    """``2025-09-01 09:00`` (Vietnam time) or a dash."""
    return "—" if not iso else iso[:16].replace("T", " ")


@click.group()
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
        producer_id = registry.add_producer(
            conn, app.clock.now(), name, kind, district, commune, email, webhook, lang,
            allow_private=app.settings.webhook_allow_private)
    click.echo(producer_id)


@producers.command("invite")
@click.argument("producer")
@click.option("--account", required=True, metavar="NAME",
              help="the account name the producer will sign in with (must not exist yet)")
@click.option("--days", type=int, help="how long the link works (default OCOP_INVITATION_DAYS)")
@click.option("--as", "as_user", metavar="NAME",
              help="the administrator or officer inviting (default: the operator, logged as "
                   "'cli')")
@json_flag
@pass_app
def producers_invite(ctx: Context, producer: str, account: str, days: int | None,
                     as_user: str | None, as_json: bool) -> None:
    """Print a one-time link with which the producer PRODUCER (id or name) sets up their own
    console account and password. A new link for the same account replaces the old one."""
    app = ctx.app
    with write_transaction(app.db) as conn:
        made = invitations.invite(conn, app.clock.now(), invitations.acting(conn, as_user),
                                  producer, account, days, public_url=app.settings.public_url,
                                  default_days=app.settings.invitation_days)
    emit({"link": made.link, "account": made.account, "producer": made.producer_id,
          "expires_at": local(made.expires_at).isoformat()}, as_json, lambda v: v["link"])
