"""structlog: key–value events, JSON when not on a terminal, pretty on one."""

from __future__ import annotations

import logging
import sys

import structlog


class _StderrLogger:
    """Writes each event to whatever ``sys.stderr`` is when it is logged (not when configured),
    so redirected or replaced streams (tests, daemons) never hold a closed file."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


def configure(json: bool | None = None, level: int = logging.INFO) -> None:
    json = not sys.stderr.isatty() if json is None else json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=lambda *_: _StderrLogger(),
        cache_logger_on_first_use=True,
    )
