"""The bureau's and enterprises' web pages (server-rendered, zh_CN first)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

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

    @app.middleware("http")
    async def security_headers(request, call_next):  # type: ignore[no-untyped-def]
        response = await call_next(request)
        if request.url.path.startswith(("/web", "/static/web")):
            # Scripts and styles only from this server (the chart library is vendored);
            # no framing (clickjacking of the sign-in and hazard forms).
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            )
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response
