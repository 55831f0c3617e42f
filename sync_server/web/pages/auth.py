"""Signing in and out of the pages (a session cookie; docs/server.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from sync_server.deps import (
    SESSION_COOKIE,
    AppEngine,
    AppPasswords,
    AppSettings,
    session_token,
)
from sync_server.errors import TooManyRequests
from sync_server.services import accounts as account_service
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn
from sync_server.web.session import PRESESSION_COOKIE, csrf_for, new_presession

router = base.page_router()


class SignInForm(BaseModel):
    username: str = ""
    password: str = ""
    csrf: str = ""
    next: str = "/web/"


def _safe_next(target: str | None) -> str:
    # Only our own pages: an open redirect would let a phishing link borrow our sign-in.
    if target and target.startswith("/web") and not target.startswith("//"):
        return target
    return "/web/"


@router.get("/sign-in")
def sign_in_form(request: Request, conn: PageConn, next: str | None = None) -> HTMLResponse:
    presession = request.cookies.get(PRESESSION_COOKIE) or new_presession()
    response = base.render(
        request,
        "sign_in.html",
        None,
        next=_safe_next(next),
        form_csrf=csrf_for(presession),
        error=None,
        username="",
        changed=request.query_params.get("changed") == "1",
    )
    response.set_cookie(PRESESSION_COOKIE, presession, httponly=True, samesite="strict")
    return response


@router.post("/sign-in")
def sign_in(
    request: Request,
    conn: PageConn,
    engine: AppEngine,
    settings: AppSettings,
    passwords: AppPasswords,
    posted: Annotated[SignInForm, Form()],
) -> Response:
    username, password, next = posted.username, posted.password, posted.next
    form = FormPost(request, posted.csrf, before_sign_in=True)
    _ = form.gettext
    error: str | None = None
    status = 401
    result = None
    if not username.strip() or not password:
        error = _("enter your username and password")
        status = 422
    else:
        try:
            address = request.client.host if request.client else None
            result = account_service.sign_in(
                engine, settings, passwords, username.strip(), password, address
            )
        except TooManyRequests as exc:
            error = _("too many failed sign-ins; try again in {seconds} s").format(
                seconds=exc.retry_after
            )
            status = 429
        if result is None and error is None:
            error = _("wrong username or password")
    if result is None:
        return base.render(
            request,
            "sign_in.html",
            None,
            status_code=status,
            next=_safe_next(next),
            form_csrf=csrf_for(request.cookies.get(PRESESSION_COOKIE) or ""),
            error=error,
            username=username,
        )
    token, ttl = result
    redirect = base.see_other(_safe_next(next))
    redirect.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ttl,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    redirect.delete_cookie(PRESESSION_COOKIE)
    return redirect


@router.post("/sign-out")
def sign_out(request: Request, conn: PageConn, csrf: Annotated[str, Form()] = "") -> Response:
    FormPost(request, csrf)
    token = session_token(request)
    if token:
        account_service.revoke_token(conn, token)
    response = base.see_other("/web/sign-in")
    response.delete_cookie(SESSION_COOKIE)
    return response
