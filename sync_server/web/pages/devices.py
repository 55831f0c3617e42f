"""The enterprise's tablets: an enrolment QR made for a labelled tablet (the server's
address and a one-time code, in the core's format the tablet reads), the tablets with
their last sync and ledger age, pending codes, and revocation of either."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

import segno
from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from permits.enrolment_code import enrolment_payload
from sync_server.deps import AppSettings
from sync_server.services import enrolments
from sync_server.services import enterprises as enterprise_service
from sync_server.services.tenancy import require_admin_of
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()


class CsrfForm(BaseModel):
    csrf: str = ""


class EnrolForm(BaseModel):
    label: str = ""
    csrf: str = ""


class EnrolLabel(BaseModel):
    label: str = Field(min_length=1, max_length=200)


def _page(enterprise_id: str) -> str:
    return f"/web/enterprises/{quote(enterprise_id)}/devices"


@router.get("/enterprises/{enterprise_id}/devices")
def devices_page(request: Request, enterprise_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    require_admin_of(conn, who, enterprise_id)
    return base.render(
        request,
        "devices.html",
        who,
        ent=enterprise_service.get(conn, enterprise_id),
        devices=enrolments.device_list(conn, enterprise_id),
        codes=enrolments.codes_of(conn, enterprise_id, pending_only=True),
    )


@router.post("/enterprises/{enterprise_id}/devices/enrol")
def make_enrolment_code(
    request: Request,
    enterprise_id: str,
    conn: PageConn,
    who: Who,
    settings: AppSettings,
    posted: Annotated[EnrolForm, Form()],
) -> Response:
    """The QR for one tablet: shown once, in this answer; the code is stored as a hash."""
    form = FormPost(request, posted.csrf)
    require_admin_of(conn, who, enterprise_id)
    label = form.required(posted.label, form.gettext("give the tablet a name first"), "label")
    form.model(EnrolLabel, label=label)
    code, expires = enrolments.create_code(conn, settings, who, enterprise_id, label)
    server = str(request.base_url).rstrip("/")
    payload = enrolment_payload(server, code)
    qr = segno.make(payload, error="m").svg_inline(scale=5, border=4, omitsize=True)
    return base.render(
        request,
        "enrol_qr.html",
        who,
        ent=enterprise_service.get(conn, enterprise_id),
        label=label,
        code=code,
        server=server,
        expires_at=expires,
        qr=str(qr),
    )


@router.post("/enterprises/{enterprise_id}/devices/{device_id}/revoke")
def revoke_device(
    request: Request,
    enterprise_id: str,
    device_id: str,
    conn: PageConn,
    who: Who,
    posted: Annotated[CsrfForm, Form()],
) -> Response:
    FormPost(request, posted.csrf)
    require_admin_of(conn, who, enterprise_id)
    enrolments.revoke_device(conn, who, enterprise_id, device_id)
    return base.see_other(_page(enterprise_id))


@router.post("/enterprises/{enterprise_id}/enrolments/{code_id}/revoke")
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
    enrolments.revoke_code(conn, who, enterprise_id, code_id)
    return base.see_other(_page(enterprise_id))
