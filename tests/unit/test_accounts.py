"""Accounts that can be managed, and the admin log: only administrators add, disable, enable,
re-issue tokens, re-scope and delete accounts; each change is in the hash-chained admin log
with who made it, written with the change or not at all; a disabled, expired, replaced or
deleted token is refused at once, saying which; ``last_used_at`` is kept to the minute; the
same through ``ocop users`` (the operator, or ``--as`` an administrator)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import create_engine, delete, insert, select, update

from tests.integration.cli_support import CurrentStderr, Ocop
from tests.support import BINH_MINH, HA_DONG, START, World, make_app
from workflow import accounts, logs, registry
from workflow.clock import local
from workflow.domain.facts import Actor
from workflow.errors import Forbidden, InvalidInput, NotFound, OcopError, Refused, Unauthenticated
from workflow.store import adminlog
from workflow.store.db import write_transaction
from workflow.store.schema import admin_log, users
from workflow.store.schema import sessions as session_rows


def admin(world: World) -> Actor:
    return world.actors["admin"]


def run(world: World, do: Any, *args: Any, **kwargs: Any) -> Any:
    """One service call in a write transaction at the world's time."""
    with write_transaction(world.app.db) as conn:
        return do(conn, world.clock.now(), *args, **kwargs)


def log(world: World) -> list[dict[str, Any]]:
    with world.app.db.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(admin_log)
                                                       .order_by(admin_log.c.seq))]


def accounts_state(world: World) -> tuple[list[Any], list[Any], list[Any]]:
    """Every row a change to accounts may write: users, sessions, the admin log."""
    with world.app.db.connect() as conn:
        return tuple(  # type: ignore[return-value]
            [tuple(r) for r in conn.execute(select(t).order_by(t.c.id))]
            for t in (users, session_rows, admin_log))


def refused(world: World, error: type[OcopError], code: str, do: Any, *args: Any,
            **kwargs: Any) -> OcopError:
    """The call is refused with ``error`` and ``code``, and nothing of accounts changed."""
    before = accounts_state(world)
    with pytest.raises(error) as caught:
        run(world, do, *args, **kwargs)
    assert caught.value.code == code
    assert accounts_state(world) == before
    return caught.value


def user_id(world: World, name: str) -> int:
    with world.app.db.connect() as conn:
        return int(conn.execute(select(users.c.id).where(users.c.name == name)).scalar_one())


def open_session(world: World, name: str) -> None:
    """A live console session of ``name`` (a row as sign-in writes it), lasting an hour."""
    uid, now = user_id(world, name), world.clock.now()
    with write_transaction(world.app.db) as conn:
        conn.execute(insert(session_rows).values(
            id=f"{name}-session", user_id=uid, created_at=now, last_seen_at=now,
            expires_at=now + timedelta(hours=1)))


def live_sessions(world: World) -> list[str]:
    """The ids of the sessions not ended."""
    with world.app.db.connect() as conn:
        return list(conn.execute(select(session_rows.c.id)
                                 .where(session_rows.c.ended_at.is_(None))).scalars())


def who_uses(world: World, token: str) -> str:
    """The actor's name the token authenticates now, or the refusal's code."""
    with world.app.db.connect() as conn:
        try:
            return registry.token_actor(conn, token, world.clock.now())[0].name
        except Unauthenticated as error:
            return error.code


def test_an_administrator_adds_an_account_whose_token_expires_and_the_log_says_who(
        world: World) -> None:
    """``add`` keeps who created the account, gives the token ``token_days`` of life, and
    logs the creation (never the token) under the administrator's name."""
    issued = run(world, accounts.add, admin(world), "thu", "commune_officer", None, "Bình Minh",
                 token_days=30)
    assert issued.expires_at == world.clock.now() + timedelta(days=30)
    assert who_uses(world, issued.token) == "thu"
    with world.app.db.connect() as conn:
        view = accounts.show_user(conn, world.clock.now(), admin(world), "thu")
    assert view["created_by"] == "admin" and view["state"] == "active"
    assert view["unit"]["key"] == BINH_MINH and view["unit"]["name"] == "Xã Bình Minh"
    [entry] = log(world)
    assert (entry["seq"], entry["actor"], entry["action"], entry["target"]) == (
        1, "admin", "add", "user:thu")
    assert json.loads(entry["data"])["unit"] == BINH_MINH
    assert issued.token not in entry["data"]


@pytest.mark.parametrize("who", ["city", "supervisor", "commune1", "producer1"])
def test_only_administrators_manage_accounts(world: World, who: str) -> None:
    """Every account action by another role is refused (403), naming the role and who may."""
    actor = world.actors[who]
    for do, args in [(accounts.add, ("x", "ip_officer")), (accounts.disable, ("ip",)),
                     (accounts.enable, ("ip",)), (accounts.set_scope, ("commune1", None, HA_DONG)),
                     (accounts.delete_user, ("ip",))]:
        kwargs = {"token_days": 1} if do is accounts.add else {}
        error = refused(world, Forbidden, "role_may_not_do", do, actor, *args, **kwargs)
        assert "may not manage accounts" in error.text("en")
    refused(world, Forbidden, "role_may_not_do", accounts.rotate_token, actor, "ip",
            token_days=1)
    with world.app.db.connect() as conn, pytest.raises(Forbidden):
        accounts.list_users(conn, world.clock.now(), actor)


def test_disable_stops_the_token_and_sessions_at_once_and_enable_lets_it_in_again(
        world: World) -> None:
    """Disabled: the token is refused as disabled (not as unknown) and the console session is
    ended; enabled: the same token works again. Both are logged."""
    token = world.tokens["commune1"]
    open_session(world, "commune1")
    open_session(world, "commune2")
    view = run(world, accounts.disable, admin(world), "commune1")
    assert view["state"] == "disabled" and view["disabled_at"] is not None
    assert who_uses(world, token) == "token_account_disabled"
    assert live_sessions(world) == ["commune2-session"]
    refused(world, Refused, "account_already_disabled", accounts.disable, admin(world),
            "commune1")
    assert run(world, accounts.enable, admin(world), "commune1")["state"] == "active"
    assert who_uses(world, token) == "commune1"
    refused(world, Refused, "account_not_disabled", accounts.enable, admin(world), "commune1")
    assert [e["action"] for e in log(world)] == ["disable", "enable"]


def test_an_administrator_may_not_disable_or_delete_themself(world: World) -> None:
    """Refused (403) with a sentence that another administrator must do it."""
    for do in (accounts.disable, accounts.delete_user):
        error = refused(world, Forbidden, "account_self", do, admin(world), "admin")
        assert "another administrator" in error.text("en")


def test_a_rotated_token_replaces_the_old_one_at_once(world: World) -> None:
    """The old token is unknown from that moment, the new one works, with a fresh expiry and
    no last use yet; the account's sessions end."""
    old = world.tokens["city"]
    assert who_uses(world, old) == "city"
    open_session(world, "city")
    with write_transaction(world.app.db) as conn:
        registry.touch_token(conn, old, world.clock.now())
    issued = run(world, accounts.rotate_token, admin(world), "city", token_days=7)
    assert who_uses(world, old) == "token_unknown"
    assert who_uses(world, issued.token) == "city"
    with world.app.db.connect() as conn:
        view = accounts.show_user(conn, world.clock.now(), admin(world), "city")
    assert view["last_used_at"] is None
    assert view["token_expires_at"] == local(world.clock.now() + timedelta(days=7)).isoformat()
    assert live_sessions(world) == []
    assert log(world)[-1]["action"] == "rotate_token"


def test_an_expired_token_is_refused_saying_when_it_expired(world: World) -> None:
    """At its expiry the token stops, with the day it expired; rotation revives the account."""
    issued = run(world, accounts.add, admin(world), "short", "ip_officer", token_days=2)
    world.clock.advance(days=2, seconds=-1)
    assert who_uses(world, issued.token) == "short"
    world.clock.advance(seconds=1)
    assert who_uses(world, issued.token) == "token_expired"
    with world.app.db.connect() as conn:
        with pytest.raises(Unauthenticated) as caught:
            registry.token_actor(conn, issued.token, world.clock.now())
        assert accounts.show_user(conn, world.clock.now(), admin(world),
                                  "short")["state"] == "expired"
    assert "expired on 2025-09-03" in caught.value.text("en")


def test_last_used_is_written_at_most_once_a_minute(world: World) -> None:
    """Due on first use and again only a minute after the last write."""
    token = world.tokens["ip"]

    def use() -> bool:
        with world.app.db.connect() as conn:
            due = registry.token_actor(conn, token, world.clock.now())[1]
        if due:
            with write_transaction(world.app.db) as conn:
                registry.touch_token(conn, token, world.clock.now())
        return due

    assert use() is True
    first = world.clock.now()
    world.clock.advance(seconds=59)
    assert use() is False
    world.clock.advance(seconds=1)
    assert use() is True
    with world.app.db.connect() as conn:
        seen = conn.execute(select(users.c.last_used_at).where(users.c.name == "ip")).scalar()
    assert seen == first + timedelta(minutes=1)


def test_set_scope_moves_an_officer_by_code_or_name_and_keeps_the_role(world: World) -> None:
    """A code or an unambiguous name; an ambiguous or unknown name, a non-officer, the wrong
    level and no unit are refused (422) and change nothing."""
    view = run(world, accounts.set_scope, admin(world), "commune1", None, HA_DONG)
    assert (view["role"], view["unit"]["key"]) == ("commune_officer", HA_DONG)
    with world.app.db.connect() as conn:
        assert registry.actor_named(conn, "commune1").unit == HA_DONG
    entry = json.loads(log(world)[-1]["data"])
    assert (entry["from"], entry["to"]) == (BINH_MINH, HA_DONG)
    assert run(world, accounts.set_scope, admin(world), "commune1", None,
               "Xã Bình Minh")["unit"]["key"] == BINH_MINH
    refused(world, InvalidInput, "unit_unknown", accounts.set_scope, admin(world), "commune1",
            None, "Nowhere at all")
    refused(world, InvalidInput, "rescope_officers_only", accounts.set_scope, admin(world),
            "city", None, HA_DONG)
    refused(world, InvalidInput, "rescope_wrong_level", accounts.set_scope, admin(world),
            "commune1", "Thanh Oai", None)
    refused(world, InvalidInput, "rescope_one_unit", accounts.set_scope, admin(world),
            "commune1", None, None)
    refused(world, NotFound, "user_not_found", accounts.set_scope, admin(world), "nobody",
            None, HA_DONG)


def test_delete_removes_the_account_and_its_sessions_and_the_log_keeps_who(
        world: World) -> None:
    """The token is unknown at once, the sessions are gone, the name is free again; the log
    entry keeps the role, the unit and who created it."""
    open_session(world, "commune1")
    run(world, accounts.delete_user, admin(world), "commune1")
    assert who_uses(world, world.tokens["commune1"]) == "token_unknown"
    users_left, sessions_left, _ = accounts_state(world)
    assert "commune1" not in {row[1] for row in users_left} and sessions_left == []
    data = json.loads(log(world)[-1]["data"])
    assert data["unit"] == BINH_MINH and data["role"] == "commune_officer"
    refused(world, NotFound, "user_not_found", accounts.delete_user, admin(world), "commune1")


def test_names_the_logs_use_are_reserved(world: World) -> None:
    """``cli`` (the operator) and ``system`` (the engine) cannot be account names."""
    for name in ("cli", "system"):
        refused(world, InvalidInput, "user_name_reserved", accounts.add, admin(world), name,
                "admin", token_days=1)


def test_the_admin_log_verifies_and_names_an_edited_entry(world: World) -> None:
    """Three entries verify; an UPDATE of entry 2's data is named as an edit of entry 2."""
    for name in ("a1", "a2", "a3"):
        run(world, accounts.add, admin(world), name, "ip_officer", token_days=1)
    with world.app.db.connect() as conn:
        assert adminlog.verify(conn) == adminlog.Verification(3, None)
    with world.app.db.begin() as conn:
        conn.execute(update(admin_log).where(admin_log.c.seq == 2)
                     .values(actor="someone else"))
        result = adminlog.verify(conn)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.why["code"]) == (2, "break_edited")
    assert "breaks at entry 2" in result.first_break.sentence("en")


@pytest.mark.parametrize(("tamper", "seq", "why"), [
    ("delete_middle", 2, "break_missing"),
    ("delete_first", 1, "break_missing"),
    ("renumber_after_delete", 2, "break_unlinked"),
    ("insert_forged", 3, "break_unlinked"),
])
def test_the_admin_log_names_a_deleted_or_inserted_entry(world: World, tamper: str, seq: int,
                                                          why: str) -> None:
    """A deleted entry leaves a gap; closing the gap, or slipping a well-hashed entry in as
    entry 2, breaks the link of the entry after it (the old entry 2, then the new 3)."""
    for name in ("a1", "a2", "a3"):
        run(world, accounts.add, admin(world), name, "ip_officer", token_days=1)
    with world.app.db.begin() as conn:
        if tamper.startswith("delete"):
            gone = 2 if tamper == "delete_middle" else 1
            conn.execute(delete(admin_log).where(admin_log.c.seq == gone))
        elif tamper == "renumber_after_delete":
            conn.execute(delete(admin_log).where(admin_log.c.seq == 2))
            conn.execute(update(admin_log).where(admin_log.c.seq == 3).values(seq=2))
        else:
            first = conn.execute(select(admin_log).where(admin_log.c.seq == 1)).one()
            conn.execute(update(admin_log).where(admin_log.c.seq >= 2)
                         .values(seq=admin_log.c.seq + 10))
            row = {"seq": 2, "at": world.clock.now(), "actor": "admin", "action": "add",
                   "target": "user:ghost", "data": "{}", "prev_hash": first.hash}
            conn.execute(insert(admin_log).values(**row, hash=adminlog.entry_hash(
                first.hash, row)))
            conn.execute(update(admin_log).where(admin_log.c.seq >= 12)
                         .values(seq=admin_log.c.seq - 9))
        result = adminlog.verify(conn)
    assert result.first_break is not None
    assert (result.first_break.seq, result.first_break.why["code"]) == (seq, why)


def test_a_retired_unit_is_refused_naming_its_successor_and_nothing_is_logged(
        world: World) -> None:
    """Cự Khê ended on 2025-06-30: the refusal names Bình Minh, and neither the account nor
    the log changes (the entry is written in the change's transaction)."""
    error = refused(world, InvalidInput, "unit_retired", accounts.set_scope, admin(world),
                    "commune2", None, "Cự Khê")
    assert BINH_MINH in error.text("en")


# --- the command line -------------------------------------------------------------------


@pytest.fixture
def ocop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         capsys: pytest.CaptureFixture[str]) -> Iterator[Ocop]:
    """``ocop`` in process on an SQLite file holding the world, at the world's time."""
    monkeypatch.setattr(logs, "sys", SimpleNamespace(stderr=CurrentStderr()))
    url = f"sqlite:///{tmp_path / 'ocop.db'}"
    app = make_app(url)
    World(app)
    app.close()
    for name, value in {"OCOP_DATABASE_URL": url, "OCOP_HOME": str(tmp_path), "OCOP_LANG": "en",
                        "OCOP_SIMULATION": "1", "OCOP_NOW": START.isoformat()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OCOP_BROKER_URL", raising=False)
    yield Ocop(capsys, url)


def test_users_commands_as_the_operator_manage_an_account_end_to_end(ocop: Ocop) -> None:
    """add (created by ``cli``), list, show, disable, enable, set-scope, rotate-token, delete
    --yes: each works and each is in the admin log, which ``audit verify`` reports."""
    token = ocop.ok("users", "add", "boss", "--role", "admin").out.strip()
    assert len(token) > 40
    shown = ocop.ok("users", "show", "boss", "--json").json()
    assert (shown["created_by"], shown["state"], shown["role"]) == ("cli", "active", "admin")
    assert {"unit", "token_expires_at", "last_used_at", "disabled_at", "created_at"} <= set(shown)
    names = [u["name"] for u in ocop.ok("users", "list", "--json").json()]
    assert "boss" in names and "commune1" in names
    listed = ocop.ok("users", "list").out
    assert any(line.startswith("boss ") and "Administrator" in line and "active" in line
               for line in listed.splitlines())
    assert ocop.ok("users", "disable", "commune1", "--as", "boss", "--json").json()[
        "state"] == "disabled"
    assert ocop.ok("users", "enable", "commune1", "--json").json()["state"] == "active"
    moved = ocop.ok("users", "set-scope", "commune1", "--commune", HA_DONG, "--json").json()
    assert moved["unit"]["key"] == HA_DONG
    new = ocop.ok("users", "rotate-token", "commune1").out.strip()
    assert len(new) > 40 and new != token
    assert "commune1" in ocop.ok("users", "delete", "commune1", "--yes").out
    report = ocop.ok("audit", "verify", "--json").json()
    assert report["ok"] and report["admin_log"]["ok"]
    # boss, then disable, enable, set-scope, rotate, delete (the world's users were made
    # before the log, by the registry)
    assert report["admin_log"]["entries"] == 6
    assert "admin log intact: 6 entries" in ocop.ok("audit", "verify").out


def test_users_commands_refuse_with_one_sentence_and_the_error_tables_exit_code(
        ocop: Ocop) -> None:
    """--as someone not an administrator: exit 4; an unknown user: 3; a bad unit and delete
    without --yes (nobody to confirm): 2. Nothing changes."""
    ocop.refused(4, "users", "disable", "ip", "--as", "city")
    ocop.refused(3, "users", "show", "nobody")
    ocop.refused(2, "users", "set-scope", "commune2", "--district", "Thanh Oai")
    assert "--yes" in ocop.refused(2, "users", "delete", "ip")
    ocop.refused(4, "users", "add", "x", "--role", "ip_officer", "--as", "supervisor")


def test_audit_verify_exits_1_naming_the_broken_admin_log_entry(ocop: Ocop) -> None:
    """An edited admin-log entry: exit 1, the sentence names the entry."""
    for name in ("a1", "a2", "a3"):
        ocop.ok("users", "add", name, "--role", "ip_officer")
    engine = create_engine(ocop.url)
    with engine.begin() as conn:
        conn.execute(update(admin_log).where(admin_log.c.seq == 3).values(target="user:x"))
    engine.dispose()
    done = ocop("audit", "verify", "--json")
    assert done.code == 1
    report = json.loads(done.out)
    assert not report["ok"] and report["admin_log"]["first_break"]["seq"] == 3
    assert "The admin log breaks at entry 3" in ocop("audit", "verify").err
