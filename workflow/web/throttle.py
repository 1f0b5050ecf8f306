"""Sign-in throttling: failed console sign-ins are counted per account name and per client
address in a moving window (the ``limits`` package); once either count is full, sign-in is
refused for that account or address until the oldest failure leaves the window, even with the
right token. Only failures count.

The counts live in memory (``memory://``: one process) or in a shared store such as Redis
(``OCOP_RATELIMIT_URL=redis://127.0.0.1:6379/2``) so that every API process sees them. The
address is the connection's peer (``request.client.host``): ``X-Forwarded-For`` is not
trusted, since anyone can send it; behind a reverse proxy, run uvicorn with
``--proxy-headers --forwarded-allow-ips`` set to the proxy's address so the peer is the real
client. When the shared store cannot be reached, sign-in is refused (503) rather than left
unthrottled."""

from __future__ import annotations

import hashlib
import math
import time

from limits import RateLimitItemPerMinute
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from workflow.domain.facts import norm
from workflow.web.api.config import ApiConfig

STORE_TIMEOUT = 2.0  # seconds to wait for a shared store (Redis)


def account_key(name: str) -> str:
    """The account's counter key: its folded name, hashed (any text may be typed there)."""
    return hashlib.sha256(norm(name).casefold().encode()).hexdigest()[:32]


class SignInThrottle:
    def __init__(self, config: ApiConfig) -> None:
        # A store that does not answer fails within seconds (``limits.errors.StorageError``).
        storage = storage_from_string(config.ratelimit_url, wrap_exceptions=True,
                                      socket_timeout=STORE_TIMEOUT,
                                      socket_connect_timeout=STORE_TIMEOUT)
        self.limiter = MovingWindowRateLimiter(storage)
        window = config.signin_window_minutes
        self.per_account = RateLimitItemPerMinute(config.signin_per_account, window,
                                                  namespace="ocop-signin-account")
        self.per_address = RateLimitItemPerMinute(config.signin_per_address, window,
                                                  namespace="ocop-signin-address")

    def _counters(self, name: str, address: str) -> list[tuple[RateLimitItemPerMinute, str]]:
        found = [(self.per_address, address or "unknown")]
        if norm(name):
            found.append((self.per_account, account_key(name)))
        return found

    def wait(self, name: str, address: str) -> int:
        """Seconds until a sign-in for ``name`` from ``address`` may be tried; 0: now."""
        waits = [0]
        for item, key in self._counters(name, address):
            if not self.limiter.test(item, key):
                reset = self.limiter.get_window_stats(item, key).reset_time
                waits.append(max(1, math.ceil(reset - time.time())))
        return max(waits)

    def failed(self, name: str, address: str) -> None:
        """Count a failed sign-in against the account and the address."""
        for item, key in self._counters(name, address):
            self.limiter.hit(item, key)
