"""The ledger's forms: create, edit and delete every kind of ledger item the rules read
(spaces, people, training, certificates, contractors, detectors, written delegations,
the default profile and stricter limits), and each item's history.

Thin: the form's fields become the item's JSON in ``services.ledger_forms``, the
catalogue names every invalid field at once (``services.ledger_catalogue``), and the
write is the API's own (``services.ledger_edits``). Only an enterprise's admin (or the
operator) writes; a reviewer of its county reads the same form, read-only. A refused
form is the form again (422) with what was entered, and nothing is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sync_server.errors import NotFound
from sync_server.i18n import Gettext
from sync_server.ids import normalised
from sync_server.security import Principal, Role
from sync_server.services import blobs, ledger_changes, ledger_edits
from sync_server.services import enterprises as enterprise_service
from sync_server.services import ledger_catalogue as catalogue
from sync_server.services import ledger_forms as forms
from sync_server.services import names as names_service
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_admin_of, require_visible
from sync_server.web.i18n import request_gettext
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()
ITEMS = "/enterprises/{enterprise_id}/ledger/{kind}"
DOCUMENT = "document_file"  # the delegation's scan, an upload beside the form's fields


def _kind(request: Request, kind: str) -> str:
    if kind not in forms.FORM_KINDS:
        raise NotFound(request_gettext(request)("there is no such page"), code="NOT_FOUND")
    return kind


def _url(enterprise_id: str, kind: str, item_id: str | None = None) -> str:
    url = f"/web/enterprises/{quote(enterprise_id)}/ledger/{quote(kind)}"
    return url + (f"/{quote(item_id, safe='')}" if item_id is not None else "")


def _may_write(who: Principal) -> bool:
    return who.role in (Role.ENTERPRISE_ADMIN, Role.OPERATOR)


def _names(conn: Connection, enterprise_id: str, kind: Kind) -> dict[str, str]:
    """The current items of a kind by id (what a choice offers and a field shows)."""
    return names_service.item_names(conn, enterprise_id, kind, current_only=True)


def _render(
    request: Request,
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    template: str,
    status_code: int = 200,
    **extra: Any,
) -> HTMLResponse:
    """A page of one kind of the ledger: the enterprise, the kind and its catalogue entry."""
    return base.render(
        request,
        template,
        who,
        status_code=status_code,
        ent=enterprise_service.get(conn, enterprise_id),
        kind=kind,
        schema=forms.schema(kind),
        **extra,
    )


def _all_names(conn: Connection, enterprise_id: str) -> dict[str, str]:
    """People, spaces and contractors by id: what a field naming one of them shows."""
    return {
        **_names(conn, enterprise_id, Kind.PERSON),
        **_names(conn, enterprise_id, Kind.SPACE),
        **_names(conn, enterprise_id, Kind.CONTRACTOR),
    }


def _choices(f: Any, _: Gettext) -> list[tuple[str, str]]:
    return [(c.code, _(c.label)) for c in catalogue.choices(f.choices)] if f.choices else []


def _form_page(
    request: Request,
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    item_id: str | None,
    state: forms.State,
    *,
    stored: dict[str, Any] | None,
    errors: list[tuple[str, str]] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """The form of one item (``item_id`` None: a new one); ``errors`` are (input name
    or "", message), each shown next to its input and all in the summary."""
    _ = request_gettext(request)
    by_key: dict[str, list[str]] = {}
    for key, message in errors or []:
        by_key.setdefault(key, []).append(message)
    document = None
    if kind == Kind.DELEGATION.value:
        text, sha = ledger_edits.split_attachment(str(state.values.get("document_ref", "")))
        state.values["document_ref"] = text
        document = sha
    return _render(
        request,
        conn,
        who,
        enterprise_id,
        kind,
        "ledger_form.html",
        status_code,
        fields=forms.inputs(kind),
        widget=lambda f: forms.widget(kind, f),
        choices=lambda f: _choices(f, _),
        open_list=forms.open_list,
        OTHER=forms.OTHER,
        input_id=forms.input_id,
        state=state,
        item_id=item_id,
        errors=errors or [],
        by_key=by_key,
        readonly=not _may_write(who),
        people=_names(conn, enterprise_id, Kind.PERSON),
        contractors=_names(conn, enterprise_id, Kind.CONTRACTOR),
        spaces=_names(conn, enterprise_id, Kind.SPACE),
        derived=catalogue.derive(kind, stored) if stored else {},
        document=document,
        saved=request.query_params.get("saved") == "1",
        action=_url(enterprise_id, kind, item_id if item_id is not None else "new"),
        list_url=_url(enterprise_id, kind),
    )


@router.get(ITEMS)
def item_list(
    request: Request, enterprise_id: str, kind: str, conn: PageConn, who: Who
) -> Response:
    k = _kind(request, kind)
    require_visible(conn, who, enterprise_id)
    _ = request_gettext(request)
    columns = [f for f in forms.inputs(k) if forms.widget(k, f) not in ("rows", "json")]
    columns = columns[:3]
    names = _all_names(conn, enterprise_id)
    gone = request.query_params.get("deleted", "")
    rows = [
        {
            "item_id": r.item_id,
            "summary": [
                ledger_changes.shown(f, forms.field_value(r.data, f.name), _, names)
                for f in columns
            ],
            "url": _url(enterprise_id, k, r.item_id),
        }
        for r in ledger_edits.items(conn, enterprise_id, k)
    ]
    return _render(
        request,
        conn,
        who,
        enterprise_id,
        k,
        "ledger_items.html",
        columns=columns,
        rows=rows,
        may_write=_may_write(who),
        new_url=_url(enterprise_id, k, "new"),
        kinds=[(code, s.label) for code, s in forms.SCHEMAS.items()],
        deleted=ledger_edits.label(conn, enterprise_id, k, normalised(gone), _) if gone else "",
    )


@router.get(ITEMS + "/new")
def new_item(request: Request, enterprise_id: str, kind: str, conn: PageConn, who: Who) -> Response:
    k = _kind(request, kind)
    require_admin_of(conn, who, enterprise_id)
    state = forms.state_of_item(k, {})
    for name in state.rows:
        state.with_blank_row(name)
    return _form_page(request, conn, who, enterprise_id, k, None, state, stored=None)


@router.get(ITEMS + "/{item_id}")
def item_page(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    k = _kind(request, kind)
    require_visible(conn, who, enterprise_id)
    the_id = normalised(item_id)
    data = ledger_edits.stored(conn, enterprise_id, k, the_id)
    if data is None:
        raise NotFound(request_gettext(request)("not found"), code="NOT_FOUND")
    state = forms.state_of_item(k, data)
    if _may_write(who):
        for name in state.rows:
            state.with_blank_row(name)
    return _form_page(request, conn, who, enterprise_id, k, the_id, state, stored=data)


async def _posted(request: Request) -> tuple[forms.Form, ledger_edits.Upload | None]:
    raw = await request.form()
    upload = raw.get(DOCUMENT)
    file = None
    if isinstance(upload, UploadFile) and upload.filename:
        content_type = upload.content_type or "application/octet-stream"
        file = ledger_edits.Upload(await upload.read(), content_type)
    return forms.Form(list(raw.multi_items())), file


@dataclass(frozen=True)
class _Post:
    """A form posted to one item's page (``item_id`` ``new``: a new item)."""

    request: Request
    conn: Connection
    who: Principal
    enterprise_id: str
    kind: str
    item_id: str
    form: forms.Form


@router.post(ITEMS + "/{item_id}")
async def save_item(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    """Save the form. Every invalid field is named at once; a refusal stores nothing
    (``PageRoute`` rolls back a 422)."""
    form, upload = await _posted(request)
    post = _Post(request, conn, who, enterprise_id, kind, item_id, form)
    return await run_in_threadpool(_save, post, upload)


def _save(post: _Post, upload: ledger_edits.Upload | None) -> Response:
    check = FormPost(post.request, post.form.get("csrf"))
    k = _kind(post.request, post.kind)
    item_id = None if post.item_id == "new" else post.item_id
    add_row = post.form.get("_add_row")
    if add_row:
        # "Add a row": the form again with one more, nothing checked or stored.
        require_admin_of(post.conn, post.who, post.enterprise_id)
        state = forms.with_added_row(k, post.form, post.enterprise_id, add_row)
        return _form_page(
            post.request, post.conn, post.who, post.enterprise_id, k, item_id, state, stored=None
        )
    done = ledger_edits.submit(
        post.conn, post.who, post.enterprise_id, k, item_id, post.form, upload, check.gettext
    )
    if done.saved:
        return base.see_other(_url(post.enterprise_id, k, done.item_id) + "?saved=1")
    for name in done.state.rows:
        done.state.with_blank_row(name)
    return _form_page(
        post.request,
        post.conn,
        post.who,
        post.enterprise_id,
        k,
        item_id,
        done.state,
        stored=None,
        errors=done.errors,
        status_code=422,
    )


@router.post(ITEMS + "/{item_id}/delete")
async def delete_item(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    form, _upload = await _posted(request)
    post = _Post(request, conn, who, enterprise_id, kind, item_id, form)
    return await run_in_threadpool(_delete, post)


def _delete(post: _Post) -> Response:
    FormPost(post.request, post.form.get("csrf"))
    k = _kind(post.request, post.kind)
    the_id = normalised(post.item_id)
    ledger_edits.delete_any(post.conn, post.who, post.enterprise_id, k, the_id)
    return base.see_other(_url(post.enterprise_id, k) + f"?deleted={quote(the_id)}")


@router.get(ITEMS + "/{item_id}/history")
def item_history(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    k = _kind(request, kind)
    require_visible(conn, who, enterprise_id)
    _ = request_gettext(request)
    the_id = normalised(item_id)
    names = _all_names(conn, enterprise_id)
    versions = ledger_changes.history(conn, enterprise_id, k, the_id, _, names)
    if not versions:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return _render(
        request,
        conn,
        who,
        enterprise_id,
        k,
        "ledger_history.html",
        item_id=the_id,
        item_label=ledger_edits.label(conn, enterprise_id, k, the_id, _),
        versions=versions,
        item_url=_url(enterprise_id, k, the_id),
        list_url=_url(enterprise_id, k),
    )


@router.get("/enterprises/{enterprise_id}/documents/{sha256}")
def document(
    request: Request, enterprise_id: str, sha256: str, conn: PageConn, who: Who
) -> Response:
    """A stored document (a written delegation's scan), to whoever may read the ledger."""
    require_visible(conn, who, enterprise_id)
    row = blobs.get(conn, enterprise_id, "attachment", blobs.check_digest(sha256))
    return Response(
        row.data,
        media_type=row.content_type or "application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{sha256[:12]}"',
            "Cache-Control": "no-store",
        },
    )
