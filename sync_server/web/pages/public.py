"""The public page behind each warning card's QR (``/q/{token}``, 码上查): no sign-in,
Chinese, one small self-contained page (inline style and script, no other request), the
space's safety card, its status now and a hazard report form; and the reporter's view of
a report with its receipt code. Thin: ``services.public_codes`` and
``services.public_reports`` decide everything (docs/server.md, "The public page")."""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool

from sync_server.errors import SyncError
from sync_server.i18n import gettext_for
from sync_server.labels import PERMIT_TYPES, space_terms
from sync_server.services import public_codes, public_reports
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import PageConn

router = base.page_router()
ZH = gettext_for("zh_CN")


# The ledger's codes for gases, hazards and equipment as a passer-by reads them; a code
# not listed is shown as the ledger wrote it.
MAX_PHOTO_READ = int(public_reports.LIMITS["max_photo_bytes"]) + 1


def shown_terms(codes: list[str] | tuple[str, ...] | None) -> list[str]:
    """Ledger codes in Chinese (the card and the public page are Chinese documents)."""
    return space_terms(codes, ZH)


def _render(request: Request, name: str, status_code: int = 200, **extra: Any) -> HTMLResponse:
    nonce = secrets.token_urlsafe(12)
    response = base.render(
        request,
        name,
        None,
        status_code=status_code,
        _=ZH,
        lang="zh_CN",
        nonce=nonce,
        PERMIT_TYPES=PERMIT_TYPES,
        CATEGORY_LABELS=public_reports.CATEGORY_LABELS,
        STAGE_LABELS=public_reports.STAGE_LABELS,
        **extra,
    )
    # Nothing from elsewhere: the page's one style and one script carry this nonce.
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; "
        "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _page(
    request: Request, conn: PageConn, token: str, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    view = public_codes.public_view(conn, token)
    if view["code"] != "current":
        return _render(request, "public.html", status_code=410, view=view, token="")
    space = view["space"]
    for key in ("hazards", "required_ppe", "rescue_equipment"):
        space[f"{key}_shown"] = shown_terms(space[key])
    return _render(
        request,
        "public.html",
        status_code=status_code,
        view=view,
        token=token,
        challenge=public_reports.challenge(conn, token),
        bits=int(public_reports.LIMITS["pow_bits"]),
        categories=list(public_reports.CATEGORIES),
        max_photos=int(public_reports.LIMITS["max_photos"]),
        **extra,
    )


@router.get("/q/{token}")
def public_page(request: Request, token: str, conn: PageConn) -> HTMLResponse:
    return _page(request, conn, token)


@router.post("/q/{token}/report")
async def public_report(
    request: Request,
    token: str,
    conn: PageConn,
    category: Annotated[str, Form()] = "",
    text: Annotated[str, Form(max_length=10_000)] = "",
    contact: Annotated[str, Form(max_length=1000)] = "",
    challenge: Annotated[str, Form(max_length=200)] = "",
    nonce: Annotated[str, Form(max_length=64)] = "",
    photos: Annotated[list[UploadFile] | None, File()] = None,
) -> HTMLResponse:
    datas = []
    for photo in photos or []:
        data = await photo.read(MAX_PHOTO_READ)
        if data:  # an empty file input sends one empty part
            datas.append(data)
    address = request.client.host if request.client else ""
    # The photos' decode and re-encode and the writes off the event loop: one
    # passer-by's upload must not stall every other request.
    return await run_in_threadpool(
        _submit, request, conn, token, address, category, text, contact, datas, challenge, nonce
    )


def _submit(
    request: Request,
    conn: Connection,
    token: str,
    address: str,
    category: str,
    text: str,
    contact: str,
    photos: list[bytes],
    challenge: str,
    nonce: str,
) -> HTMLResponse:
    try:
        receipt = public_reports.submit(
            conn,
            token,
            address=address,
            category=category,
            text=text,
            contact=contact,
            photos=photos,
            challenge_value=challenge,
            nonce=nonce,
        )
    except SyncError as exc:
        # The form again, with the reason (in Chinese); nothing was stored.
        form = {"category": category, "text": text, "contact": contact}
        return _page(request, conn, token, status_code=exc.status, error=exc.message, form=form)
    return _render(request, "public_receipt.html", receipt=receipt, token=token)


@router.post("/q/progress")
def public_progress(
    request: Request, conn: PageConn, receipt: Annotated[str, Form(max_length=40)] = ""
) -> HTMLResponse:
    try:
        shown = public_reports.progress(conn, receipt)
    except SyncError as exc:
        return _render(request, "public_progress.html", status_code=exc.status, error=exc.message)
    return _render(request, "public_progress.html", p=shown)
