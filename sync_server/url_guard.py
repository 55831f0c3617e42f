"""Refuse a request whose path or query carries a control character, before any handler.

A NUL in a path segment or a filter reached PostgreSQL, which refuses it in text: a 500
on every endpoint that looks a string up. No id, filter or page number has a control
character, so the answer is a 422 naming the parameter, the same on SQLite and
PostgreSQL (docs/reliability.md, section 8)."""

from __future__ import annotations

import unicodedata
from typing import Any
from urllib.parse import parse_qsl

from sync_server.errors import Unprocessable, send_error
from sync_server.i18n import gettext as _

Scope = dict[str, Any]


def _bad(text: str) -> bool:
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def offending_field(scope: Scope) -> str | None:
    """The query parameter (or ``path``) that has a control character, or None."""
    if _bad(str(scope.get("path", ""))):
        return "path"
    query = bytes(scope.get("query_string", b"")).decode("utf-8", "replace")
    for key, value in parse_qsl(query, keep_blank_values=True):
        if _bad(key) or _bad(value):
            return key if not _bad(key) else "query"
    return None


class ControlCharacters:
    """Pure ASGI middleware: 422 ``CONTROL_CHARACTER`` naming the field, else pass on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        field = offending_field(scope) if scope["type"] == "http" else None
        if field is None:
            await self.app(scope, receive, send)
            return
        error = Unprocessable(
            _("control characters are not allowed"), code="CONTROL_CHARACTER", field=field
        )
        await send_error(send, error)
