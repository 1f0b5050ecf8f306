"""The HTTP layer's own settings, read from the environment only in ``ApiConfig.from_env``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


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
