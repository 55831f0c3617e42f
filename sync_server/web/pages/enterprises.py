"""Enterprises: the list, one enterprise's ledger page, its spaces with their QR codes
and the printable warning-sign card of one space."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import segno
from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from sync_server.deps import AppSettings
from sync_server.errors import Unprocessable
from sync_server.i18n import gettext_for
from sync_server.labels import BEIJING, space_terms
from sync_server.security import Role
from sync_server.services import dashboard as dashboard_service
from sync_server.services import enterprises as enterprise_service
from sync_server.services import hazards as hazard_service
from sync_server.services import ledger, ledger_changes, public_codes
from sync_server.services import names as names_service
from sync_server.services import permits as permit_service
from sync_server.services import reference as ref
from sync_server.services import simops as simops_service
from sync_server.services.hazards import HazardQuery
from sync_server.services.permits import PermitQuery
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_visible
from sync_server.web.i18n import request_gettext
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import PageConn, Who

router = base.page_router()


@router.get("/enterprises")
def enterprise_list(request: Request, conn: PageConn, who: Who) -> Response:
    names = dashboard_service.enterprise_names(conn, who)
    if who.role is Role.ENTERPRISE_ADMIN and who.enterprise_id:
        return base.see_other(f"/web/enterprises/{quote(who.enterprise_id)}")
    return base.render(request, "enterprises.html", who, names=names)


@router.get("/enterprises/{enterprise_id}")
def enterprise_page(request: Request, enterprise_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    require_visible(conn, who, enterprise_id)
    today = datetime.now(BEIJING).date()
    return base.render(
        request,
        "enterprise.html",
        who,
        **ledger.overview(conn, enterprise_id, today),
        recent=permit_service.search(conn, who, PermitQuery(enterprise_id=enterprise_id, limit=10)),
        open_hazards=hazard_service.search(
            conn, who, HazardQuery(enterprise_id=enterprise_id, open_only=True, limit=50)
        ),
        simops=simops_service.of_enterprise(conn, who, enterprise_id),
        space_names=names_service.space_names(conn, who),
    )


def _qr_svg(payload: str) -> str:
    # segno's inline SVG: a vector QR that prints sharp on the warning-sign card.
    return str(
        segno.make(payload, error="m").svg_inline(scale=4, border=2, title=payload, omitsize=True)
    )


@router.get("/enterprises/{enterprise_id}/spaces")
def ledger_page(
    request: Request, enterprise_id: str, conn: PageConn, who: Who, settings: AppSettings
) -> HTMLResponse:
    require_visible(conn, who, enterprise_id)
    ent = enterprise_service.get(conn, enterprise_id)
    _ = request_gettext(request)
    spaces = []
    for row in ref.list_items(conn, enterprise_id, Kind.SPACE):
        # Codes in words (isolation methods, PPE, rescue equipment, gases, hazards).
        words = ledger_changes.described(Kind.SPACE.value, row.data, _)
        try:
            payload = public_codes.card_url(
                conn, settings.public_base_url, enterprise_id, row.item_id
            )
        except Unprocessable as exc:  # no public address: no QR, the reason instead
            spaces.append({**row.data, "words": words, "qr": "", "payload": exc.message})
            continue
        spaces.append({**row.data, "words": words, "qr": _qr_svg(payload), "payload": payload})
    return base.render(
        request,
        "ledger.html",
        who,
        ent=ent,
        spaces=spaces,
        may_write=who.role in (Role.ENTERPRISE_ADMIN, Role.OPERATOR),
    )


@router.get("/enterprises/{enterprise_id}/spaces/{space_id}/card")
def warning_card(
    request: Request,
    enterprise_id: str,
    space_id: str,
    conn: PageConn,
    who: Who,
    settings: AppSettings,
) -> HTMLResponse:
    require_visible(conn, who, enterprise_id)
    ent = enterprise_service.get(conn, enterprise_id)
    row = ref.get(conn, enterprise_id, Kind.SPACE, space_id)
    # Fails closed (an error page naming the setting) while the public address is unset.
    payload = public_codes.card_url(conn, settings.public_base_url, enterprise_id, space_id)
    return base.render(
        request,
        "card.html",
        who,
        ent=ent,
        space=row.data,
        qr=_qr_svg(payload),
        payload=payload,
        # the card is a Chinese document, whatever the reader's language
        terms=lambda codes: space_terms(codes, gettext_for("zh_CN")),
    )
