"""Hazards: the list (with its CSV), reporting one, one hazard's loop, the bureau's
closure check, and notes on a hazard."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from sync_server.errors import SyncError
from sync_server.labels import BEIJING, HAZARD_STEPS
from sync_server.security import Principal
from sync_server.services import dashboard as dashboard_service
from sync_server.services import hazard_refusals
from sync_server.services import hazards as hazard_service
from sync_server.services import names as names_service
from sync_server.services.hazards import (
    HazardAction,
    HazardIn,
    HazardQuery,
)
from sync_server.web.i18n import request_gettext
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()


def _hazard_filters(request: Request) -> dict[str, Any]:
    q = request.query_params
    out: dict[str, Any] = {}
    for key in ("enterprise_id", "status", "source"):
        value = base.blank(q.get(key))
        if value:
            out[key] = value
    for key in ("open_only", "overdue"):
        if q.get(key) in ("1", "true", "on"):
            out[key] = True
    return out


@router.get("/hazards")
def hazard_list(request: Request, conn: PageConn, who: Who) -> HTMLResponse:
    filters = _hazard_filters(request)
    page = base.page_number(request)
    size = base.page_size(request)
    _ = request_gettext(request)
    query = base.validated(HazardQuery, _, **filters, limit=size, offset=(page - 1) * size)
    result = hazard_service.search(conn, who, query)
    pages = max(1, (result["total"] + size - 1) // size)
    return base.render(
        request,
        "hazards.html",
        who,
        result=result,
        names=dashboard_service.enterprise_names(conn, who),
        people=names_service.named_in_records(conn, who),
        form=request.query_params,
        error=None,
        **base.list_page(filters, size, page, pages),
    )


_CSV_COLUMNS = [
    "hazard_id",
    "enterprise_id",
    "source",
    "category",
    "status",
    "overdue",
    "title",
    "space_id",
    "permit_id",
    "rule_code",
    "deadline",
    "created_at",
    "updated_at",
]


@router.get("/hazards.csv")
def hazards_csv(request: Request, conn: PageConn, who: Who) -> Response:
    filters = _hazard_filters(request)
    _ = request_gettext(request)
    rows: list[list[Any]] = [list(_CSV_COLUMNS)]
    offset = 0
    while True:
        query = base.validated(HazardQuery, _, **filters, limit=200, offset=offset)
        result = hazard_service.search(conn, who, query)
        for h in result["items"]:
            rows.append(
                [
                    ("yes" if h["overdue"] else "") if column == "overdue" else h[column]
                    for column in _CSV_COLUMNS
                ]
            )
        offset += 200
        if offset >= result["total"]:
            break
    return base.csv_response(rows, "hazards.csv")


@router.post("/hazards")
def hazard_report(
    request: Request,
    conn: PageConn,
    who: Who,
    enterprise_id: Annotated[str, Form()] = "",
    title: Annotated[str, Form()] = "",
    category: Annotated[str, Form()] = "",
    source: Annotated[str, Form()] = "self_inspection",
    space_id: Annotated[str, Form()] = "",
    permit_id: Annotated[str, Form()] = "",
    description: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """A bureau reviewer files an inspection finding; an admin reports a hazard."""
    form = FormPost(request, csrf)
    _ = form.gettext
    title = form.required(title, _("give the hazard a title"), "title")
    # An unknown source is refused, not quietly replaced; the service itself makes a
    # reviewer's report a bureau finding and refuses that source to anyone else.
    form.one_of(
        source,
        ("self_inspection", "worker_report", "bureau_inspection"),
        _("unknown hazard source"),
        "source",
    )
    fields: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "title": title,
        "source": source,
        "space_id": base.blank(space_id),
        "permit_id": base.blank(permit_id),
        "details": {"description": description.strip()} if description.strip() else {},
    }
    if category.strip():  # else the service's default clause
        fields["category"] = category.strip()
    out, _created = hazard_service.report(conn, who, form.model(HazardIn, **fields))
    return base.see_other(f"/web/hazards/{quote(out['hazard_id'])}")


def _hazard_response(
    request: Request,
    conn: Connection,
    who: Principal,
    hazard_id: str,
    error: SyncError | None = None,
) -> HTMLResponse:
    h = hazard_service.detail(conn, who, hazard_id)
    # The bureau's confirmation by the reviewer's name (the audit log keeps the username).
    authors = hazard_service.actor_names(
        conn, h["enterprise_id"], {n["author"] for n in h["closure_checks"]}
    )
    checks = [{**n, "author": authors.get(n["author"], n["author"])} for n in h["closure_checks"]]
    return base.render(
        request,
        "hazard.html",
        who,
        status_code=error.status if error else 200,
        h=h,
        closure_checks=checks,
        names=dashboard_service.enterprise_names(conn, who),
        space_names=names_service.space_names(conn, who),
        people=names_service.named_in_records(conn, who).get(h["enterprise_id"], {}),
        # Who did a step on site is chosen by name; the form posts the person's id.
        steps=HAZARD_STEPS,
        choosable_people=names_service.person_names(conn, h["enterprise_id"], current_only=True),
        error=error,
    )


@router.get("/hazards/{hazard_id}")
def hazard_page(request: Request, hazard_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    return _hazard_response(request, conn, who, hazard_id)


def _end_of_day(form: FormPost, deadline: str) -> str | None:
    """A deadline date from the form as the end of that day in Beijing: "by the 30th"
    means by the end of the 30th."""
    if not deadline.strip():
        return None
    try:
        day = date.fromisoformat(deadline.strip())
    except ValueError as exc:
        raise form.refuse(
            form.gettext("expected a date as YYYY-MM-DD"), "deadline", code="DATE_INVALID"
        ) from exc
    return (
        datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=BEIJING)
        .astimezone(UTC)
        .isoformat()
    )


class HazardStepForm(BaseModel):
    """The hazard page's step form, as posted (every field may be left empty)."""

    action: str = ""
    measures: str = ""
    responsible: str = ""
    deadline: str = ""
    evidence: str = ""
    person: str = ""
    note: str = ""
    csrf: str = ""


@router.post("/hazards/{hazard_id}/actions")
def hazard_action(
    request: Request,
    hazard_id: str,
    conn: PageConn,
    who: Who,
    step: Annotated[HazardStepForm, Form()],
) -> Response:
    """The enterprise moves its hazard through the loop (plan → rectify → verify →
    close); a refusal shows the core's reason on the hazard page."""
    form = FormPost(request, step.csrf)
    form.one_of(
        step.action,
        tuple(HAZARD_STEPS),
        form.gettext("unknown hazard action"),
        "action",
    )
    texts = ("person", "measures", "responsible", "evidence", "note")
    body = form.model(
        HazardAction,
        action=step.action,
        deadline=_end_of_day(form, step.deadline),
        **{name: base.blank(getattr(step, name)) for name in texts},
    )
    # The core refuses before anything is written; its reason shows on the hazard page
    # itself (422), with the form to try again.
    return form.attempt(
        lambda: hazard_service.act_on(conn, who, hazard_id, body),
        done=lambda: base.see_other(f"/web/hazards/{quote(hazard_id)}"),
        refused=lambda exc: _hazard_response(
            request,
            conn,
            who,
            hazard_id,
            error=hazard_refusals.in_words(
                conn, who, hazard_id, step.action, step.deadline, exc, form.gettext
            ),
        ),
    )


@router.post("/hazards/{hazard_id}/closure-check")
def closure_check(
    request: Request,
    hazard_id: str,
    conn: PageConn,
    who: Who,
    text: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    """The bureau confirms a closed hazard on site (复核销号)."""
    form = FormPost(request, csrf)
    hazard_service.confirm_closure(conn, who, hazard_id, text, form.gettext)
    return base.see_other(f"/web/hazards/{quote(hazard_id)}")
