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
    token_cache_seconds: float = 30.0
    threads: int = 8

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> ApiConfig:
        env = os.environ if env is None else env
        base = cls()
        return cls(
            max_body_bytes=int(env.get("OCOP_API_MAX_BODY", base.max_body_bytes)),
            page_limit=int(env.get("OCOP_API_PAGE_LIMIT", base.page_limit)),
            secure_cookies=env.get("OCOP_SECURE_COOKIES", "") == "1",
            threads=int(env.get("OCOP_API_THREADS", base.threads)),
            token_cache_seconds=float(env.get("OCOP_TOKEN_CACHE_SECONDS",
                                              base.token_cache_seconds)),
        )
