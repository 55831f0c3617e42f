"""A cap on every request body, enforced before anything reads it.

FastAPI parses a JSON body before dependencies run, so a router cannot refuse an oversized
one: without this a 9 GiB body to any endpoint would be read into memory and then
validated. Blob uploads (readings chunks, attachments) get the blob limit; every other
request the batch limit. A declared ``Content-Length`` over the limit is refused at once; a
chunked body is read here up to the limit (so at most that much is held) and then
handed on, or refused when it passes the limit.
"""

from __future__ import annotations

from typing import Any

from sync_server.errors import PayloadTooLarge, send_error
from sync_server.i18n import gettext as _

Scope = dict[str, Any]
Message = dict[str, Any]

BLOB_PREFIXES = ("/api/v1/sync/chunks/", "/api/v1/sync/attachments/")


class BodyLimit:
    """Pure ASGI middleware: 413 ``BODY_TOO_LARGE`` over the limit, nothing else changed."""

    def __init__(self, app: Any, *, default_limit: int, blob_limit: int) -> None:
        self.app = app
        self.default_limit = default_limit
        self.blob_limit = blob_limit

    def limit_for(self, scope: Scope) -> int:
        path = str(scope.get("path", ""))
        is_blob = scope.get("method") == "PUT" and path.startswith(BLOB_PREFIXES)
        return self.blob_limit if is_blob else self.default_limit

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope)
        declared = declared_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        if declared_length(scope) is not None:
            # The server (h11/httptools) never hands the app more than the declared length.
            await self.app(scope, receive, send)
            return
        # A streamed (chunked) body: read it here, up to the limit, before the app sees a
        # byte. Raising from inside the app's read would not do: FastAPI turns any error
        # while parsing into a 400, and a truncated body could parse and be stored.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message: Message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await _refuse(send, limit)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        buffered: Message | None = {
            "type": "http.request",
            "body": b"".join(chunks),
            "more_body": False,
        }

        async def replay() -> Message:
            nonlocal buffered
            if buffered is not None:
                message, buffered = buffered, None
                return message
            return dict(await receive())

        await self.app(scope, replay, send)


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Any, limit: int) -> None:
    error = PayloadTooLarge(
        _("the body is over the limit of {limit} bytes").format(limit=limit),
        code="BODY_TOO_LARGE",
        extra={"limit": limit},
    )
    await send_error(send, error, ((b"connection", b"close"),))
