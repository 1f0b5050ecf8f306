"""Issue 14: ``ocop`` imports only what the command it runs needs.

``ocop --help`` lists every command from the table in :mod:`workflow.cli` without importing a
command module, and ``ocop cases show`` loads the database and the case reader, not the web
server, the broker client, the PDF signer, the spreadsheet or chart libraries. Each is checked
in a fresh interpreter, by the modules it holds afterwards (how long it takes is measured by
``bench/cli.py``, not here). The table itself is checked against the commands it names, so
that it cannot drift from them."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.support import START, World, make_app
from workflow.cli import COMMANDS, cli
from workflow.cli.base import run_cli
from workflow.cli.lazy import Lazy, LazyGroup

ROOT = Path(__file__).resolve().parents[2]
# Libraries no read command needs: the web stack, the broker client, outgoing HTTP and
# templates, PDF signing, spreadsheets and charts, account hashing and e-mail checks.
NOT_FOR_READING = ("fastapi", "starlette", "uvicorn", "celery", "kombu", "httpx", "httpcore",
                   "jinja2", "reportlab", "pyhanko", "openpyxl", "matplotlib", "argon2",
                   "email_validator")
# ``--help`` needs none of these either: no database, no logging set-up, no validation models.
NOT_FOR_HELP = (*NOT_FOR_READING, "sqlalchemy", "structlog", "pydantic", "holidays",
                "cryptography")
PROBE = """
import json, sys
from workflow.cli import cli
from workflow.cli.base import run_cli
status = run_cli(cli, sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted(sys.modules)}))
"""


def run_fresh(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str, set[str]]:
    """``ocop ARGS`` in a new interpreter: its exit status, what it printed before the probe's
    last line, and the modules it had imported by the end."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          cwd=ROOT, env={**clean, **(env or {})}, check=True, timeout=60)
    *printed, last = done.stdout.splitlines()
    probe = json.loads(last)
    return probe["status"], "\n".join(printed), set(probe["modules"])


def loaded(modules: set[str], packages: tuple[str, ...]) -> list[str]:
    return sorted({m.split(".")[0] for m in modules} & set(packages))


def command_modules(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith("workflow.cli.") and m.endswith("_cmd"))


def lazy_groups() -> list[tuple[str, LazyGroup]]:
    """Every lazy group of the command line, by its path (``ocop``, ``ocop units``, …)."""
    found: list[tuple[str, LazyGroup]] = []
    todo: list[tuple[str, click.Group, click.Context]] = [
        ("ocop", cli, click.Context(cli, info_name="ocop"))]
    while todo:
        path, group, ctx = todo.pop()
        if isinstance(group, LazyGroup):
            found.append((path, group))
        for name in group.list_commands(ctx):
            sub = group.get_command(ctx, name)
            if isinstance(sub, click.Group):
                todo.append((f"{path} {name}", sub, click.Context(sub, info_name=name,
                                                                  parent=ctx)))
    return found


def test_help_lists_every_command_without_importing_one() -> None:
    """``ocop --help`` prints every command of the table with its line, and imports no command
    module, no database layer and no logging set-up."""
    status, printed, modules = run_fresh(["--help"])
    assert status == 0
    listed = [line.split()[0] for line in printed.split("Commands:\n")[1].splitlines()]
    assert listed == sorted(COMMANDS)
    assert "  cases         Product applications and their lifecycle." in printed
    assert command_modules(modules) == []
    assert loaded(modules, NOT_FOR_HELP) == []


def test_cases_show_imports_only_the_read_path(tmp_path: Path) -> None:
    """``ocop cases show CODE`` on an SQLite file prints the case, having imported its own
    command module and none of the libraries a read does not need."""
    url = f"sqlite:///{tmp_path / 'ocop.db'}"
    app = make_app(url)
    code = World(app).register()
    app.close()
    status, printed, modules = run_fresh(["cases", "show", code], {
        "OCOP_DATABASE_URL": url, "OCOP_HOME": str(tmp_path), "OCOP_SIMULATION": "1",
        "OCOP_NOW": START.isoformat()})
    assert status == 0
    assert printed.startswith(f"{code}  ") and "  state draft  version 1" in printed
    assert command_modules(modules) == ["workflow.cli.cases_cmd"]
    assert loaded(modules, NOT_FOR_READING) == []


@pytest.mark.parametrize(("path", "group"), lazy_groups(), ids=lambda v: str(v))
def test_each_table_entry_is_the_command_it_names(path: str, group: LazyGroup) -> None:
    """Each lazy entry imports a visible click command of that name, whose help line is the
    table's at every width ``--help`` may use."""
    assert group.lazy, path
    for name, entry in group.lazy.items():
        command = entry.load()
        assert command.name == name and not command.hidden, (path, name, entry.target)
        stand_in = click.Command(name, help=entry.help)
        for width in (20, 45, 60, 74, 200):
            assert stand_in.get_short_help_str(width) == command.get_short_help_str(width), \
                (path, name, width)


def test_every_command_module_is_reached_from_the_table() -> None:
    """Every click command a ``*_cmd`` module defines is part of the tree ``ocop`` resolves, so a
    new command group cannot be left out of the table."""
    reached: set[int] = set()
    todo: list[tuple[click.Command, click.Context]] = [(cli, click.Context(cli, info_name="ocop"))]
    while todo:
        command, ctx = todo.pop()
        reached.add(id(command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                assert sub is not None, name
                todo.append((sub, click.Context(sub, info_name=name, parent=ctx)))
    defined = {
        f"{path.stem}.{attr}": value
        for path in sorted((ROOT / "workflow" / "cli").glob("*_cmd.py"))
        for attr, value in vars(importlib.import_module(f"workflow.cli.{path.stem}")).items()
        if isinstance(value, click.Command)}
    assert defined, "no command module found"
    assert sorted(name for name, value in defined.items() if id(value) not in reached) == []


def test_an_unknown_command_still_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    """A mistyped command, at the top or in a group, is refused with exit status 2 and the
    nearest command names, lazy ones included."""
    assert run_cli(cli, ["case", "show", "X"]) == 2
    assert "No such command 'case'. Did you mean 'cases'?" in capsys.readouterr().err
    assert run_cli(cli, ["units", "remapp"]) == 2
    assert "No such command 'remapp'. Did you mean 'remap'?" in capsys.readouterr().err


def test_an_entry_that_is_not_a_command_is_refused() -> None:
    """A table entry naming anything but a click command fails loudly when loaded."""
    with pytest.raises(TypeError, match="not a click command"):
        Lazy("workflow.cli:COMMANDS", "").load()
