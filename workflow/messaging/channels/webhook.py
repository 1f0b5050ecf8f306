"""Signed webhooks: a JSON POST, HMAC-SHA256 over the exact body with the producer's secret."""

from __future__ import annotations

import hashlib
import hmac
import json

import httpcore
import httpx

from workflow.messaging.channels.base import DeliveryError, Outgoing, PermanentFailure
from workflow.messaging.channels.targets import CheckedBackend

EVENT_HEADER = "X-OCOP-Event-Id"
SIGNATURE_HEADER = "X-OCOP-Signature"
TIMEOUT = httpx.Timeout(5.0, connect=2.0)
RETRYABLE = frozenset({408, 425, 429})


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str) -> bool:
    """What a receiver does: recompute the signature and compare in constant time."""
    return hmac.compare_digest(sign(secret, body), signature)


def body_of(message: Outgoing) -> bytes:
    document = {"event_id": message.message_id, "kind": message.kind,
                "case_code": message.case_code, "lang": message.lang,
                "subject": message.subject, "text": message.body, "data": message.payload}
    if message.payload.get("status_url"):
        document["status_url"] = message.payload["status_url"]  # the producer's status page
    return json.dumps(document, ensure_ascii=False, sort_keys=True,
                      separators=(",", ":")).encode()


class CheckedTransport(httpx.HTTPTransport):
    """httpx's transport whose connections go only to checked public addresses
    (``targets.CheckedBackend``). No proxy from the environment: through a proxy the address
    connected to would not be the one checked."""

    def __init__(self, allow_private: bool = False) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(), max_connections=100,
            max_keepalive_connections=20, keepalive_expiry=5.0,
            network_backend=CheckedBackend(allow_private))


class WebhookChannel:
    def __init__(self, client: httpx.Client | None = None, allow_private: bool = False) -> None:
        # Redirects are never followed: a signed event goes only where the producer said.
        self.client = client or httpx.Client(transport=CheckedTransport(allow_private),
                                             timeout=TIMEOUT, follow_redirects=False)

    def close(self, polite: bool = True) -> None:
        """Close the kept-alive connections (worker shutdown); a forked child just drops them."""
        if polite:
            self.client.close()

    def send(self, message: Outgoing) -> None:
        if not message.recipient or not message.secret:
            raise PermanentFailure("The webhook has no URL or no secret.")
        body = body_of(message)
        headers = {"Content-Type": "application/json; charset=utf-8",
                   EVENT_HEADER: message.message_id, SIGNATURE_HEADER: sign(message.secret, body),
                   "User-Agent": "ocop-workflow"}
        try:
            response = self.client.post(message.recipient, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise DeliveryError(f"webhook: {type(error).__name__}: {error}") from error
        status = response.status_code
        if 200 <= status < 300:
            return
        if 300 <= status < 400:
            raise PermanentFailure(f"webhook answered {status} (a redirect, not followed)")
        if status in RETRYABLE or status >= 500:
            raise DeliveryError(f"webhook answered {status}")
        raise PermanentFailure(f"webhook answered {status}")
