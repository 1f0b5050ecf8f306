"""Request bodies have a size limit: a declared length over it is refused before reading,
and a streamed (chunked) body is cut off as soon as it passes it; 413 either way, whatever
the endpoint made of the cut-off body (a framework that reads it answers 400 otherwise)."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workflow.web.api.problems import BodyTooLarge, from_error, lang_of


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send)
            return
        seen, over, started = 0, False, False

        async def limited() -> Message:
            nonlocal seen, over
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                over = True
                raise self._error()
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
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        await from_error(self._error(), scope["path"], lang_of(Headers(scope=scope)))(
            scope, receive, send)

    def _error(self) -> BodyTooLarge:
        return BodyTooLarge("body_too_large", limit=self.max_bytes)
