"""Cookie sessions for the web pages, and CSRF protection for their forms.

A page session is an ordinary bearer token (``services.accounts.sign_in``) kept in an
HttpOnly, SameSite=Lax cookie: it expires, is revoked on sign-out and is checked by the
same code as the API, so pages and API share one notion of who is calling.

CSRF: every form carries ``csrf`` = HMAC-SHA256 keyed by the session token. A page on
another site can neither read the HttpOnly cookie nor compute the value. Before sign-in
the form is protected by a double-submit cookie (``cspermit_presession``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request
from sqlalchemy.engine import Connection

from sync_server.deps import session_token
from sync_server.errors import Forbidden, Unauthorized
from sync_server.i18n import gettext as _
from sync_server.security import Principal
from sync_server.services import accounts as account_service

PRESESSION_COOKIE = "cspermit_presession"


def csrf_for(secret: str) -> str:
    return hmac.new(secret.encode(), b"cspermit-csrf-v1", hashlib.sha256).hexdigest()


def new_presession() -> str:
    return secrets.token_urlsafe(24)


def check_csrf(secret: str | None, submitted: str | None) -> None:
    """Refuse a form post whose token does not match the session (403 CSRF_INVALID)."""
    if not secret or not submitted or not hmac.compare_digest(csrf_for(secret), submitted):
        raise Forbidden(
            _("the form has expired or did not come from this site; reload the page and try again"),
            code="CSRF_INVALID",
            field="csrf",
        )


def page_principal(conn: Connection, request: Request) -> Principal | None:
    """Who is signed in through the cookie, or None (expired, revoked, absent)."""
    token = session_token(request)
    if not token:
        return None
    try:
        return account_service.authenticate(conn, token)
    except Unauthorized:
        return None
