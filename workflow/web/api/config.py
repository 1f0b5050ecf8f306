"""The HTTP layer's own settings, read from the environment only in ``ApiConfig.from_env``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import structlog

MAX_WORKERS = 4  # past this, on the machines the office runs, processes only queue on the DB


@dataclass(frozen=True)
class ApiConfig:
    max_body_bytes: int = 64 * 1024
    page_limit: int = 200
    secure_cookies: bool = False
    threads: int = 8
    # Console sessions: signed out after this long without a request, and this long after
    # sign-in in any case.
    session_idle_minutes: int = 30
    session_hours: int = 12
    # Sign-in throttling: this many failures per account name, and per client address, within
    # the window; counted in memory (one process) or in the store OCOP_RATELIMIT_URL names.
    signin_per_account: int = 5
    signin_per_address: int = 20
    signin_window_minutes: int = 15
    ratelimit_url: str = "memory://"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiConfig:
        env = os.environ if env is None else env
        base = cls()
        return cls(
            max_body_bytes=int(env.get("OCOP_API_MAX_BODY", base.max_body_bytes)),
            page_limit=int(env.get("OCOP_API_PAGE_LIMIT", base.page_limit)),
            secure_cookies=env.get("OCOP_SECURE_COOKIES", "") == "1",
            threads=int(env.get("OCOP_API_THREADS", base.threads)),
            session_idle_minutes=int(env.get("OCOP_SESSION_IDLE_MINUTES",
                                             base.session_idle_minutes)),
            session_hours=int(env.get("OCOP_SESSION_HOURS", base.session_hours)),
            signin_per_account=int(env.get("OCOP_SIGNIN_PER_ACCOUNT", base.signin_per_account)),
            signin_per_address=int(env.get("OCOP_SIGNIN_PER_ADDRESS", base.signin_per_address)),
            signin_window_minutes=int(env.get("OCOP_SIGNIN_WINDOW_MINUTES",
                                              base.signin_window_minutes)),
            ratelimit_url=env.get("OCOP_RATELIMIT_URL") or base.ratelimit_url,
        )


def default_workers(database_url: str, cores: int | None = None) -> int:
    """``ocop serve``'s uvicorn worker processes when neither ``--workers`` nor
    ``OCOP_API_WORKERS`` says: on PostgreSQL one per core, at most :data:`MAX_WORKERS`; on
    SQLite one, since its writers take turns on the file and more processes only wait."""
    if not database_url.startswith("postgresql"):
        return 1
    return max(1, min(MAX_WORKERS, cores or os.cpu_count() or 1))


def serve_workers(given: int | None, database_url: str, config: ApiConfig | None = None) -> int:
    """The worker count ``ocop serve`` runs: ``given`` (``--workers``, ``OCOP_API_WORKERS``) or
    :func:`default_workers`. Several workers counting sign-in failures in ``memory://`` each
    allow the full number of failures: said in a warning naming ``OCOP_RATELIMIT_URL``."""
    workers = given or default_workers(database_url)
    config = config or ApiConfig.from_env()
    if workers > 1 and config.ratelimit_url.startswith("memory://"):
        structlog.get_logger("ocop.serve").warning(
            "signin_failures_counted_per_worker", workers=workers, set="OCOP_RATELIMIT_URL")
    return workers
