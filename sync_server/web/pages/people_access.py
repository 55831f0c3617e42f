"""People's sign-on on the tablets: the ledger's people with their sign-on state, a
one-time sign-on code issued to one of them (shown once, on a printable slip), and
open codes revoked (services.signon_codes)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import segno
from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from sync_server.services import enterprises as enterprise_service
from sync_server.services import signon_codes as signon
from sync_server.services.tenancy import require_admin_of
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()


class CsrfForm(BaseModel):
    csrf: str = ""


def _page(enterprise_id: str) -> str:
    return f"/web/enterprises/{quote(enterprise_id)}/people-access"


@router.get("/enterprises/{enterprise_id}/people-access")
def people_access(request: Request, enterprise_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    require_admin_of(conn, who, enterprise_id)
    return base.render(
        request,
        "people_access.html",
        who,
        ent=enterprise_service.get(conn, enterprise_id),
        people=signon.people(conn, enterprise_id),
        codes=signon.listing(conn, enterprise_id),
        lifetime_hours=int(signon.rules().lifetime.total_seconds() // 3600),
    )


@router.post("/enterprises/{enterprise_id}/people/{person_id}/signon-code")
def issue_code(
    request: Request,
    enterprise_id: str,
    person_id: str,
    conn: PageConn,
    who: Who,
    posted: Annotated[CsrfForm, Form()],
) -> Response:
    """The slip with the new code: this answer is the only time the code is shown."""
    FormPost(request, posted.csrf)
    require_admin_of(conn, who, enterprise_id)
    code, row = signon.issue(conn, who, enterprise_id, person_id)
    qr = segno.make(code, error="m").svg_inline(scale=4, border=2, title=code, omitsize=True)
    return base.render(
        request,
        "signon_slip.html",
        who,
        ent=enterprise_service.get(conn, enterprise_id),
        code=code,
        row=row,
        qr=str(qr),
        pin_digits=signon.PIN_DIGITS,
    )


@router.post("/enterprises/{enterprise_id}/signon-codes/{code_id}/revoke")
def revoke_code(
    request: Request,
    enterprise_id: str,
    code_id: str,
    conn: PageConn,
    who: Who,
    posted: Annotated[CsrfForm, Form()],
) -> Response:
    FormPost(request, posted.csrf)
    require_admin_of(conn, who, enterprise_id)
    signon.revoke(conn, who, enterprise_id, code_id)  # already used or revoked: nothing to do
    return base.see_other(_page(enterprise_id))
