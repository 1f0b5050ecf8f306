"""``ocop units remap``: producers and open cases from retired units to their successors."""

from __future__ import annotations

from workflow.cli.units_cmd import units  # noqa: F401  (remap registers on this group)
