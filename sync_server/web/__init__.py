"""The bureau's and enterprises' web pages (server-rendered, zh_CN first)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sync_server.web.pages import public as public_page
from sync_server.web.pages import router

STATIC_DIR = Path(__file__).resolve().parent / "static"


def mount(app: FastAPI) -> None:
    """Add the pages under ``/web`` and their static files under ``/static/web``."""
    app.include_router(router)
    app.include_router(public_page.router)  # /q/{token}: the public page (码上查)
    app.mount("/static/web", StaticFiles(directory=str(STATIC_DIR)), name="web-static")

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/web/", status_code=303)

    app.add_middleware(SecurityHeaders)


# Scripts and styles only from this server (the chart library is vendored); no framing
# (clickjacking of the sign-in and hazard forms).
_PAGE_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


class SecurityHeaders:
    """The pages' security headers, where a page has not set its own. A plain ASGI
    middleware that lets every other request through untouched: Starlette's
    ``BaseHTTPMiddleware`` streamed every API response through a task and a queue
    (~3 % of a worker's CPU in the province storm, docs/performance.md)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(("/web", "/static/web")):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                have = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in _PAGE_HEADERS if n not in have]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
