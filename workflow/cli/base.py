"""What every command shares: the lazily wired app, JSON input and output, error exits."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from workflow.bootstrap import App, bootstrap
from workflow.errors import InvalidInput, OcopError, status_of
from workflow.logs import configure

F = TypeVar("F", bound=Callable[..., Any])


class Context:
    def __init__(self) -> None:
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            configure()
            self._app = bootstrap()
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """OCOP certification workflow engine."""
    ctx.obj = Context()
    ctx.call_on_close(ctx.obj.close)


pass_app = click.make_pass_decorator(Context)


def run_cli(group: click.Group, args: list[str] | None = None) -> int:
    """Run the CLI; an engine refusal prints its sentence on stderr and sets the exit code."""
    try:
        group.main(args=args, prog_name="ocop", standalone_mode=False)
    except OcopError as error:
        click.echo(f"error: {error.message}", err=True)
        return status_of(error)[0]
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.ClickException as error:
        error.show()
        return 2
    except click.Abort:
        return 1
    return 0


def parse_data(text: str | None) -> dict[str, Any]:
    """``--data`` takes JSON or ``@FILE``."""
    if not text:
        return {}
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as error:
            raise InvalidInput(f"Cannot read the data file {text[1:]!r}: {error.strerror}.") \
                from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InvalidInput(f"--data is not valid JSON ({error.msg} at line {error.lineno} "
                           f"column {error.colno}).") from None
    if not isinstance(data, dict):
        raise InvalidInput("--data must be a JSON object such as {\"sheets\": [...]}.")
    return data


def emit(value: Any, as_json: bool, text: Callable[[Any], str] | None = None) -> None:
    if as_json or text is None:
        click.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
    else:
        click.echo(text(value))


def write_out(line: str) -> None:
    sys.stdout.write(line + "\n")
