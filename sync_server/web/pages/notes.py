"""A note on a permit or a hazard, from the form at the foot of its page."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Form, Request, Response
from pydantic import BaseModel

from sync_server.services import notes as note_service
from sync_server.services.notes import NoteIn, ObjectKind
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()


class NoteForm(BaseModel):
    text: str = ""
    csrf: str = ""


@router.post("/permits/{object_id}/notes")
@router.post("/hazards/{object_id}/notes")
def add_note(
    request: Request,
    object_id: str,
    conn: PageConn,
    who: Who,
    posted: Annotated[NoteForm, Form()],
) -> Response:
    kind: ObjectKind = "permit" if request.url.path.startswith("/web/permits/") else "hazard"
    form = FormPost(request, posted.csrf)
    text = form.required(posted.text, form.gettext("write the note first"), "text")
    # A bureau reviewer's permit form names the permit's enterprise (ids are unique per
    # enterprise); the page they return to does too.
    chosen = base.blank(request.query_params.get("enterprise_id")) if kind == "permit" else None
    body = form.model(
        NoteIn, object_kind=kind, object_id=object_id, text=text, enterprise_id=chosen
    )
    note = note_service.add(conn, who, body)
    # Back to the page the object is shown on.
    if kind == "permit":
        return base.see_other(base.permit_url(who, object_id, note["enterprise_id"], "#notes"))
    return base.see_other(f"/web/hazards/{quote(object_id)}")
