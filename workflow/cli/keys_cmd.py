"""``ocop keys init|show``: the office's signing key, kept outside the database."""

from __future__ import annotations

from pathlib import Path

import click

from workflow.cli.base import emit
from workflow.config import Settings
from workflow.errors import InvalidInput
from workflow.i18n import from_env, text
from workflow.store import seal


@click.group("keys")
def keys_group() -> None:
    """The signing key of certificates, seals and checkpoints."""


def _path(given: str | None) -> Path:
    return Path(given or Settings.from_env().signing_key or "var/signing.key")


def _view(keys: seal.Keys) -> dict[str, str]:
    return {"path": keys.path or "", "public_key": keys.public_b64,
            "fingerprint": keys.fingerprint}


@keys_group.command("init")
@click.option("--path", "given", help="where to write it (default: OCOP_SIGNING_KEY, else "
                                      "$OCOP_HOME/signing.key)")
@click.option("--json", "as_json", is_flag=True)
def init(given: str | None, as_json: bool) -> None:
    """Make a new Ed25519 signing key (file mode 0600); never overwrites one."""
    path = _path(given)
    try:
        keys = seal.write_new(path)
    except FileExistsError:
        raise InvalidInput("signing_key_exists", path=str(path)) from None
    emit(_view(keys), as_json, lambda v: text("ui", "key_made", from_env(), **v))


@keys_group.command("show")
@click.option("--path", "given")
@click.option("--json", "as_json", is_flag=True)
def show(given: str | None, as_json: bool) -> None:
    """The public key and its fingerprint (publish them: anyone can then check a
    certificate's signature); makes the key first if there is none yet."""
    keys, _ = seal.load_or_create(_path(given))
    emit(_view(keys), as_json, lambda v: text("ui", "key_shown", from_env(), **v))
