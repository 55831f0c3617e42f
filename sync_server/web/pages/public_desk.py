"""The enterprise's and the bureau's side of 码上查: each space's public code (print,
replace, withdraw), the emergency phone its pages show, and the reports from the public
pages with their answer, the reward mark and the audit-logged view of a contact."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse

from sync_server.deps import AppSettings
from sync_server.services import dashboard as dashboard_service
from sync_server.services import enterprises as enterprise_service
from sync_server.services import public_codes, public_reports
from sync_server.services import reference as ref
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_visible
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()
Csrf = Annotated[str, Form()]


def _render(request: Request, conn: PageConn, who: Who, **extra: Any) -> HTMLResponse:
    """The desk's page: one enterprise's codes and reports, or every report in scope."""
    values: dict[str, Any] = {"ent": None, "spaces": [], "base_url": "", "contact": None}
    values.update(extra)
    if "reports" not in values:
        values["reports"] = public_reports.listing(conn, who)
    return base.render(
        request,
        "public_desk.html",
        who,
        names=dashboard_service.enterprise_names(conn, who),
        CATEGORY_LABELS=public_reports.CATEGORY_LABELS,
        STAGE_LABELS=public_reports.STAGE_LABELS,
        **values,
    )


@router.get("/enterprises/{enterprise_id}/public")
def desk(
    request: Request, enterprise_id: str, conn: PageConn, who: Who, settings: AppSettings
) -> HTMLResponse:
    require_visible(conn, who, enterprise_id)
    ent = enterprise_service.get(conn, enterprise_id)
    codes = public_codes.codes_of(conn, enterprise_id)
    base_url = (settings.public_base_url or "").rstrip("/")
    spaces = [
        {
            "id": row.item_id,
            "name": row.data.get("name", row.item_id),
            "url": f"{base_url}/q/{codes[row.item_id]}"
            if row.item_id in codes and base_url
            else "",
            "has_code": row.item_id in codes,
        }
        for row in ref.list_items(conn, enterprise_id, Kind.SPACE)
    ]
    return _render(
        request,
        conn,
        who,
        ent=ent,
        spaces=spaces,
        base_url=base_url,
        reports=public_reports.listing(conn, who, enterprise_id),
    )


@router.get("/public-reports")
def all_reports(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    return _render(request, conn, who)


@router.post("/enterprises/{enterprise_id}/public/phone")
def set_phone(
    request: Request,
    enterprise_id: str,
    conn: PageConn,
    who: Who,
    csrf: Csrf,
    emergency_phone: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    FormPost(request, csrf)
    public_codes.set_emergency_phone(conn, who, enterprise_id, emergency_phone)
    return base.see_other(f"/web/enterprises/{quote(enterprise_id)}/public")


@router.post("/enterprises/{enterprise_id}/spaces/{space_id}/public-code/{action}")
def change_code(
    request: Request,
    enterprise_id: str,
    space_id: str,
    action: str,
    conn: PageConn,
    who: Who,
    csrf: Csrf,
) -> Response:
    post = FormPost(request, csrf)
    post.one_of(action, ("issue", "rotate", "revoke"), post.gettext("unknown action"), "action")
    if action == "issue":
        public_codes.issue(conn, who, enterprise_id, space_id)
    elif action == "rotate":
        public_codes.rotate(conn, who, enterprise_id, space_id)
    else:
        public_codes.revoke(conn, who, enterprise_id, space_id)
    return base.see_other(f"/web/enterprises/{quote(enterprise_id)}/public")


def _back(conn: PageConn, who: Who, report_id: str) -> str:
    row = next((r for r in public_reports.listing(conn, who) if r["report_id"] == report_id), None)
    if row is not None and who.enterprise_id:
        return f"/web/enterprises/{quote(row['enterprise_id'])}/public"
    return "/web/public-reports"


@router.post("/public-reports/{report_id}/answer")
def answer(
    request: Request,
    report_id: str,
    conn: PageConn,
    who: Who,
    csrf: Csrf,
    answer: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    FormPost(request, csrf)
    public_reports.answer(conn, who, report_id, answer)
    return base.see_other(_back(conn, who, report_id))


@router.post("/public-reports/{report_id}/reward")
def reward(request: Request, report_id: str, conn: PageConn, who: Who, csrf: Csrf) -> Response:
    FormPost(request, csrf)
    public_reports.mark_reward(conn, who, report_id)
    return base.see_other(_back(conn, who, report_id))


@router.post("/public-reports/{report_id}/contact")
def contact(request: Request, report_id: str, conn: PageConn, who: Who, csrf: Csrf) -> HTMLResponse:
    """The contact on a page of its own, after a deliberate post: each view is audited."""
    FormPost(request, csrf)
    shown = public_reports.contact(conn, who, report_id)
    return _render(
        request,
        conn,
        who,
        reports=[r for r in public_reports.listing(conn, who) if r["report_id"] == report_id],
        contact={"report_id": report_id, "text": shown},
    )
