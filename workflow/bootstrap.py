"""The composition root: settings, clock, database and engine are wired here and only here."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
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
        raise InvalidInput("now_needs_simulation")
    if settings.now.startswith("@"):  # a clock file that several processes share
        return FileClock(Path(settings.now[1:]))
    try:
        return FixedClock(parse_iso(settings.now))
    except ValueError:
        raise InvalidInput("now_invalid", got=settings.now) from None


def bootstrap(settings: Settings | None = None, clock: Clock | None = None,
              db: Engine | None = None) -> App:
    settings = settings or Settings.from_env()
    clock = clock or clock_for(settings)
    db = db or make_engine(settings.database_url)
    # An idempotent replay answers the first result, status link included (the caller who
    # applied the event may see the case).
    engine = WorkflowEngine(db, clock, settings,
                            view=partial(case_view, public_url=settings.public_url))
    app = App(settings, clock, db, engine)
    app.relay = wire_relay(app)
    return app
