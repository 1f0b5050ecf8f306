"""The ``ocop`` command line. Each command group lives in its own module, imported only when
the command is run (:mod:`workflow.cli.lazy`): ``ocop --help`` lists them all from the table
below without importing any, and ``ocop cases show`` loads the case reader, not the web server,
the PDF signer or the spreadsheet reader."""

from __future__ import annotations

import sys

import click

from workflow.cli.base import Context, run_cli
from workflow.cli.lazy import Lazy, LazyGroup

COMMANDS = {
    "audit": Lazy("workflow.cli.audit_cmd:audit_group", "The hash-chained audit trail."),
    "campaign": Lazy("workflow.cli.campaign_cmd:campaign_group",
                     "Re-evaluation campaigns: plan a selection, run it, follow it (plan, run, "
                     "list, show, cancel)."),
    "cases": Lazy("workflow.cli.cases_cmd:cases", "Product applications and their lifecycle."),
    "certificates": Lazy("workflow.cli.certificates_cmd:certificates_group",
                         "Certificates as documents."),
    "councils": Lazy("workflow.cli.councils_cmd:councils_group",
                     "Scoring councils: a level, a unit, a year and its members (add, list, "
                     "show)."),
    "db": Lazy("workflow.cli.db_cmd:db", "Database schema."),
    "demo": Lazy("workflow.cli.demo_cmd:demo_cmd",
                 "Load the Hanoi demo into an empty database; write the demo users' tokens to "
                 "``$OCOP_HOME/demo-tokens.txt`` (name, role, scope, token) and print them."),
    "documents": Lazy("workflow.cli.documents_cmd:documents_group",
                      "The dossier's documents: upload, list, download, and the kinds each rule "
                      "version takes."),
    "import": Lazy("workflow.cli.import_cmd:import_group",
                   "Load the programme's history (certified products) from .xlsx or .csv."),
    "keys": Lazy("workflow.cli.keys_cmd:keys_group",
                 "The signing key of certificates, seals and checkpoints."),
    "lifecycle": Lazy("workflow.cli.lifecycle_cmd:lifecycle",
                      "The lifecycle of each rule version."),
    "outbox": Lazy("workflow.cli.outbox_cmd:outbox",
                   "Outgoing messages written with each transition."),
    "producers": Lazy("workflow.cli.people_cmd:producers",
                      "Producers: enterprises, cooperatives, cooperative groups, households."),
    "register": Lazy("workflow.cli.register_cmd:register_group",
                     "The programme register: certified products with their current "
                     "certificate."),
    "report": Lazy("workflow.cli.report_cmd:report_group",
                   "The programme's figures; without a subcommand, products counted ``--by`` "
                   "dimensions."),
    "run": Lazy("workflow.cli.run_cmd:run",
                "Start the engine on its configured database (SQLite by default)."),
    "serve": Lazy("workflow.cli.serve_cmd:serve",
                  "Serve the API (/api/v1, OpenAPI at /docs), the console (/console) and public "
                  "pages."),
    "sweep": Lazy("workflow.cli.worker_cmd:sweep",
                  "Fire every due deadline once (beat does this every minute), then relay the "
                  "outbox."),
    "targets": Lazy("workflow.cli.report_cmd:targets_group",
                    "The programme's yearly targets of new products (set, list)."),
    "units": Lazy("workflow.cli.units_cmd:units",
                  "Administrative units by code: provinces, districts (until 2025-06-30), "
                  "communes."),
    "users": Lazy("workflow.cli.people_cmd:users",
                  "Accounts of staff, producers and supervisors: add, list, show, disable, "
                  "enable, rotate-token, set-scope, delete (every change is in the admin log)."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS)
@click.option("-v", "--verbose", is_flag=True, help="also print the engine's log lines (stderr)")
@click.pass_context
def cli(ctx: click.Context, verbose: bool) -> None:
    """OCOP certification workflow engine."""
    ctx.obj = Context(verbose)
    ctx.call_on_close(ctx.obj.close)


def main() -> None:
    sys.exit(run_cli(cli))


__all__ = ["cli", "main"]
