"""The composition root: settings, clock, database, relay and engine are wired here and only
here. The engine gets its after-commit hooks when it is built (the relay's nudge, this
process's transition tally, the caller's observers); nothing adds to them afterwards."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from threading import Lock

import structlog
from sqlalchemy import Engine

from workflow.clock import Clock, FixedClock, SystemClock, parse_iso
from workflow.config import Settings
from workflow.engine import Applied, Hook, WorkflowEngine
from workflow.errors import InvalidInput
from workflow.relay import Publish, Relay, celery_publisher
from workflow.simclock import FileClock
from workflow.store import seal
from workflow.store.db import make_engine
from workflow.store.queries import case_view

log = structlog.get_logger("ocop.bootstrap")


class Tally:
    """The transitions this process applied, by (trigger, from state, to state): an
    after-commit observer of every app (the API's ``/metrics`` reads it). Thread-safe."""

    def __init__(self) -> None:
        self._lock = Lock()
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def __call__(self, applied: Applied) -> None:
        if not applied.replayed:
            with self._lock:
                self._counts[applied.trigger, applied.from_state, applied.to_state] += 1

    def counts(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._counts)


@dataclass
class App:
    settings: Settings
    clock: Clock
    db: Engine
    engine: WorkflowEngine
    relay: Relay
    tally: Tally = field(default_factory=Tally)
    keys: seal.Keys = field(default_factory=seal.process_key)

    def close(self) -> None:
        self.relay.close_handoff()  # the nudges' publishes still queued: a second at most
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
              db: Engine | None = None, *, publish: Publish | None = None,
              observers: Sequence[Hook] = ()) -> App:
    """The wired app. ``publish`` hands outbox messages to the broker (the worker passes its
    own Celery app's); by default a publish-only Celery app when ``OCOP_BROKER_URL`` is set,
    else none (deliveries then wait for a worker's relay). ``observers`` run after every
    committed transition, after the relay's nudge."""
    settings = settings or Settings.from_env()
    clock = clock or clock_for(settings)
    db = db or make_engine(settings.database_url)
    keys = signing_keys(settings)
    seal.attach(db, keys)
    if publish is None and settings.broker_url:
        publish = celery_publisher(settings)
    relay = Relay(db, clock, settings, publish)
    tally = Tally()
    nudge: tuple[Hook, ...] = (relay.nudge,) if publish is not None else ()
    # An idempotent replay answers the first result, status link included (the caller who
    # applied the event may see the case).
    engine = WorkflowEngine(db, clock, settings,
                            view=partial(case_view, public_url=settings.public_url),
                            after_commit=(*nudge, tally, *observers),
                            outbox_lease=relay.lease_for_engine())
    return App(settings, clock, db, engine, relay, tally, keys)


def signing_keys(settings: Settings) -> seal.Keys:
    """The office's key (``OCOP_SIGNING_KEY``), made on first use with a warning to keep it;
    with no path configured, this process's in-memory key."""
    if settings.signing_key is None:
        return seal.process_key()
    keys, made = seal.load_or_create(Path(settings.signing_key))
    if made:
        log.info("signing_key_created", path=settings.signing_key,
                    public_key=keys.public_b64, fingerprint=keys.fingerprint,
                    advice="keep this file safe and apart from the database; publish the "
                           "public key (ocop keys show)")
    return keys
