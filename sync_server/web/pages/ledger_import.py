"""The ledger in Excel for the enterprise's admin: download the ledger or a blank
template, upload a workbook, see the preview as a diff (created, updated with each
changed field old -> new, unchanged, every error by sheet, row and field), apply.

The preview carries the previewed workbook in the apply form, so what is applied is what
was previewed; a workbook too large for that is applied by uploading it again with
"import now" (the same all-or-nothing check runs either way).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated
from urllib.parse import quote

from fastapi import File, Form, Request, Response, UploadFile
from fastapi.responses import HTMLResponse

from sync_server.i18n import gettext_for
from sync_server.security import Principal
from sync_server.services import enterprises as enterprise_service
from sync_server.services import ledger_excel
from sync_server.services.tenancy import require_admin_of
from sync_server.web.pages import _base as base
from sync_server.web.pages._base import PageConn, Who

router = base.page_router()

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Starlette reads a form's text field up to 1 MiB: the previewed workbook rides in the
# apply form as base64 when it fits.
CARRY_MAX = 700 * 1024


def _url(enterprise_id: str) -> str:
    return f"/web/enterprises/{quote(enterprise_id)}/ledger/import"


@router.get("/enterprises/{enterprise_id}/ledger/import")
def import_page(request: Request, enterprise_id: str, conn: PageConn, who: Who) -> HTMLResponse:
    require_admin_of(conn, who, enterprise_id)
    ent = enterprise_service.get(conn, enterprise_id)
    return base.render(request, "ledger_import.html", who, ent=ent, url=_url(enterprise_id))


@router.get("/enterprises/{enterprise_id}/ledger.xlsx")
def download(
    request: Request, enterprise_id: str, conn: PageConn, who: Who, template: bool = False
) -> Response:
    require_admin_of(conn, who, enterprise_id)
    zh = gettext_for("zh_CN")  # the workbook is a Chinese document, like the permit PDF
    body = ledger_excel.template(zh) if template else ledger_excel.export(conn, enterprise_id, zh)
    name = f"ledger-{enterprise_id}{'-template' if template else ''}.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _run(
    request: Request,
    conn: PageConn,
    who: Principal,
    enterprise_id: str,
    content: bytes,
    apply: bool,
) -> HTMLResponse:
    ent = enterprise_service.get(conn, enterprise_id)
    result = ledger_excel.import_workbook(
        conn, who, enterprise_id, content, dry_run=not apply, zh=gettext_for("zh_CN")
    )
    carried = base64.b64encode(content).decode() if len(content) <= CARRY_MAX else ""
    by_sheet: dict[str, list[dict[str, object]]] = {}
    for e in result.errors:
        by_sheet.setdefault(e.sheet, []).append(e.as_json())
    return base.render(
        request,
        "ledger_import.html",
        who,
        # a refused workbook answers 422: the page keeps nothing (PageRoute rolls back)
        status_code=422 if result.errors else 200,
        ent=ent,
        url=_url(enterprise_id),
        result=result,
        errors_by_sheet=by_sheet,
        carried=carried,
        digest=hashlib.sha256(content).hexdigest(),
    )


@router.post("/enterprises/{enterprise_id}/ledger/import")
def upload(
    request: Request,
    enterprise_id: str,
    conn: PageConn,
    who: Who,
    csrf: Annotated[str, Form()],
    action: Annotated[str, Form()] = "preview",
    file: Annotated[UploadFile | None, File()] = None,
    carried: Annotated[str, Form()] = "",
    digest: Annotated[str, Form()] = "",
) -> HTMLResponse:
    form = base.FormPost(request, csrf)
    _ = form.gettext
    require_admin_of(conn, who, enterprise_id)
    action = form.one_of(action, ("preview", "apply"), _("choose preview or import"), "action")
    if carried:
        try:
            content = base64.b64decode(carried, validate=True)
        except (binascii.Error, ValueError):
            raise form.refuse(
                _("the previewed workbook was damaged: upload it again"), "carried"
            ) from None
        if hashlib.sha256(content).hexdigest() != digest:
            raise form.refuse(_("the previewed workbook was damaged: upload it again"), "carried")
    elif file is not None and file.filename:
        content = file.file.read()
    else:
        raise form.refuse(_("choose the workbook to upload"), "file")
    return _run(request, conn, who, enterprise_id, content, apply=action == "apply")
