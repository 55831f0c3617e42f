"""The FastAPI application factory."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync_server.body_limit import BodyLimit
from sync_server.errors import SyncError, TooManyRequests, Unauthorized
from sync_server.i18n import gettext as _
from sync_server.routers import ALL_ROUTERS, people_access
from sync_server.security import Passwords
from sync_server.services import server_identity
from sync_server.settings import Settings
from sync_server.storage import make_engine, migrate
from sync_server.url_guard import ControlCharacters
from sync_server.web import mount as mount_web

API_DESCRIPTION = """\
The bureau's sync server for confined-space permits (有限空间作业).

Tablets enroll with a one-time code and push signed permit event chains; enterprise admins
keep the ledger; bureau reviewers trace permits and follow hazards to closure. Errors are
`{"error": {"code", "message", "field"?}}` with a stable machine-readable `code`.
"""


def _field_of(loc: Any) -> str:
    return ".".join(str(p) for p in loc)


def _validation_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = errors[0] if errors else {}
    body: dict[str, Any]
    if first.get("type") == "json_invalid":
        body = {
            "error": {
                "code": "MALFORMED_JSON",
                "message": _("the request body is not valid JSON"),
                "field": "body",
            }
        }
        return JSONResponse(body, status_code=400)
    details = [
        {
            "field": _field_of(e.get("loc", ())),
            "message": str(e.get("msg", "")),
            "type": e.get("type"),
        }
        for e in errors
    ]
    body = {
        "error": {
            "code": "VALIDATION_ERROR",
            "message": _("invalid input at {field}: {problem}").format(
                field=_field_of(first.get("loc", ())), problem=first.get("msg", "")
            ),
            "field": _field_of(first.get("loc", ())),
            "details": details,
        }
    }
    return JSONResponse(body, status_code=422)


def _sync_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SyncError)
    headers: dict[str, str] = {}
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, Unauthorized):
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(exc.body(), status_code=exc.status, headers=headers)


def _http_error_handler(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 401: "UNAUTHORIZED"}
    code = codes.get(exc.status_code, f"HTTP_{exc.status_code}")
    return JSONResponse(
        {"error": {"code": code, "message": str(exc.detail)}},
        status_code=exc.status_code,
        headers=getattr(exc, "headers", None),
    )


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.db_url)
    if settings.run_migrations:
        migrate(engine)
    app = FastAPI(
        title="cspermit sync server",
        version="1",
        description=API_DESCRIPTION,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.engine = engine
    # The identity key that signs export attestations, made on the first start.
    server_identity.ensure(engine)
    app.state.passwords = Passwords(settings.argon2_time_cost, settings.argon2_memory_cost_kib)
    app.add_exception_handler(SyncError, _sync_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    # before the reference router: its /enterprises/{id}/{kind} would take signon-codes
    app.include_router(people_access.router)
    for router in ALL_ROUTERS:
        app.include_router(router)
    mount_web(app)
    # Outermost but for Starlette's error handler: no body is read before this check.
    app.add_middleware(
        BodyLimit, default_limit=settings.max_batch_bytes, blob_limit=settings.max_blob_bytes
    )
    app.add_middleware(ControlCharacters)

    @app.get("/healthz", tags=["meta"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
