"""Reference data admin API (ledger, people, training, certificates, detectors, profile
overrides) and the tablets' pull: ``GET /api/v1/sync/reference?cursor=``."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Body, Path, Query, Response
from pydantic import BaseModel, Field

from sync_server.deps import AppSettings, Conn, CurrentPrincipal
from sync_server.errors import Forbidden, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.ids import normalised, safe_id
from sync_server.security import Role
from sync_server.services import enrolments, ledger_edits, ledger_history, public_codes
from sync_server.services import reference as ref
from sync_server.services.reference import Kind
from sync_server.services.tenancy import require_role, require_visible
from sync_server.storage import DB_INT_MAX

router = APIRouter(prefix="/api/v1", tags=["reference"])


class ItemOut(BaseModel):
    kind: str
    item_id: str
    enterprise_id: str
    data: dict[str, Any]
    rev: int
    updated_at: str


class ReferenceChange(BaseModel):
    kind: str
    item_id: str
    deleted: bool
    data: dict[str, Any] | None
    rev: int


class ReferencePull(BaseModel):
    cursor: int = Field(description="pass back as ?cursor= to get only later changes")
    more: bool = Field(description="true: call again with the new cursor at once")
    enterprise: dict[str, Any] | None
    items: list[ReferenceChange]
    hazards: list[dict[str, Any]]
    profiles: list[str] = Field(description="the profiles this server knows")
    simops: list[dict[str, Any]] = Field(
        default_factory=list,
        description="the SIMOPS conflicts standing now between the enterprise's open permits",
    )
    public_codes: list[dict[str, str]] = Field(
        default_factory=list,
        description="every space's current public token (the QR on its warning card), all "
        "of them on every pull: {token, space_id}",
    )


class QrOut(BaseModel):
    payload: str = Field(description="what the QR code encodes (安全风险码上查)")
    svg: str


def _readers(who: Any) -> None:
    # The aggregator reads only its feed.
    require_role(who, Role.ENTERPRISE_ADMIN, Role.OPERATOR, Role.BUREAU_REVIEWER, Role.DEVICE)


def _item(row: Any) -> ItemOut:
    return ItemOut(
        kind=row.kind,
        item_id=row.item_id,
        enterprise_id=row.enterprise_id,
        data=row.data,
        rev=row.rev,
        updated_at=row.updated_at,
    )


@router.get("/enterprises/{enterprise_id}/{kind}", response_model=list[ItemOut])
def list_reference(
    enterprise_id: str, kind: Kind, conn: Conn, who: CurrentPrincipal
) -> list[ItemOut]:
    require_visible(conn, who, enterprise_id)
    _readers(who)
    return [_item(r) for r in ref.list_items(conn, enterprise_id, kind)]


@router.get("/enterprises/{enterprise_id}/{kind}/{item_id}", response_model=ItemOut)
def get_reference(
    enterprise_id: str, kind: Kind, item_id: str, conn: Conn, who: CurrentPrincipal
) -> ItemOut:
    require_visible(conn, who, enterprise_id)
    _readers(who)
    return _item(ref.get(conn, enterprise_id, kind, normalised(item_id)))


class ItemVersion(BaseModel):
    version: int
    valid_from: str = Field(description="when this version became valid (server time, UTC)")
    changed_by: str = Field(description="the account that wrote it; empty when not known")
    deleted: bool
    data: dict[str, Any] | None
    rev: int


@router.get(
    "/enterprises/{enterprise_id}/{kind}/{item_id}/history", response_model=list[ItemVersion]
)
def reference_history(
    enterprise_id: str,
    kind: Kind,
    item_id: str,
    conn: Conn,
    who: CurrentPrincipal,
    at: Annotated[
        datetime | None,
        Query(description="ISO 8601 with offset: only the version valid at that time"),
    ] = None,
) -> list[ItemVersion]:
    """Every version of one ledger item, oldest first; with ``at``, the one that stood
    then (an empty list: the ledger did not hold the item at that time)."""
    require_visible(conn, who, enterprise_id)
    _readers(who)
    if at is not None and at.tzinfo is None:
        raise Unprocessable(
            _("a time with its offset, e.g. +08:00"), code="VALIDATION_ERROR", field="at"
        )
    versions = ledger_history.history(conn, enterprise_id, kind.value, item_id)
    if at is not None:
        version = ledger_history.version_at(conn, enterprise_id, kind.value, item_id, at)
        versions = [v for v in versions if v["version"] == version]
    return [ItemVersion(**v) for v in versions]


@router.put("/enterprises/{enterprise_id}/{kind}/{item_id}", response_model=ItemOut)
def put_reference(
    enterprise_id: str,
    kind: Kind,
    item_id: Annotated[str, Path(max_length=200)],
    data: Annotated[
        dict[str, Any],
        Body(description="the item's fields as GET /api/v1/ledger-schema lists them for the kind"),
    ],
    conn: Conn,
    who: CurrentPrincipal,
    response: Response,
) -> ItemOut:
    """Create or replace one item. A profile override must be stricter (422 otherwise).
    ``item_id`` is NFKC-normalised, then letters A-Z, digits and ``_ . : - @`` (422
    ``ID_INVALID`` otherwise): no control characters, no look-alikes. The body's fields,
    labels and allowed values: ``GET /api/v1/ledger-schema``. A 422 names the first
    invalid field (``field``, ``code``) and lists every one in ``errors``."""
    item_id = safe_id(item_id, "item_id")
    before, _after = ledger_edits.save(conn, who, enterprise_id, kind, item_id, data)
    if before is None:
        response.status_code = 201
    return _item(ref.get(conn, enterprise_id, kind, item_id))


@router.delete("/enterprises/{enterprise_id}/{kind}/{item_id}", status_code=204)
def delete_reference(
    enterprise_id: str, kind: Kind, item_id: str, conn: Conn, who: CurrentPrincipal
) -> None:
    item_id = normalised(item_id)
    ledger_edits.remove(conn, who, enterprise_id, kind, item_id)


@router.get("/enterprises/{enterprise_id}/spaces/{space_id}/qr", response_model=QrOut)
def space_qr(
    enterprise_id: str, space_id: str, conn: Conn, who: CurrentPrincipal, settings: AppSettings
) -> QrOut:
    """The space's QR code: the tablet opens the space, a phone its public page
    (``/q/{token}``, 码上查). 422 ``PUBLIC_BASE_URL_MISSING`` while the server's public
    address is not set."""
    require_visible(conn, who, enterprise_id)
    _readers(who)
    ref.get(conn, enterprise_id, Kind.SPACE, space_id)
    payload = public_codes.card_url(conn, settings.public_base_url, enterprise_id, space_id)
    out = io.BytesIO()
    segno.make(payload, error="m").save(out, kind="svg", scale=4)
    return QrOut(payload=payload, svg=out.getvalue().decode())


@router.get("/sync/reference", response_model=ReferencePull, tags=["sync"])
def pull_reference(
    conn: Conn,
    who: CurrentPrincipal,
    cursor: Annotated[int, Query(ge=0, le=DB_INT_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    enterprise_id: str | None = None,
) -> ReferencePull:
    """Reference data changed since ``cursor`` (0: everything), for the device's enterprise.
    Admins may call it too (for their own enterprise)."""
    require_role(who, Role.DEVICE, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
    eid = who.enterprise_id if who.role is not Role.OPERATOR else enterprise_id
    if eid is None:
        raise Unprocessable(
            _("which enterprise? give enterprise_id"),
            code="ENTERPRISE_REQUIRED",
            field="enterprise_id",
        )
    if enterprise_id is not None and enterprise_id != eid:
        raise Forbidden(_("a device pulls only its own enterprise"), code="TENANT_FORBIDDEN")
    require_visible(conn, who, eid)
    changes = ref.changes_since(conn, eid, cursor, limit)
    # the devices page shows each tablet's last sync and how old its ledger is
    enrolments.seen(conn, who, pulled_ledger=not changes["more"])
    public_codes.note_contact(conn, who)
    return ReferencePull(**changes, public_codes=public_codes.tablet_codes(conn, eid))
