"""Sign-in for people: OAuth2 password form → bearer token; sign-out revokes it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from pydantic import BaseModel

from sync_server.deps import (
    AppEngine,
    AppPasswords,
    AppSettings,
    BearerToken,
    Conn,
    CurrentPrincipal,
)
from sync_server.errors import Unauthorized
from sync_server.i18n import gettext as _
from sync_server.services import accounts as account_service

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class WhoAmI(BaseModel):
    role: str
    subject_id: str
    name: str
    enterprise_id: str | None
    jurisdiction: str | None


@router.post("/token", response_model=TokenOut)
def issue_token(
    request: Request,
    engine: AppEngine,
    settings: AppSettings,
    passwords: AppPasswords,
    username: Annotated[str, Form(min_length=1, max_length=64)],
    password: Annotated[str, Form(min_length=1, max_length=512)],
) -> TokenOut:
    """OAuth2 password grant. Five failures in a row lock the username (429, Retry-After);
    thirty from one client address lock the address. Each attempt is counted before the
    password is checked, so a parallel burst gets no more tries than a sequence."""
    # Its own transactions: the attempt is counted and committed before the check.
    address = request.client.host if request.client else None
    result = account_service.sign_in(engine, settings, passwords, username, password, address)
    if result is None:
        raise Unauthorized(_("wrong username or password"), code="INVALID_CREDENTIALS")
    token, expires_in = result
    return TokenOut(access_token=token, expires_in=expires_in)


@router.post("/revoke", status_code=204)
def revoke(conn: Conn, token: BearerToken, who: CurrentPrincipal) -> None:
    """Sign out: the presented token stops working at once."""
    account_service.revoke_token(conn, token)


@router.get("/me", response_model=WhoAmI)
def me(who: CurrentPrincipal) -> WhoAmI:
    return WhoAmI(
        role=who.role.value,
        subject_id=who.subject_id,
        name=who.name,
        enterprise_id=who.enterprise_id,
        jurisdiction=who.jurisdiction,
    )
