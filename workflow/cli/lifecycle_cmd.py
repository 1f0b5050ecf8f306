"""``ocop lifecycle show``."""

from __future__ import annotations

import json

import click

import states
from workflow import diagram


@click.group()
def lifecycle() -> None:
    """The lifecycle of each rule version."""


@lifecycle.command("show")
@click.option("--rules", type=click.Choice(states.RULE_VERSIONS), default=None,
              help="The rule version; the newest when not given.")
@click.option("--format", "fmt", type=click.Choice(["mermaid", "json"]), default="mermaid",
              show_default=True)
def show(rules: str | None, fmt: str) -> None:
    """Print the state diagram (Mermaid) or the table (JSON)."""
    lc = states.lifecycle(rules or states.newest_version())
    if fmt == "json":
        click.echo(json.dumps(diagram.as_json(lc), ensure_ascii=False, indent=2))
    else:
        click.echo(diagram.mermaid(lc), nl=False)
