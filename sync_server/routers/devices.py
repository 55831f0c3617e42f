"""Device enrollment: a one-time code from an enterprise admin, then the tablet's key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sync_server.deps import AppSettings, Conn, CurrentPrincipal
from sync_server.errors import Unprocessable
from sync_server.i18n import gettext as _
from sync_server.security import Role
from sync_server.services import accounts as account_service
from sync_server.services import audit
from sync_server.services.tenancy import require_admin_of, require_role, require_visible

router = APIRouter(prefix="/api/v1", tags=["devices"])


class EnrollmentIn(BaseModel):
    label: str = Field(default="", max_length=200, description="e.g. 'tablet at the molasses tank'")
    enterprise_id: str | None = Field(
        default=None, description="defaults to the admin's own enterprise"
    )


class EnrollmentOut(BaseModel):
    code: str = Field(description="one-time code; shown once, stored only as a hash")
    enterprise_id: str
    expires_at: str


class DeviceIn(BaseModel):
    code: str = Field(min_length=4, max_length=32)
    public_key: str = Field(description="the tablet's Ed25519 public key, raw 32 bytes, base64")
    label: str = Field(default="", max_length=200)


class DeviceOut(BaseModel):
    device_id: str
    enterprise_id: str
    token: str = Field(description="bearer token bound to this device and key; revocable")
    token_type: str = "bearer"


class DeviceInfo(BaseModel):
    device_id: str
    enterprise_id: str
    label: str
    public_key: str
    enrolled_at: str
    revoked_at: str | None


def _info(row: Any) -> DeviceInfo:
    return DeviceInfo(
        device_id=row.device_id,
        enterprise_id=row.enterprise_id,
        label=row.label,
        public_key=row.public_key_b64,
        enrolled_at=row.enrolled_at,
        revoked_at=row.revoked_at,
    )


@router.post("/enrollments", response_model=EnrollmentOut, status_code=201)
def create_enrollment(
    body: EnrollmentIn, conn: Conn, who: CurrentPrincipal, settings: AppSettings
) -> EnrollmentOut:
    """Enterprise admin: make a one-time code a tablet trades for a device token."""
    require_role(who, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
    enterprise_id = body.enterprise_id or who.enterprise_id
    if enterprise_id is None:
        raise Unprocessable(
            _("which enterprise? give enterprise_id"),
            code="ENTERPRISE_REQUIRED",
            field="enterprise_id",
        )
    require_admin_of(conn, who, enterprise_id)
    code, expires = account_service.create_enrollment_code(
        conn, settings, who, enterprise_id, body.label
    )
    audit.record(
        conn,
        who,
        "enrollment.create",
        "enrollment",
        body.label or "-",
        enterprise_id=enterprise_id,
        after={"label": body.label, "expires_at": expires},
    )
    return EnrollmentOut(code=code, enterprise_id=enterprise_id, expires_at=expires)


@router.post("/devices", response_model=DeviceOut, status_code=201)
def enroll_device(body: DeviceIn, conn: Conn, settings: AppSettings) -> DeviceOut:
    """The tablet's side: no bearer token, the one-time code is the credential."""
    device_id, token, enterprise_id = account_service.enroll_device(
        conn, settings, body.code, body.public_key, body.label
    )
    return DeviceOut(device_id=device_id, enterprise_id=enterprise_id, token=token)


@router.get("/devices", response_model=list[DeviceInfo])
def list_devices(
    conn: Conn, who: CurrentPrincipal, enterprise_id: str | None = None
) -> list[DeviceInfo]:
    require_role(who, Role.ENTERPRISE_ADMIN, Role.OPERATOR, Role.BUREAU_REVIEWER)
    eid = enterprise_id or who.enterprise_id
    require_visible(conn, who, eid)
    return [_info(r) for r in account_service.devices_of(conn, eid)]


@router.delete("/devices/{device_id}", status_code=204)
def revoke_device(device_id: str, conn: Conn, who: CurrentPrincipal) -> None:
    """Revoke a lost or retired tablet: its token stops working at once."""
    row = account_service.device_row(conn, device_id)
    require_admin_of(conn, who, row.enterprise_id)
    account_service.revoke_device(conn, device_id)
    audit.record(
        conn,
        who,
        "device.revoke",
        "device",
        device_id,
        enterprise_id=row.enterprise_id,
        before=_info(row).model_dump(),
        after={"revoked": True},
    )
