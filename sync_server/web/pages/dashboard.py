"""The start page: today's permits, alarms, open and overdue hazards, findings."""

from __future__ import annotations

from datetime import datetime

from fastapi import Request
from fastapi.responses import HTMLResponse

from sync_server.labels import BEIJING
from sync_server.services import dashboard as dashboard_service
from sync_server.services import ledger, public_reports
from sync_server.services import names as names_service
from sync_server.services import simops as simops_service
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import PageConn, Who

router = base.page_router()


@router.get("/")
def dashboard(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    data = dashboard_service.dashboard(conn, who)
    names = dashboard_service.enterprise_names(conn, who)
    today = datetime.now(BEIJING).date()
    return base.render(
        request,
        "dashboard.html",
        who,
        d=data,
        names=names,
        today_date=today.isoformat(),
        training_due=ledger.training_due(conn, list(names), today),
        simops=simops_service.visible(conn, who),
        space_names=names_service.space_names(conn, who),
        people=names_service.named_in_records(conn, who),
        show_enterprise=True,
        **public_reports.dashboard_part(conn, who),
    )
