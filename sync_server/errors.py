"""The server's exceptions, each mapped to one HTTP status and a machine-readable code.

SyncError                   root: ``code``, ``status``, ``message``, optional ``field``
├── BadRequest              400 malformed input that validation did not catch
├── Unauthorized            401 missing, expired, revoked or unknown credentials
├── Forbidden               403 authenticated but the role may not do this
├── NotFound                404 absent, or another tenant's (never leak existence)
├── Conflict                409 a unique thing already exists / a reused one-time code
├── PayloadTooLarge         413 a batch or blob over the stated limit
├── Unprocessable           422 well-formed but refused (looser profile, bad hash …)
└── TooManyRequests         429 sign-in throttled; ``retry_after`` seconds
"""

from __future__ import annotations

import json
from typing import Any


class SyncError(Exception):
    status: int = 400
    code: str = "SYNC_ERROR"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        err: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            err["field"] = self.field
        err.update(self.extra)
        return {"error": err}


class BadRequest(SyncError):
    status = 400
    code = "BAD_REQUEST"


class Unauthorized(SyncError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(SyncError):
    status = 403
    code = "FORBIDDEN"


class NotFound(SyncError):
    status = 404
    code = "NOT_FOUND"


class Conflict(SyncError):
    status = 409
    code = "CONFLICT"


class PayloadTooLarge(SyncError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class Unprocessable(SyncError):
    status = 422
    code = "UNPROCESSABLE"


class TooManyRequests(SyncError):
    status = 429
    code = "TOO_MANY_REQUESTS"

    def __init__(self, message: str, *, retry_after: int, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


async def send_error(
    send: Any, error: SyncError, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """Answer ``error`` from a pure ASGI middleware, before FastAPI's handlers run: the
    same ``{"error": ...}`` body and status as everywhere else."""
    body = json.dumps(error.body(), ensure_ascii=False).encode()
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
