"""Sign-on codes (a person's first PIN on a tablet) and pending enrolment codes: the
enterprise admin's side and the tablet's one online step (docs/server.md)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sync_server.deps import AppEngine, AppSettings, Conn, CurrentPrincipal
from sync_server.errors import NotFound
from sync_server.i18n import gettext as _
from sync_server.security import Role
from sync_server.services import enrolments
from sync_server.services import signon_codes as signon
from sync_server.services.tenancy import require_admin_of, require_role

router = APIRouter(prefix="/api/v1", tags=["sign-on codes"])


class SignOnCodeInfo(BaseModel):
    code_id: str
    person_id: str
    person_name: str
    created_at: str
    expires_at: str
    used_at: str | None
    revoked_at: str | None
    state: str = Field(description="issued | used | expired | revoked")


class SignOnCodeOut(SignOnCodeInfo):
    code: str = Field(description="shown once, stored only as a hash; print it for the person")


class RedeemIn(BaseModel):
    code: str = Field(min_length=4, max_length=32)
    person_id: str = Field(min_length=1, max_length=64)
    pin_hash: str = Field(
        max_length=200, description="the tablet's Argon2id hash of the chosen PIN (never the PIN)"
    )


class RedeemOut(BaseModel):
    person_id: str
    name: str


class EnrolmentCodeInfo(BaseModel):
    code_id: str
    label: str
    created_at: str
    expires_at: str
    used_at: str | None
    revoked_at: str | None
    device_id: str | None
    state: str = Field(description="pending | used | expired | revoked")


@router.post(
    "/enterprises/{enterprise_id}/people/{person_id}/signon-codes",
    response_model=SignOnCodeOut,
    status_code=201,
)
def issue_signon_code(
    enterprise_id: str, person_id: str, conn: Conn, who: CurrentPrincipal
) -> SignOnCodeOut:
    """A one-time code for a person of the ledger; their older open codes are revoked."""
    require_admin_of(conn, who, enterprise_id)
    code, row = signon.issue(conn, who, enterprise_id, person_id)
    return SignOnCodeOut(code=code, **row)


@router.get("/enterprises/{enterprise_id}/signon-codes", response_model=list[SignOnCodeInfo])
def list_signon_codes(
    enterprise_id: str, conn: Conn, who: CurrentPrincipal
) -> list[SignOnCodeInfo]:
    require_admin_of(conn, who, enterprise_id)
    return [SignOnCodeInfo(**r) for r in signon.listing(conn, enterprise_id)]


@router.delete("/enterprises/{enterprise_id}/signon-codes/{code_id}", status_code=204)
def revoke_signon_code(enterprise_id: str, code_id: str, conn: Conn, who: CurrentPrincipal) -> None:
    require_admin_of(conn, who, enterprise_id)
    if not signon.revoke(conn, who, enterprise_id, code_id):
        raise NotFound(_("no open sign-on code with this id"), code="NOT_FOUND")


@router.post("/signon", response_model=RedeemOut)
def redeem_signon_code(
    body: RedeemIn, engine: AppEngine, settings: AppSettings, who: CurrentPrincipal
) -> RedeemOut:
    """The tablet (device token): the person's code and the hash of the PIN they chose.
    Checked now, online: bound to the person and the device's enterprise, single use,
    expiring; wrong codes are throttled per tablet and per enterprise (429)."""
    require_role(who, Role.DEVICE)
    redeemed = signon.redeem(engine, settings, who, body.code, body.person_id, body.pin_hash)
    return RedeemOut(**redeemed)


@router.get("/enrollments", response_model=list[EnrolmentCodeInfo])
def list_enrolment_codes(
    conn: Conn, who: CurrentPrincipal, enterprise_id: str | None = None, pending: bool = False
) -> list[EnrolmentCodeInfo]:
    """The enterprise's enrolment codes (``pending=true``: only those a tablet can use)."""
    eid = enterprise_id or who.enterprise_id
    if eid is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    require_admin_of(conn, who, eid)
    return [EnrolmentCodeInfo(**c) for c in enrolments.codes_of(conn, eid, pending_only=pending)]


@router.delete("/enrollments/{code_id}", status_code=204)
def revoke_enrolment_code(
    code_id: str, conn: Conn, who: CurrentPrincipal, enterprise_id: str | None = None
) -> None:
    eid = enterprise_id or who.enterprise_id
    if eid is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    require_admin_of(conn, who, eid)
    if not enrolments.revoke_code(conn, who, eid, code_id):
        raise NotFound(_("no pending enrolment code with this id"), code="NOT_FOUND")
