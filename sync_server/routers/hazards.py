"""Major accident hazards (重大事故隐患), the closed loop of docs/rules.md, and notes."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from sync_server.deps import Conn, CurrentPrincipal
from sync_server.services import hazards as hazard_service
from sync_server.services import notes as note_service
from sync_server.services.hazards import HazardAction, HazardIn, HazardQuery
from sync_server.services.notes import NoteIn

router = APIRouter(prefix="/api/v1", tags=["hazards"])


@router.post("/hazards", status_code=201)
def report_hazard(
    body: HazardIn, conn: Conn, who: CurrentPrincipal, response: Response
) -> dict[str, Any]:
    """Enterprise admins report self-inspection and worker-report hazards; bureau reviewers
    file inspection findings (their source is always ``bureau_inspection``); an enrolled
    tablet files worker reports for its own enterprise, idempotent by the report id it sends
    in ``details.tablet_report_id`` (a resend answers 200 with the hazard filed first)."""
    out, created = hazard_service.report(conn, who, body)
    if not created:
        response.status_code = 200
    return out


@router.get("/hazards")
def list_hazards(
    conn: Conn, who: CurrentPrincipal, query: Annotated[HazardQuery, Query()]
) -> dict[str, Any]:
    """Hazards in scope. ``open_only``: not yet closed (动态清零 counts these to zero)."""
    return hazard_service.search(conn, who, query)


@router.get("/hazards/{hazard_id}")
def get_hazard(hazard_id: str, conn: Conn, who: CurrentPrincipal) -> dict[str, Any]:
    return hazard_service.detail(conn, who, hazard_id)


@router.post("/hazards/{hazard_id}/actions")
def act_on_hazard(
    hazard_id: str, body: HazardAction, conn: Conn, who: CurrentPrincipal
) -> dict[str, Any]:
    """The enterprise moves its hazard along: plan (measures, responsible, deadline) →
    rectify (evidence) → verify (by someone other than the rectifier) → close (销号)."""
    return hazard_service.act_on(conn, who, hazard_id, body)


@router.post("/notes", status_code=201, tags=["notes"])
def add_note(body: NoteIn, conn: Conn, who: CurrentPrincipal) -> dict[str, Any]:
    """A reviewer's or admin's note on a permit or a hazard."""
    return note_service.add(conn, who, body)
