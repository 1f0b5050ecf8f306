"""The composition root: settings, clock, database and engine are wired here and only here."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from workflow.clock import Clock, FixedClock, SystemClock, parse_iso
from workflow.config import Settings
from workflow.db import make_engine
from workflow.engine import WorkflowEngine
from workflow.errors import InvalidInput
from workflow.queries import case_view
from workflow.relay import Relay, wire_relay
from workflow.simclock import FileClock


@dataclass
class App:
    settings: Settings
    clock: Clock
    db: Engine
    engine: WorkflowEngine
    relay: Relay | None = None

    def close(self) -> None:
        self.db.dispose()


def clock_for(settings: Settings) -> Clock:
    """``OCOP_NOW`` sets the clock only in simulation (``OCOP_SIMULATION=1``)."""
    if settings.now is None:
        return SystemClock()
    if not settings.simulation:
        raise InvalidInput("OCOP_NOW is honoured only when OCOP_SIMULATION=1 (simulation and "
                           "backfills); unset OCOP_NOW or set OCOP_SIMULATION=1.")
    if settings.now.startswith("@"):  # a clock file that several processes share
        return FileClock(Path(settings.now[1:]))
    try:
        return FixedClock(parse_iso(settings.now))
    except ValueError:
        raise InvalidInput(f"OCOP_NOW={settings.now!r} is not an ISO 8601 time such as "
                           "2025-03-10T09:00:00+07:00.") from None


def bootstrap(settings: Settings | None = None, clock: Clock | None = None,
              db: Engine | None = None) -> App:
    settings = settings or Settings.from_env()
    clock = clock or clock_for(settings)
    db = db or make_engine(settings.database_url)
    engine = WorkflowEngine(db, clock, settings, view=case_view)
    app = App(settings, clock, db, engine)
    app.relay = wire_relay(app)
    return app
