"""What a worker process needs, built once per process and lazily (never at import)."""

from __future__ import annotations

from typing import Any

from workflow.bootstrap import App, bootstrap
from workflow.config import Settings
from workflow.logs import configure
from workflow.relay import CeleryPublisher, Relay
from workflow.sweep import Sweeper


class Runtime:
    """The wired application of one worker process; rebuilt after a fork."""

    def __init__(self, settings: Settings, celery: Any) -> None:
        self.settings = settings
        self.celery = celery
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            configure()
            self._app = bootstrap(self.settings)
            # Publish through this worker's own Celery app, not a second one.
            self._app.relay = Relay(self._app.db, self._app.clock, self.settings,
                                    CeleryPublisher(lambda: self.celery))
            self._app.engine.after_commit[:] = [self._app.relay.nudge]
        return self._app

    @property
    def relay(self) -> Relay:
        relay = self.app.relay
        assert relay is not None
        return relay

    def sweeper(self) -> Sweeper:
        return Sweeper(self.app.engine, self.relay)

    def after_fork(self) -> None:
        """Drop the connections inherited from the parent without closing them under it."""
        if self._app is not None:
            self._app.db.dispose(close=False)
