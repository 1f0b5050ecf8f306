"""Security headers on every response: a Content-Security-Policy without inline script or
style, no framing, no MIME sniffing and a Referrer-Policy.

The console's pages keep to the strict policy (their script and styles are files under
``/static``). Swagger UI (``/docs``) is FastAPI's page, loaded from a CDN with an inline
script, so it has a relaxed policy of its own. The producer's status page carries its secret
token in its address, so it sends no referrer at all.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
# FastAPI's Swagger UI: its bundle and stylesheet from jsDelivr, an inline start-up script,
# the FastAPI favicon.
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_CSP = (f"default-src 'self'; script-src 'self' 'unsafe-inline' {DOCS_CDN}; "
            f"style-src 'self' {DOCS_CDN}; img-src 'self' data: https://fastapi.tiangolo.com; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
DOCS_PATHS = ("/docs",)
SECRET_LINK_PATHS = ("/status/",)  # the address itself is the secret


def policy_for(path: str) -> str:
    """The Content-Security-Policy of a path."""
    if any(path == p or path.startswith(p + "/") for p in DOCS_PATHS):
        return DOCS_CSP
    return CSP


def referrer_for(path: str) -> str:
    return "no-referrer" if path.startswith(SECRET_LINK_PATHS) else "same-origin"


def headers_for(path: str) -> dict[str, str]:
    """The security headers of a response to ``path``."""
    return {"Content-Security-Policy": policy_for(path), "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": referrer_for(path)}


class SecurityHeaders:
    """ASGI middleware: the headers of :func:`headers_for` on every HTTP response (a header the
    endpoint set itself is kept)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = headers_for(scope.get("path", ""))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                for name, value in extra.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, sending)


__all__ = ["CSP", "DOCS_CSP", "SecurityHeaders", "headers_for"]
