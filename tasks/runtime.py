"""What a worker process needs, built once per process and lazily (never at import)."""

from __future__ import annotations

import structlog
from celery import Celery

from workflow.bootstrap import App, bootstrap
from workflow.config import Settings
from workflow.logs import configure
from workflow.relay import CeleryPublisher, Relay
from workflow.sweep import Sweeper


class Runtime:
    """The wired application of one worker process; rebuilt after a fork."""

    def __init__(self, settings: Settings, celery: Celery) -> None:
        self.settings = settings
        self.celery = celery
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            configure()
            # Publish through this worker's own Celery app, not a second one.
            self._app = bootstrap(self.settings, publish=CeleryPublisher(self._celery))
        return self._app

    def _celery(self) -> Celery:
        return self.celery

    @property
    def relay(self) -> Relay:
        return self.app.relay

    def sweeper(self) -> Sweeper:
        return Sweeper(self.app.engine, self.relay)

    def after_fork(self) -> None:
        """Drop the connections inherited from the parent without closing them under it:
        database pool and the channels' sockets (SMTP, webhooks) alike."""
        if self._app is not None:
            self._app.db.dispose(close=False)
            self._app.relay.close(polite=False)

    def warm(self) -> None:
        """Build the app, its channels and one database connection now, in a fresh pool
        process, rather than in its first task: that first delivery would otherwise wait
        ~1 s (measured) behind imports, templates and connecting. A database that is not
        there yet only postpones this to the first task."""
        try:
            _ = self.relay.channels  # built now
            with self.app.db.connect():
                pass
        except Exception as error:  # the first task will try again, and say what is wrong
            structlog.get_logger("ocop.worker").warning("warm_up_failed", error=str(error))

    def close(self) -> None:
        """Worker (process) shutdown: say QUIT to the SMTP server, close the pools."""
        if self._app is not None:
            self._app.relay.close()
            self._app.close()
            self._app = None
