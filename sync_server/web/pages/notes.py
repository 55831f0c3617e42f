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


# The page each kind of object is shown on, where the browser returns after the note.
_PAGES: dict[ObjectKind, str] = {"permit": "/web/permits/{}#notes", "hazard": "/web/hazards/{}"}


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
    body = form.model(NoteIn, object_kind=kind, object_id=object_id, text=text)
    note_service.add(conn, who, body)
    return base.see_other(_PAGES[kind].format(quote(object_id)))
