"""Request bodies have a size limit: a declared length over it is refused before reading,
and a streamed (chunked) body is cut off as soon as it passes it; 413 either way, whatever
the endpoint made of the cut-off body (a framework that reads it answers 400 otherwise).

Uploading a dossier document (``POST .../cases/{code}/documents``, API and console) is the one
exception: its limit is the document size limit (``OCOP_DOCUMENT_MAX_MB``, read from the app's
settings so there is one number to change) plus room for the form around the file; every other
route keeps the small limit."""

from __future__ import annotations

import re
from typing import Any

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.web.api.problems import BodyTooLarge, from_error, lang_of

UPLOADS = re.compile(r"^/(?:api/v1|console)/cases/[^/]+/documents$")
# The multipart framing and the form's other fields (kind, anti-forgery value) around the file.
UPLOAD_FRAMING = 64 * 1024


def upload_limit(scope: Scope) -> int | None:
    """The body limit of a document upload (``None``: not an upload route)."""
    if scope.get("method") != "POST" or not UPLOADS.match(scope.get("path", "")):
        return None
    app: Any = scope.get("app")
    settings = getattr(getattr(getattr(app, "state", None), "ocop", None), "settings", None)
    if settings is None:
        return None
    return int(settings.document_max_mb) * 1024 * 1024 + UPLOAD_FRAMING


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = max(self.max_bytes, upload_limit(scope) or 0)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send, limit)
            return
        seen, over, started = 0, False, False

        async def limited() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                over = True
                raise self._error(limit)
            return message

        async def sending(message: Message) -> None:
            nonlocal started
            if over and not started:  # the answer to a cut-off body: replaced by the 413
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited, sending)
        except Exception:
            if not over:
                raise
        if over and not started:
            await self._refuse(scope, receive, send, limit)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        await from_error(self._error(limit), scope["path"], lang_of(Headers(scope=scope)))(
            scope, receive, send)

    def _error(self, limit: int) -> BodyTooLarge:
        return BodyTooLarge("body_too_large", limit=limit)
