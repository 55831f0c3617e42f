"""Server-rendered pages for bureau reviewers and enterprise admins (``/web``), one
module per resource, each a thin adapter over ``sync_server.services``.

Every page reads through the same tenancy rules as the API (another tenant's permit,
hazard or enterprise is a 404 page) and every form post is CSRF-checked. Pages are
rendered in the reader's language (zh_CN by default).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from sync_server.errors import NotFound
from sync_server.web.i18n import request_gettext
from sync_server.web.pages import (
    accounts,
    auth,
    dashboard,
    devices,
    enterprises,
    hazards,
    notes,
    people_access,
    permits,
    public_desk,
)
from sync_server.web.pages import ledger_forms as ledger_form_pages
from sync_server.web.pages._base import PageRoute, error_page

router = APIRouter(prefix="/web", route_class=PageRoute, include_in_schema=False)
for _pages in (auth, dashboard, permits, enterprises, hazards, notes, ledger_form_pages, accounts):
    router.include_router(_pages.router)
for _pages in (people_access, devices):  # sign-on codes and tablets (issue 16)
    router.include_router(_pages.router)
router.include_router(public_desk.router)  # 码上查: space codes and public reports


# Registered last: any other path under /web is a 404 page, not the API's JSON body.
@router.get("/{rest:path}")
def not_found(request: Request, rest: str) -> HTMLResponse:
    _ = request_gettext(request)
    return error_page(request, NotFound(_("there is no such page"), code="NOT_FOUND"))
