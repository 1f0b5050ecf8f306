"""A click group whose commands are imported only when one is run.

Every command module pulls in its own part of the engine (the database layer, the relay, PDF
signing, spreadsheets, the web server…), which together take about a second to import. The
group keeps, beside each command's ``"module:attribute"``, the one line ``--help`` shows for it,
so listing the commands imports none of them and running one imports only its module (click's
documented "lazily loading subcommands" pattern). ``tests/unit/test_cli_startup.py`` checks
that each entry still names its command and repeats its help line.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from gettext import gettext as _
from typing import Any, NamedTuple

import click


class Lazy(NamedTuple):
    """Where a command lives (``"package.module:attribute"``) and its line in ``--help``."""

    target: str
    help: str

    def load(self) -> click.Command:
        module, _, attribute = self.target.partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.target} is not a click command")
        return command


class LazyGroup(click.Group):
    """A group with commands of its own plus ``lazy`` ones, imported on first use."""

    def __init__(self, *args: Any, lazy: Mapping[str, Lazy] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, Lazy] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = self.lazy.get(cmd_name)
        if entry is not None and cmd_name not in self.commands:
            self.add_command(entry.load(), cmd_name)
        return super().get_command(ctx, cmd_name)

    def resolve_command(self, ctx: click.Context, args: list[str]
                        ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as error:  # suggest among the lazy ones too
            raise click.exceptions.NoSuchCommand(
                error.command_name, possibilities=self.list_commands(ctx), ctx=ctx) from None

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their help lines, as click writes them, without importing any."""
        shown = [(name, command) for name in self.list_commands(ctx)
                 if (command := self._listed(ctx, name)) is not None and not command.hidden]
        if not shown:
            return
        limit = formatter.width - 6 - max(len(name) for name, _ in shown)
        with formatter.section(_("Commands")):
            formatter.write_dl([(name, command.get_short_help_str(limit))
                                for name, command in shown])

    def _listed(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command as ``--help`` lists it: a lazy one not yet imported stands in as a
        command with only its help line."""
        if name in self.lazy and name not in self.commands:
            return click.Command(name, help=self.lazy[name].help)
        return super().get_command(ctx, name)
