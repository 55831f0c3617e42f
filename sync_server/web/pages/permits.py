"""Permit search (with its CSV), the trace page and notes on a permit."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.responses import HTMLResponse

from sync_server.errors import Unprocessable
from sync_server.i18n import Gettext
from sync_server.ids import safe_id
from sync_server.labels import BEIJING
from sync_server.security import Principal
from sync_server.services import dashboard as dashboard_service
from sync_server.services import names as names_service
from sync_server.services import permits as permit_service
from sync_server.services import trace as trace_service
from sync_server.services.permits import PermitPage, PermitQuery
from sync_server.web.i18n import request_gettext
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import PageConn, Who

router = base.page_router()


def _permit_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    for key in ("enterprise_id", "space_id", "status", "person", "detector", "anomaly"):
        value = base.blank(q.get(key))
        if value:
            out[key] = value
    for key in ("date_from", "date_to"):
        value = base.blank(q.get(key))
        if value:
            out[key] = value
    return out


def _api_dates(filters: dict[str, Any], _: Gettext) -> dict[str, Any]:
    """Dates from the form (a Beijing calendar day) as the search's ISO bounds;
    ``date_to`` includes its whole day."""
    args = dict(filters)
    for key in ("date_from", "date_to"):
        if key in args:
            try:
                day = date.fromisoformat(args[key])
                if key == "date_to":
                    day += timedelta(days=1)  # OverflowError on 9999-12-31
            except (ValueError, OverflowError) as exc:
                raise Unprocessable(
                    _("expected a date as YYYY-MM-DD"), code="DATE_INVALID", field=key
                ) from exc
            args[key] = datetime(day.year, day.month, day.day, tzinfo=BEIJING).isoformat()
    return args


def _search(
    conn: Any, who: Principal, filters: dict[str, Any], limit: int, offset: int, _: Gettext
) -> PermitPage:
    query = base.validated(PermitQuery, _, **_api_dates(filters, _), limit=limit, offset=offset)
    return permit_service.search(conn, who, query)


@router.get("/permits")
def permit_search(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    _ = request_gettext(request)
    filters = _permit_filters(request)
    page = base.page_number(request)
    size = base.page_size(request)
    error = None
    result = None
    has_next = False
    try:
        # One row more than the page shows: whether a next page exists, which ``total``
        # cannot tell once the search stops counting (10,000).
        result = _search(conn, who, filters, size + 1, (page - 1) * size, _)
        has_next = len(result.items) > size
        result.items = result.items[:size]
    except Unprocessable as exc:
        error = exc
    total = result.total if result else 0
    pages = max(1, (total + size - 1) // size)
    pages_more = result is not None and not result.total_exact
    if pages_more:
        pages = page + 1 if has_next else page
    return base.render(
        request,
        "permits.html",
        who,
        status_code=422 if error else 200,
        result=result,
        error=error,
        pages_more=pages_more,
        names=dashboard_service.enterprise_names(conn, who),
        anomaly_codes=permit_service.anomaly_codes(conn, who),
        space_names=names_service.space_names(conn, who),
        **base.list_page(filters, size, page, pages),
    )


@router.get("/permits.csv")
def permits_csv(request: Request, conn: PageConn, who: Who) -> Response:
    _ = request_gettext(request)
    filters = _permit_filters(request)
    rows: list[list[Any]] = [
        [
            "permit_id",
            "enterprise_id",
            "status",
            "space_id",
            "first_at",
            "last_at",
            "events",
            "people",
            "detectors",
            "anomalies",
            "permit_type",
        ]
    ]
    offset = 0
    while True:
        result = _search(conn, who, filters, 200, offset, _)
        for p in result.items:
            rows.append(
                [
                    p.permit_id,
                    p.enterprise_id,
                    p.status,
                    p.space_id,
                    p.first_at,
                    p.last_at,
                    p.last_seq,
                    " ".join(p.people),
                    " ".join(p.detectors),
                    " ".join(p.anomalies),
                    p.permit_type,
                ]
            )
        offset += 200
        # A short page is the last: ``total`` stops counting at the search's cap.
        if len(result.items) < 200:
            break
    return base.csv_response(rows, "permits.csv")


@router.get("/permits/{permit_id}")
def permit_trace(request: Request, permit_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    # ``enterprise_id``: which enterprise's permit of this id, for a bureau reviewer
    # (every link the pages make for them carries it; ``services.permit_lookup``).
    chosen = base.blank(request.query_params.get("enterprise_id"))
    enterprise_id = None if chosen is None else safe_id(chosen, "enterprise_id")
    view = trace_service.build(conn, who, permit_id, request_gettext(request), enterprise_id)
    page = "trace_hot_work.html" if view.get("permit_type") == "hot_work" else "trace.html"
    people = names_service.named_in_records(conn, who).get(view["permit"]["enterprise_id"], {})
    return base.render(request, page, who, v=view, people=people)
