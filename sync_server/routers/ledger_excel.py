"""The ledger's catalogue (``GET /api/v1/ledger-schema``: every kind's fields, labels,
types and allowed values, the documentation of ``PUT /api/v1/enterprises/{id}/{kind}/
{item}``) and the ledger in Excel (``/api/v1/enterprises/{id}/ledger.xlsx``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from sync_server.deps import Conn, CurrentPrincipal
from sync_server.i18n import gettext_for
from sync_server.security import Role
from sync_server.services import ledger_catalogue, ledger_excel
from sync_server.services.tenancy import require_admin_of, require_role, require_visible

router = APIRouter(prefix="/api/v1", tags=["reference"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/ledger-schema")
def ledger_schema(who: CurrentPrincipal) -> dict[str, Any]:
    """Each ledger kind with its fields in order: the API field name (dotted inside a
    nested object), the label (in the reader's language, and ``label_zh``), the type
    (``text``, ``date``, ``datetime``, ``number``, ``bool``, ``choice``, ``multi-choice``,
    ``list``, ``list-of-ids``, ``nested-rows``, ``json``), whether required, the choice
    list it takes its values from (``closed``: only those; open: suggestions), and
    whether the core derives it (never an input). ``choices`` names every value."""
    del who  # any signed-in principal may read the catalogue
    return ledger_catalogue.catalogue_json()


class ImportError_(BaseModel):
    sheet: str = Field(description="the sheet's name as in the workbook")
    row: int = Field(description="the row as Excel numbers it (the header is 1; 0: the file)")
    column: str = Field(description="the field (the API's name); empty: the whole row or sheet")
    message: str


class ImportChange(BaseModel):
    kind: str
    item_id: str
    sheet: str
    row: int
    action: str = Field(description="created or updated")
    fields: list[dict[str, str]] = Field(description="field, label, before, after")


class ImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    errors: list[ImportError_]
    changes: list[ImportChange]
    applied: bool = Field(description="false for a dry run or when any row is wrong")


@router.get(
    "/enterprises/{enterprise_id}/ledger.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}}},
)
def export_ledger(
    enterprise_id: str,
    conn: Conn,
    who: CurrentPrincipal,
    template: Annotated[bool, Query(description="true: the blank workbook")] = False,
) -> Response:
    """The enterprise's ledger as an Excel workbook: one sheet per kind, headers
    ``中文名 (field)``, nested rows on their own sheets keyed by the parent's id, a sheet
    of allowed values behind the dropdowns. No PIN hash, password or key is in it."""
    require_visible(conn, who, enterprise_id)
    require_role(who, Role.ENTERPRISE_ADMIN, Role.OPERATOR, Role.BUREAU_REVIEWER)
    zh = gettext_for("zh_CN")
    body = ledger_excel.template(zh) if template else ledger_excel.export(conn, enterprise_id, zh)
    name = f"ledger-{enterprise_id}{'-template' if template else ''}.xlsx"
    return Response(
        body, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@router.post(
    "/enterprises/{enterprise_id}/ledger.xlsx",
    response_model=ImportOut,
    responses={422: {"model": ImportOut, "description": "every error; nothing stored"}},
)
def import_ledger(
    enterprise_id: str,
    conn: Conn,
    who: CurrentPrincipal,
    file: Annotated[UploadFile, File(description="the workbook (.xlsx)")],
    dry_run: Annotated[bool, Query(description="true: check and preview, store nothing")] = False,
) -> Any:
    """Import the workbook all or nothing: 200 with what was created, updated and left
    unchanged (``dry_run``: what would be); 422 with every error, at its sheet, Excel
    row and field, and nothing stored. Items the workbook leaves out stay as they are;
    a column or nested sheet it leaves out keeps the stored values."""
    require_admin_of(conn, who, enterprise_id)
    content = file.file.read()
    result = ledger_excel.import_workbook(
        conn, who, enterprise_id, content, dry_run=dry_run, zh=gettext_for("zh_CN")
    )
    if result.errors:
        return JSONResponse(result.as_json(), status_code=422)
    return result.as_json()
