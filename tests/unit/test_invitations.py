"""Invitations as a service and on the command line: who may invite which producer, the link
(only its secret's hash kept), the admin log, one use only, expiry, replacement by a new link,
the password rules; ``ocop producers invite`` prints the link and refuses bad input with one
sentence and no change."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from tests.integration.cli_support import CurrentStderr, Ocop
from tests.support import START, World, make_app
from workflow import invitations, logs, registry
from workflow.accounts import OPERATOR
from workflow.errors import Forbidden, InvalidInput, NotFound, OcopError
from workflow.store import adminlog
from workflow.store.db import write_transaction
from workflow.store.schema import admin_log, users
from workflow.store.schema import invitations as invitation_rows

PUBLIC = "https://ocop.hanoi.example.vn"


def invite(world: World, who: str, producer: int | str, account: str,
           days: int | None = None) -> invitations.Invitation:
    actor = OPERATOR if who == "cli" else world.actors[who]
    with write_transaction(world.app.db) as conn:
        return invitations.invite(conn, world.clock.now(), actor, producer, account, days,
                                  public_url=PUBLIC + "/")


def secret_of(made: invitations.Invitation) -> str:
    return urlsplit(made.link).path.rsplit("/", 1)[1]


def accept(world: World, secret: str, password: str = "tương-bần-2025",
           repeat: str | None = None) -> tuple[int, str]:
    with write_transaction(world.app.db) as conn:
        return invitations.accept(conn, world.clock.now(), secret, password,
                                  password if repeat is None else repeat)


def counts(world: World) -> tuple[int, int, int]:
    """Users, admin-log entries and used invitations: what a refusal must leave alone."""
    with world.app.db.connect() as conn:
        return (conn.execute(select(func.count()).select_from(users)).scalar_one(),
                conn.execute(select(func.count()).select_from(admin_log)).scalar_one(),
                conn.execute(select(func.count()).select_from(invitation_rows).where(
                    invitation_rows.c.used_at.is_not(None))).scalar_one())


def refused(world: World, kind: type[OcopError], code: str, fn: object, *args: object
            ) -> OcopError:
    before = counts(world)
    with pytest.raises(kind) as caught:
        fn(*args)  # type: ignore[operator]
    assert caught.value.code == code, caught.value
    assert counts(world) == before
    return caught.value


def test_the_link_keeps_only_the_secrets_hash_and_is_logged_without_it(world: World) -> None:
    """``{public_url}/console/invite/{secret}``, 43 random characters; the row holds the
    SHA-256, the admin log names the inviter, the account and the producer, never the secret."""
    made = invite(world, "commune1", world.p1, "htx-tuong")
    assert made.link.startswith(f"{PUBLIC}/console/invite/")
    secret = secret_of(made)
    assert len(secret) >= 43 and made.expires_at == world.clock.now() + timedelta(days=7)
    with world.app.db.connect() as conn:
        row = conn.execute(select(invitation_rows)).one()
        log = conn.execute(select(admin_log)).all()
    assert row.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(tuple(row))
    assert [(e.actor, e.action, e.target) for e in log] == [("commune1", "invite",
                                                             "user:htx-tuong")]
    assert secret not in log[0].data and f'"producer_id":{world.p1}' in log[0].data


def test_accepting_makes_a_producer_account_with_a_hashed_password_once(world: World) -> None:
    """The user is a producer of the invited producer, made by the inviter, its password an
    argon2id hash that checks; the invitation is used; a second use is refused (410) and
    changes nothing; both steps are in the admin log, whose chain holds."""
    secret = secret_of(invite(world, "city", "HTX Tương Cự Đà", "htx-tuong"))
    user_id, name = accept(world, secret)
    with world.app.db.connect() as conn:
        user = conn.execute(select(users).where(users.c.id == user_id)).one()
        used = conn.execute(select(invitation_rows)).one()
        actor = registry.actor_named(conn, name)
        checked = adminlog.verify(conn)
    assert (user.name, user.role, user.producer_id, user.created_by) == (
        "htx-tuong", "producer", world.p1, "city")
    assert user.password_hash.startswith("$argon2id$") and user.token_expires_at is None
    assert registry.password_matches(user.password_hash, "tương-bần-2025")
    assert not registry.password_matches(user.password_hash, "tương-bần-2026")
    assert (used.used_at, used.user_id) == (world.clock.now(), user_id)
    assert actor.producer_id == world.p1 and checked.first_break is None
    again = refused(world, invitations.InvitationGone, "invitation_used", accept, world, secret)
    assert "htx-tuong" in again.text("en")


def test_an_expired_or_unknown_link_is_refused_and_changes_nothing(world: World) -> None:
    secret = secret_of(invite(world, "admin", world.p2, "lua-van-phuc", days=2))
    world.clock.advance(days=2)
    refused(world, invitations.InvitationGone, "invitation_expired", accept, world, secret)
    refused(world, NotFound, "invitation_unknown", accept, world, secret[:-1] + "x")


@pytest.mark.parametrize(("password", "repeat", "code"), [
    ("short", "short", "password_too_short"),
    ("  123456789 ", "  123456789 ", "password_too_short"),  # 9 once trimmed
    ("HTX-Tuong", "HTX-Tuong", "password_too_short"),
    ("htx-tuong-", "htx-tuong-", "password_is_name"),
    ("x" * 201, "x" * 201, "password_too_long"),
    ("correct horse", "correct house", "password_mismatch"),
])
def test_password_rules(world: World, password: str, repeat: str, code: str) -> None:
    """At least ten characters (composed and trimmed), at most 200, not the account name in
    any case, the same twice; refused, the link still works."""
    secret = secret_of(invite(world, "admin", world.p1, "HTX-Tuong-"))
    refused(world, InvalidInput, code, accept, world, secret, password, repeat)
    assert accept(world, secret, "correct horse battery")[1] == "HTX-Tuong-"


@pytest.mark.parametrize(("who", "code"), [
    ("commune2", "producer_out_of_scope"),  # producer1 is in Bình Minh, commune2 in Hà Đông
    ("district1", "role_may_not_do"),  # district officers: not among the inviters
    ("producer1", "role_may_not_do"),
    ("ip", "role_may_not_do"),
    ("supervisor", "role_may_not_do"),
])
def test_who_may_not_invite(world: World, who: str, code: str) -> None:
    refused(world, Forbidden, code, invite, world, who, world.p1, "htx-tuong")


def test_the_account_name_must_be_new_and_the_days_in_range(world: World) -> None:
    refused(world, InvalidInput, "user_exists", invite, world, "admin", world.p1, "producer1")
    refused(world, InvalidInput, "user_name_reserved", invite, world, "admin", world.p1, "cli")
    refused(world, InvalidInput, "invitation_days_invalid", invite, world, "admin", world.p1,
            "htx-tuong", 0)
    refused(world, InvalidInput, "invitation_days_invalid", invite, world, "admin", world.p1,
            "htx-tuong", 91)
    refused(world, NotFound, "producer_not_found", invite, world, "admin", 999, "htx-tuong")
    refused(world, NotFound, "producer_name_unknown", invite, world, "admin", "HTX Khác",
            "htx-tuong")


def test_a_new_link_replaces_the_open_one_and_another_producer_may_not_take_the_name(
        world: World) -> None:
    first = secret_of(invite(world, "admin", world.p1, "htx-tuong"))
    second = secret_of(invite(world, "commune1", world.p1, "htx-tuong"))
    refused(world, InvalidInput, "invitation_name_pending", invite, world, "admin", world.p2,
            "htx-tuong")
    refused(world, invitations.InvitationGone, "invitation_expired", accept, world, first)
    assert accept(world, second)[1] == "htx-tuong"


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
                        "OCOP_SIMULATION": "1", "OCOP_NOW": START.isoformat(),
                        "OCOP_PUBLIC_URL": PUBLIC, "OCOP_INVITATION_DAYS": "3"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OCOP_BROKER_URL", raising=False)
    yield Ocop(capsys, url)


def test_ocop_producers_invite_prints_the_link(ocop: Ocop) -> None:
    """The link alone on stdout; ``--json`` with the account, producer and expiry
    (OCOP_INVITATION_DAYS); ``--as`` an officer of the producer's commune."""
    link = ocop.ok("producers", "invite", "1", "--account", "htx-tuong").out.strip()
    assert link.startswith(f"{PUBLIC}/console/invite/") and "\n" not in link
    made = ocop.ok("producers", "invite", "HTX Tương Cự Đà", "--account", "htx-tuong-2",
                   "--as", "commune1", "--days", "5", "--json").json()
    assert (made["account"], made["producer"]) == ("htx-tuong-2", 1)
    assert made["expires_at"].startswith("2025-09-06T09:00")
    default = ocop.ok("producers", "invite", "2", "--account", "lua", "--json").json()
    assert default["expires_at"].startswith("2025-09-04T09:00")


@pytest.mark.parametrize(("args", "exit_code"), [
    (("producers", "invite", "1", "--account", "producer1"), 2),
    (("producers", "invite", "1", "--account", "x", "--days", "0"), 2),
    (("producers", "invite", "404", "--account", "x"), 3),
    (("producers", "invite", "1", "--account", "x", "--as", "commune2"), 4),
    (("producers", "invite", "1", "--account", "x", "--as", "nobody"), 3),
])
def test_ocop_producers_invite_refuses_with_one_sentence(ocop: Ocop, args: tuple[str, ...],
                                                         exit_code: int) -> None:
    ocop.refused(exit_code, *args)
