"""Dependencies shared by the routers and the pages, as ``Annotated`` aliases.

Both adapters (``routers``, ``web``) sit on this module; it reads the app's state and the
request's credentials and hands them to the services.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Connection, Engine

from sync_server.errors import Unauthorized
from sync_server.i18n import gettext as _
from sync_server.security import Passwords, Principal
from sync_server.services import accounts as account_service
from sync_server.settings import Settings
from sync_server.storage import autocommit

# The web pages' session: an ordinary bearer token kept in an HttpOnly cookie
# (``web.session``); the API's downloads linked from the pages accept it too.
SESSION_COOKIE = "cspermit_session"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.engine
    return engine


def get_passwords(request: Request) -> Passwords:
    passwords: Passwords = request.app.state.passwords
    return passwords


def get_conn(engine: Annotated[Engine, Depends(get_engine)]) -> Iterator[Connection]:
    # One transaction per request: an error anywhere in the handler rolls every write back.
    # It is bound to the handler (scope="function"), so the commit happens before the
    # response is sent: a client never reads back stale data right after a 2xx, and a
    # commit that fails answers 500 instead of an acknowledged write that was lost.
    with engine.begin() as conn:
        yield conn


AppSettings = Annotated[Settings, Depends(get_settings)]
AppEngine = Annotated[Engine, Depends(get_engine)]
AppPasswords = Annotated[Passwords, Depends(get_passwords)]
Conn = Annotated[Connection, Depends(get_conn, scope="function")]


def get_token(token: Annotated[str | None, Depends(oauth2_scheme)]) -> str:
    if not token:
        raise Unauthorized(_("sign in first: no bearer token"), code="TOKEN_MISSING")
    return token


BearerToken = Annotated[str, Depends(get_token)]


def get_principal(conn: Conn, token: BearerToken) -> Principal:
    return account_service.authenticate(conn, token)


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def get_principal_apart(engine: AppEngine, token: BearerToken) -> Principal:
    # For handlers that do their work in transactions of their own (a push runs one per
    # permit): the token is read on a connection given back before the handler runs, so
    # a request never holds one pooled connection while it waits for another. Holding
    # it, a worker's own concurrent pushes used up its pool and each waited the pool's
    # 30 s (docs/performance.md, "Catch-up ingest against the floor"). Its one
    # statement needs no transaction (docs/performance.md, wave 8).
    with autocommit(engine) as conn:
        return account_service.authenticate(conn, token)


PrincipalApart = Annotated[Principal, Depends(get_principal_apart)]


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def principal_any(
    request: Request, conn: Conn, bearer: Annotated[str | None, Depends(oauth2_scheme)]
) -> Principal:
    """API downloads (PDF, chain JSON) linked from the pages: a bearer token, or the page
    session cookie. Safe GETs only, so no CSRF token is needed."""
    token = bearer or session_token(request)
    if not token:
        raise Unauthorized(_("sign in first: no bearer token"), code="TOKEN_MISSING")
    return account_service.authenticate(conn, token)


BearerOrSession = Annotated[Principal, Depends(principal_any)]
