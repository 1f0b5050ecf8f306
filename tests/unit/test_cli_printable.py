"""Issue 10: ``ocop cases list`` printed raw terminal escapes from a product name. Text output
now shows control characters and bidi overrides as visible ``\\u{…}`` escapes."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import update

from tests.support import START, World, make_app
from workflow.cli import cli
from workflow.cli.base import printable, run_cli
from workflow.store.schema import cases


def test_control_and_bidi_characters_are_shown_not_obeyed() -> None:
    assert printable("a\x1b[2Jb\u202ec\rd") == "a\\u{001b}[2Jb\\u{202e}c\\u{000d}d"
    assert printable("Tương Cự Đà\n\tdòng hai") == "Tương Cự Đà\n\tdòng hai"


def test_cases_list_does_not_repaint_the_terminal(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'ocop.db'}"
    app = make_app(url)
    code = World(app).register()
    with app.db.begin() as conn:  # an older row, or a database writer: refused at the door now
        conn.execute(update(cases).where(cases.c.code == code).values(
            product="\x1b[2J\x1b[HTương\u202e giả"))
    app.close()
    for name, value in {"OCOP_DATABASE_URL": url, "OCOP_HOME": str(tmp_path),
                        "OCOP_SIMULATION": "1", "OCOP_NOW": START.isoformat()}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OCOP_BROKER_URL", raising=False)
    assert run_cli(cli, ["cases", "list"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "\\u{001b}[2J" in out and "Tương\\u{202e} giả" in out


@pytest.mark.parametrize(("name", "error"), [
    ("HTX\x1b[2J", "text_has_control"), ("HTX \u202eabc", "text_has_control"),
    ("\u200b\u200b", "text_invisible")])
def test_producer_and_product_names_with_control_or_invisible_characters_are_refused(
        world: World, name: str, error: str) -> None:
    from workflow import registry
    from workflow.errors import InvalidInput
    from workflow.store.db import write_transaction

    with write_transaction(world.app.db) as conn, pytest.raises(InvalidInput) as caught:
        registry.add_producer(conn, world.clock.now(), name, "household", None, "10126")
    assert caught.value.code == error and caught.value.text("vi").endswith(".")
    with pytest.raises(InvalidInput) as product:
        world.register(product=name)
    assert product.value.code == error


@pytest.mark.parametrize("email", ["x@example.vn\r\nBcc: y@z.com", "bad@", "no-at-sign"])
def test_an_e_mail_address_that_is_not_one_is_refused(world: World, email: str) -> None:
    """Issue 10: a CRLF address was accepted and its messages retried forever."""
    from workflow import registry
    from workflow.errors import InvalidInput
    from workflow.store.db import write_transaction

    with write_transaction(world.app.db) as conn, pytest.raises(InvalidInput) as caught:
        registry.add_producer(conn, world.clock.now(), "HTX Thử", "household", None, "10126",
                              email)
    assert caught.value.code == "email_invalid"
