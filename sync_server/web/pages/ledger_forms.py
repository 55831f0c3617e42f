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

from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from sync_server.errors import NotFound, Unprocessable
from sync_server.i18n import Gettext
from sync_server.ids import id_problem, normalised
from sync_server.security import Principal, Role
from sync_server.services import blobs, ledger_changes, ledger_edits
from sync_server.services import enterprises as enterprise_service
from sync_server.services import ledger_catalogue as catalogue
from sync_server.services import ledger_forms as forms
from sync_server.services import reference as ref
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_admin_of, require_visible
from sync_server.web.i18n import request_gettext
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import FormPost, PageConn, Who

router = base.page_router()
ITEMS = "/enterprises/{enterprise_id}/ledger/{kind}"
DOCUMENT = "document_file"  # the delegation's scan, an upload beside the form's fields


def _kind(kind: str) -> Kind:
    if kind not in forms.FORM_KINDS:
        raise NotFound("not found", code="NOT_FOUND")
    return Kind(kind)


def _url(enterprise_id: str, kind: str, item_id: str | None = None) -> str:
    url = f"/web/enterprises/{quote(enterprise_id)}/ledger/{quote(kind)}"
    return url + (f"/{quote(item_id, safe='')}" if item_id is not None else "")


def _may_write(who: Principal) -> bool:
    return who.role in (Role.ENTERPRISE_ADMIN, Role.OPERATOR)


def _names(conn: Connection, enterprise_id: str, kind: Kind) -> dict[str, str]:
    return {
        r.item_id: str(r.data.get("name") or r.item_id)
        for r in ref.list_items(conn, enterprise_id, kind)
    }


def _choices(f: Any, _: Gettext) -> list[tuple[str, str]]:
    return [(c.code, _(c.label)) for c in catalogue.choices(f.choices)] if f.choices else []


def _form_page(
    request: Request,
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: Kind,
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
    if kind is Kind.DELEGATION:
        text, sha = ledger_edits.split_attachment(str(state.values.get("document_ref", "")))
        state.values["document_ref"] = text
        document = sha
    return base.render(
        request,
        "ledger_form.html",
        who,
        status_code=status_code,
        ent=enterprise_service.get(conn, enterprise_id),
        kind=kind.value,
        schema=catalogue.kind_schema(kind.value),
        fields=forms.inputs(kind.value),
        widget=lambda f: forms.widget(kind.value, f),
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
        derived=catalogue.derive(kind.value, stored) if stored else {},
        document=document,
        saved=request.query_params.get("saved") == "1",
        action=_url(enterprise_id, kind.value, item_id if item_id is not None else "new"),
        list_url=_url(enterprise_id, kind.value),
    )


@router.get(ITEMS)
def item_list(
    request: Request, enterprise_id: str, kind: str, conn: PageConn, who: Who
) -> Response:
    k = _kind(kind)
    require_visible(conn, who, enterprise_id)
    _ = request_gettext(request)
    schema = catalogue.kind_schema(k.value)
    rows = []
    for r in ref.list_items(conn, enterprise_id, k):
        summary = [
            ledger_changes.shown(f, forms.field_value(r.data, f.name), _)
            for f in forms.inputs(k.value)[:3]
            if forms.widget(k.value, f) not in ("rows", "json")
        ]
        rows.append(
            {
                "item_id": r.item_id,
                "summary": summary,
                "url": _url(enterprise_id, k.value, r.item_id),
            }
        )
    return base.render(
        request,
        "ledger_items.html",
        who,
        ent=enterprise_service.get(conn, enterprise_id),
        kind=k.value,
        schema=schema,
        columns=[
            f for f in forms.inputs(k.value)[:3] if forms.widget(k.value, f) not in ("rows", "json")
        ],
        rows=rows,
        may_write=_may_write(who),
        new_url=_url(enterprise_id, k.value, "new"),
        kinds=[(c.kind, c.label) for c in catalogue.CATALOGUE],
        deleted=request.query_params.get("deleted", ""),
    )


@router.get(ITEMS + "/new")
def new_item(request: Request, enterprise_id: str, kind: str, conn: PageConn, who: Who) -> Response:
    k = _kind(kind)
    require_admin_of(conn, who, enterprise_id)
    state = forms.state_of_item(k.value, {})
    for name in state.rows:
        state.with_blank_row(name)
    return _form_page(request, conn, who, enterprise_id, k, None, state, stored=None)


@router.get(ITEMS + "/{item_id}")
def item_page(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    k = _kind(kind)
    require_visible(conn, who, enterprise_id)
    row = ref.get(conn, enterprise_id, k, normalised(item_id))
    state = forms.state_of_item(k.value, row.data)
    if _may_write(who):
        for name in state.rows:
            state.with_blank_row(name)
    return _form_page(request, conn, who, enterprise_id, k, row.item_id, state, stored=row.data)


async def _posted(request: Request) -> tuple[forms.Form, UploadFile | None, bytes]:
    raw = await request.form()
    upload = raw.get(DOCUMENT)
    document = b""
    if isinstance(upload, UploadFile) and upload.filename:
        document = await upload.read()
    else:
        upload = None
    return forms.Form(list(raw.multi_items())), upload, document


@router.post(ITEMS + "/{item_id}")
async def save_item(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    """Save the form (``item_id`` ``new``: the id is the form's). Every invalid field is
    named at once; a refusal stores nothing (``PageRoute`` rolls back a 422)."""
    posted, upload, document = await _posted(request)
    return await run_in_threadpool(
        _save, request, conn, who, enterprise_id, kind, item_id, posted, upload, document
    )


def _save(
    request: Request,
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    item_id: str,
    posted: forms.Form,
    upload: UploadFile | None,
    document: bytes,
) -> Response:
    form = FormPost(request, posted.get("csrf"))
    _ = form.gettext
    k = _kind(kind)
    require_admin_of(conn, who, enterprise_id)
    is_new = item_id == "new"
    the_id = normalised(posted.get("item_id").strip()) if is_new else normalised(item_id)
    before = ref.find(conn, enterprise_id, k, the_id) if the_id else None
    if not is_new and before is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    parsed = forms.parse(k.value, posted, enterprise_id)
    on_form = {f.name.split(".")[0] for f in forms.inputs(k.value)}
    data = {**ledger_edits.carried_over(before.data if before else None, on_form), **parsed.data}
    data = forms.keep_unchanged_times(k.value, data, before.data if before else None)
    kept: str | None = None
    if k is Kind.DELEGATION:
        # The scan stays the stored one unless a new file is chosen or it is removed.
        kept = (
            ledger_edits.split_attachment(str(before.data.get("document_ref", "")))[1]
            if before
            else None
        )
        if posted.get("document_remove") == "1":
            kept = None
        sha = kept
        if upload is not None:
            sha = ledger_edits.attach(
                conn, enterprise_id, document, upload.content_type or "application/octet-stream"
            )
        data["document_ref"] = ledger_edits.with_attachment(str(data.get("document_ref", "")), sha)
    state = forms.state_of_item(k.value, data, parsed.unread)
    known = state.known()
    shown_id = item_id if not is_new else None
    add_row = posted.get("_add_row")
    if add_row in state.rows:
        # "Add a row": the form again with one more, nothing checked or stored.
        while len(state.rows[add_row]) <= len(forms.row_numbers(posted, add_row)):
            state.with_blank_row(add_row)
        state.values["item_id"] = posted.get("item_id")
        return _form_page(request, conn, who, enterprise_id, k, shown_id, state, stored=None)
    errors: list[tuple[str, str]] = []
    if is_new:
        state.values["item_id"] = posted.get("item_id")
        schema = catalogue.kind_schema(k.value)
        problem = id_problem(the_id)
        if problem is not None:
            errors.append(("item_id", f"{_(schema.id_label)}: {problem}"))
        elif before is not None:
            errors.append(
                (
                    "item_id",
                    _("{label}: {id} is already in the ledger; open it to change it").format(
                        label=_(schema.id_label), id=the_id
                    ),
                )
            )
    for key in parsed.unread:
        errors.append(
            (key, _("{label}: not valid JSON").format(label=_(_field_label(k.value, key))))
        )
    for e in catalogue.validate_all(k.value, the_id or "-", data, enterprise_id, _):
        errors.append((forms.form_key(e.field, known), e.message))
    if not errors:
        try:
            ledger_edits.save(conn, who, enterprise_id, k, the_id, data)
        except Unprocessable as exc:  # a check beyond the model's (one override per base)
            errors.append((forms.form_key(exc.field or "", known), exc.message))
    if errors:
        if upload is not None:
            # A refused form keeps no file: the person chooses it again.
            text = ledger_edits.split_attachment(str(data.get("document_ref", "")))[0]
            state.values["document_ref"] = ledger_edits.with_attachment(text, kept)
            errors.append(
                (
                    "document_ref",
                    _("the chosen file was not kept: choose it again after correcting the form"),
                )
            )
        for name in state.rows:
            state.with_blank_row(name)
        return _form_page(
            request,
            conn,
            who,
            enterprise_id,
            k,
            shown_id,
            state,
            stored=None,
            errors=errors,
            status_code=422,
        )
    return base.see_other(_url(enterprise_id, k.value, the_id) + "?saved=1")


def _field_label(kind: str, key: str) -> str:
    f = catalogue.kind_schema(kind).field(key)
    return f.label if f else key


@router.post(ITEMS + "/{item_id}/delete")
async def delete_item(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    posted, _upload, _doc = await _posted(request)
    return await run_in_threadpool(
        _delete, request, conn, who, enterprise_id, kind, item_id, posted
    )


def _delete(
    request: Request,
    conn: Connection,
    who: Principal,
    enterprise_id: str,
    kind: str,
    item_id: str,
    posted: forms.Form,
) -> Response:
    FormPost(request, posted.get("csrf"))
    k = _kind(kind)
    the_id = normalised(item_id)
    ledger_edits.remove(conn, who, enterprise_id, k, the_id)
    return base.see_other(_url(enterprise_id, k.value) + f"?deleted={quote(the_id)}")


@router.get(ITEMS + "/{item_id}/history")
def item_history(
    request: Request, enterprise_id: str, kind: str, item_id: str, conn: PageConn, who: Who
) -> Response:
    k = _kind(kind)
    require_visible(conn, who, enterprise_id)
    _ = request_gettext(request)
    the_id = normalised(item_id)
    names = {
        **_names(conn, enterprise_id, Kind.PERSON),
        **_names(conn, enterprise_id, Kind.SPACE),
        **_names(conn, enterprise_id, Kind.CONTRACTOR),
    }
    versions = ledger_changes.history(conn, enterprise_id, k.value, the_id, _, names)
    if not versions:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return base.render(
        request,
        "ledger_history.html",
        who,
        ent=enterprise_service.get(conn, enterprise_id),
        kind=k.value,
        schema=catalogue.kind_schema(k.value),
        item_id=the_id,
        versions=versions,
        item_url=_url(enterprise_id, k.value, the_id),
        list_url=_url(enterprise_id, k.value),
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
