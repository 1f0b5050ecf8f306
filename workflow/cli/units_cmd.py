"""``ocop units load|list|show|find|unresolved|remap``: the administrative units of Vietnam."""

from __future__ import annotations

from workflow.cli.base import cli


@cli.group()
def units() -> None:
    """Administrative units by code: provinces, districts (until 2025-06-30), communes."""
