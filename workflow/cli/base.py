"""What every command shares: the lazily wired app, JSON input and output, error exits."""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from workflow.domain.text import BIDI_CONTROLS
from workflow.errors import InvalidInput, OcopError, render, status_of
from workflow.i18n import from_env

if TYPE_CHECKING:
    from workflow.bootstrap import App


class ChainBroken(OcopError):
    """``ocop audit verify`` found a chain, seal, checkpoint or admin-log entry that does not
    check (declared here, with the commands' shared code, so the error table knows it without
    importing the audit command)."""

    kind = "chain_broken"


def bootstrap() -> App:
    """The wired app (:func:`workflow.bootstrap.bootstrap`), imported only by a command that
    needs it: the composition root loads the engine, the database layer and the relay."""
    from workflow.bootstrap import bootstrap as wire
    return wire()


class Context:
    def __init__(self, verbose: bool = False) -> None:
        self._app: App | None = None
        # A command prints its result, not log lines: its logs are warnings and errors only,
        # unless ``-v``. A service (``ocop serve``) sets ``service`` and keeps every log line.
        self.verbose = verbose
        self.service = False

    @property
    def app(self) -> App:
        if self._app is None:
            from workflow.logs import configure  # structlog: not for ``--help``
            configure(level=logging.INFO if self.verbose or self.service else logging.WARNING)
            self._app = bootstrap()
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


pass_app = click.make_pass_decorator(Context)


def run_cli(group: click.Group, args: list[str] | None = None) -> int:
    """Run the CLI; an engine refusal prints its sentence on stderr and sets the exit code."""
    try:
        group.main(args=args, prog_name="ocop", standalone_mode=False)
    except OcopError as error:
        click.echo(printable(refusal(error, from_env(), "--json" in (args or sys.argv[1:]))),
                   err=True)
        return status_of(error)[0]
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return 2
    except click.Abort:
        return 1
    return 0


def refusal(error: OcopError, lang: str, as_json: bool) -> str:
    """The line a refusal prints on stderr: its sentence in ``lang`` after the catalogue's
    ``error: `` prefix, or with ``--json`` one JSON object carrying the code and parameters."""
    sentence = error.text(lang)
    if as_json:
        return json.dumps({"error": {"code": error.code, "kind": error.kind, "message": sentence,
                                     "params": error.params}}, ensure_ascii=False)
    return render("cli_error", {"sentence": sentence}, lang)


def parse_data(text: str | None) -> dict[str, Any]:
    """``--data`` takes JSON or ``@FILE``."""
    if not text:
        return {}
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidInput("data_file_unreadable", got=text[1:], why=error.strerror) \
                from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput("data_not_json", why=error.msg, line=error.lineno,
                           column=error.colno) from None
    if not isinstance(data, dict):
        raise InvalidInput("data_not_object")
    return data


def emit(value: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    if as_json or text is None:
        click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(printable(text(value)))


def printable(text: str) -> str:
    """``text`` safe for a terminal: control characters (an escape sequence's ESC, a carriage
    return that overwrites a line) and bidirectional overrides shown as ``\\u{…}`` instead of
    acting, so a name typed into a case cannot repaint an officer's screen."""
    return "".join(f"\\u{{{ord(ch):04x}}}" if _hidden(ch) else ch for ch in text)


def _hidden(ch: str) -> bool:
    if ch in "\n\t":
        return False
    category = unicodedata.category(ch)
    return category == "Cc" or (category == "Cf"
                                and unicodedata.bidirectional(ch) in BIDI_CONTROLS)

