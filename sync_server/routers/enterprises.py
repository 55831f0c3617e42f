"""Enterprises and people accounts (admins, reviewers, aggregators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sync_server.deps import AppPasswords, Conn, CurrentPrincipal
from sync_server.errors import Forbidden
from sync_server.i18n import gettext as _
from sync_server.security import Role
from sync_server.services import accounts as account_service
from sync_server.services import audit
from sync_server.services import enterprises as enterprise_service
from sync_server.services import simops as simops_service
from sync_server.services.tenancy import require_role, require_visible

router = APIRouter(prefix="/api/v1", tags=["enterprises"])


class EnterpriseIn(BaseModel):
    enterprise_id: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1, max_length=200)
    credit_code: str = Field(description="统一社会信用代码, 18 characters with its check character")
    jurisdiction: str = Field(
        pattern=r"^[0-9]{2,12}$", description="administrative division code of the bureau"
    )
    details: dict[str, Any] = Field(default_factory=dict)


class EnterprisePatch(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    details: dict[str, Any] | None = None


class EnterpriseOut(BaseModel):
    enterprise_id: str
    name: str
    credit_code: str
    jurisdiction: str
    details: dict[str, Any]
    created_at: str
    updated_at: str


class AccountIn(BaseModel):
    username: str = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=8, max_length=512)
    role: Role
    display_name: str = Field(default="", max_length=200)
    enterprise_id: str | None = None
    jurisdiction: str | None = Field(default=None, pattern=r"^[0-9]{2,12}$")


class AccountOut(BaseModel):
    account_id: str
    username: str
    role: str
    display_name: str
    enterprise_id: str | None
    jurisdiction: str | None
    disabled: bool = False


class PasswordIn(BaseModel):
    password: str = Field(min_length=8, max_length=512)


def _out(row: Any) -> EnterpriseOut:
    return EnterpriseOut(
        enterprise_id=row.enterprise_id,
        name=row.name,
        credit_code=row.credit_code,
        jurisdiction=row.jurisdiction,
        details=row.data,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201)
def create_enterprise(body: EnterpriseIn, conn: Conn, who: CurrentPrincipal) -> EnterpriseOut:
    """Operator only: register an enterprise under a bureau's jurisdiction."""
    require_role(who, Role.OPERATOR)
    eid = enterprise_service.create(
        conn,
        enterprise_id=body.enterprise_id,
        name=body.name,
        credit_code=body.credit_code,
        jurisdiction=body.jurisdiction,
        details=body.details,
    )
    row = enterprise_service.get(conn, eid)
    audit.record(
        conn,
        who,
        "enterprise.create",
        "enterprise",
        eid,
        enterprise_id=eid,
        after=_out(row).model_dump(),
    )
    return _out(row)


@router.get("/enterprises", response_model=list[EnterpriseOut])
def list_enterprises(conn: Conn, who: CurrentPrincipal) -> list[EnterpriseOut]:
    if who.is_device:
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")
    return [_out(r) for r in enterprise_service.visible(conn, who)]


@router.get("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def get_enterprise(enterprise_id: str, conn: Conn, who: CurrentPrincipal) -> EnterpriseOut:
    require_visible(conn, who, enterprise_id)
    return _out(enterprise_service.get(conn, enterprise_id))


@router.get("/enterprises/{enterprise_id}/simops")
def simops_conflicts(
    enterprise_id: str, conn: Conn, who: CurrentPrincipal
) -> dict[str, list[dict[str, Any]]]:
    """The SIMOPS conflicts (交叉作业) standing between the enterprise's open permits, as
    the core's check found them on the last push: ``{"items": [{"permits": [id, id],
    "verdict": "never" | "conditional", "rules", "distance_m", "found_at"}]}``. The
    enterprise's admins and tablets, reviewers of its county, the operator."""
    return {"items": simops_service.of_enterprise(conn, who, enterprise_id)}


@router.patch("/enterprises/{enterprise_id}", response_model=EnterpriseOut)
def patch_enterprise(
    enterprise_id: str, body: EnterprisePatch, conn: Conn, who: CurrentPrincipal
) -> EnterpriseOut:
    require_visible(conn, who, enterprise_id)
    require_role(who, Role.OPERATOR, Role.ENTERPRISE_ADMIN)
    before = _out(enterprise_service.get(conn, enterprise_id))
    enterprise_service.update(conn, enterprise_id, name=body.name, details=body.details)
    after = _out(enterprise_service.get(conn, enterprise_id))
    audit.record(
        conn,
        who,
        "enterprise.update",
        "enterprise",
        enterprise_id,
        enterprise_id=enterprise_id,
        before=before.model_dump(),
        after=after.model_dump(),
    )
    return after


def _account_out(row: Any) -> AccountOut:
    return AccountOut(
        account_id=row.account_id,
        username=row.username,
        role=row.role,
        display_name=row.display_name,
        enterprise_id=row.enterprise_id,
        jurisdiction=row.jurisdiction,
        disabled=bool(row.disabled),
    )


@router.post("/accounts", response_model=AccountOut, status_code=201, tags=["accounts"])
def create_account(
    body: AccountIn, conn: Conn, who: CurrentPrincipal, passwords: AppPasswords
) -> AccountOut:
    """Operator: any account. Enterprise admin: another admin of its own enterprise."""
    if who.role is Role.ENTERPRISE_ADMIN:
        if body.role is not Role.ENTERPRISE_ADMIN or body.enterprise_id != who.enterprise_id:
            raise Forbidden(
                _("an enterprise admin may add only admins of its own enterprise"),
                code="ROLE_FORBIDDEN",
                field="role",
            )
    else:
        require_role(who, Role.OPERATOR)
    account_id = account_service.create_account(
        conn,
        passwords,
        username=body.username,
        password=body.password,
        role=body.role,
        display_name=body.display_name,
        enterprise_id=body.enterprise_id,
        jurisdiction=body.jurisdiction,
    )
    row = account_service.account_row(conn, account_id)
    out = _account_out(row)
    audit.record(
        conn,
        who,
        "account.create",
        "account",
        account_id,
        enterprise_id=row.enterprise_id,
        after=out.model_dump(),
    )
    return out


@router.get("/accounts", response_model=list[AccountOut], tags=["accounts"])
def list_accounts(conn: Conn, who: CurrentPrincipal) -> list[AccountOut]:
    require_role(who, Role.OPERATOR, Role.ENTERPRISE_ADMIN)
    return [_account_out(r) for r in account_service.accounts_for(conn, who)]


def _set_disabled(conn: Conn, who: CurrentPrincipal, account_id: str, disabled: bool) -> AccountOut:
    row = account_service.disable_by(conn, who, account_id, disabled)
    before = _account_out(row)
    after = _account_out(account_service.account_row(conn, account_id))
    audit.record(
        conn,
        who,
        "account.disable" if disabled else "account.enable",
        "account",
        account_id,
        enterprise_id=row.enterprise_id,
        before=before.model_dump(),
        after=after.model_dump(),
    )
    return after


@router.post("/accounts/{account_id}/disable", response_model=AccountOut, tags=["accounts"])
def disable_account(account_id: str, conn: Conn, who: CurrentPrincipal) -> AccountOut:
    """Operator: any other account; enterprise admin: another admin of its enterprise.
    The account's sessions and tokens end at once (API and pages)."""
    return _set_disabled(conn, who, account_id, True)


@router.post("/accounts/{account_id}/enable", response_model=AccountOut, tags=["accounts"])
def enable_account(account_id: str, conn: Conn, who: CurrentPrincipal) -> AccountOut:
    """Undo a disable; the person signs in again (no old session comes back)."""
    return _set_disabled(conn, who, account_id, False)


@router.post("/accounts/{account_id}/password", status_code=204, tags=["accounts"])
def reset_password(
    account_id: str,
    body: PasswordIn,
    conn: Conn,
    who: CurrentPrincipal,
    passwords: AppPasswords,
) -> None:
    """Set a new password (not a common one, not made of the username: 422
    ``PASSWORD_COMMON`` / ``PASSWORD_FROM_USERNAME``); the account's sessions and
    tokens end at once. Audited without the password."""
    row = account_service.account_to_manage(conn, who, account_id)
    account_service.reset_password(conn, passwords, account_id, body.password)
    audit.record(
        conn,
        who,
        "account.reset_password",
        "account",
        account_id,
        enterprise_id=row.enterprise_id,
    )
