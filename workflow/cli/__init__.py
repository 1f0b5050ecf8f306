"""The ``ocop`` command line. Each command group lives in its own module."""

from __future__ import annotations

import sys

from workflow.cli import (  # noqa: F401  (each module registers its commands on ``cli``)
    audit_cmd,
    campaign_cmd,
    cases_cmd,
    certificates_cmd,
    councils_cmd,
    db_cmd,
    demo_cmd,
    documents_cmd,
    import_cmd,
    keys_cmd,
    lifecycle_cmd,
    outbox_cmd,
    people_cmd,
    register_cmd,
    remap_cmd,
    report_cmd,
    run_cmd,
    serve_cmd,
    units_cmd,
    worker_cmd,
)
from workflow.cli.base import cli, run_cli


def main() -> None:
    sys.exit(run_cli(cli))


__all__ = ["cli", "main"]
