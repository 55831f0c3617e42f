"""Enterprises and people accounts (admins, reviewers, aggregators)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from sync_server.deps import AppPasswords, Conn, CurrentPrincipal
from sync_server.errors import Forbidden
from sync_server.i18n import gettext as _
from sync_server.security import Role
from sync_server.services import account_admin, audit, ledger_yearly, password_policy
from sync_server.services import accounts as account_service
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
    password: str = Field(min_length=password_policy.MIN_LENGTH, max_length=512)
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
    password: str = Field(min_length=password_policy.MIN_LENGTH, max_length=512)


def _out(row: Any) -> EnterpriseOut:
    return EnterpriseOut(**account_admin.enterprise_view(row))


@router.post("/enterprises", response_model=EnterpriseOut, status_code=201)
def create_enterprise(body: EnterpriseIn, conn: Conn, who: CurrentPrincipal) -> EnterpriseOut:
    """Operator only: register an enterprise under a bureau's jurisdiction."""
    return EnterpriseOut(
        **account_admin.create_enterprise(
            conn,
            who,
            enterprise_id=body.enterprise_id,
            name=body.name,
            credit_code=body.credit_code,
            jurisdiction=body.jurisdiction,
            details=body.details,
        )
    )


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
    """``details`` is a JSON merge patch (RFC 7396): the keys given replace theirs, null
    removes one, the rest are kept (the drills and topic trainings among them)."""
    require_visible(conn, who, enterprise_id)
    require_role(who, Role.OPERATOR, Role.ENTERPRISE_ADMIN)
    enterprise_service.lock(conn, enterprise_id)  # a page's save at once keeps both
    before = _out(enterprise_service.get(conn, enterprise_id))
    details = (
        None
        if body.details is None
        else ledger_yearly.patched_details(before.details, body.details, enterprise_id)
    )
    enterprise_service.update(conn, enterprise_id, name=body.name, details=details)
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
    return AccountOut(**account_admin.account_view(row))


@router.post("/accounts", response_model=AccountOut, status_code=201, tags=["accounts"])
def create_account(
    body: AccountIn, conn: Conn, who: CurrentPrincipal, passwords: AppPasswords
) -> AccountOut:
    """Operator: any account. Enterprise admin: another admin of its own enterprise."""
    return AccountOut(
        **account_admin.create_account(
            conn,
            passwords,
            who,
            username=body.username,
            password=body.password,
            role=body.role,
            display_name=body.display_name,
            enterprise_id=body.enterprise_id,
            jurisdiction=body.jurisdiction,
        )
    )


@router.get("/accounts", response_model=list[AccountOut], tags=["accounts"])
def list_accounts(conn: Conn, who: CurrentPrincipal) -> list[AccountOut]:
    require_role(who, Role.OPERATOR, Role.ENTERPRISE_ADMIN)
    return [_account_out(r) for r in account_service.accounts_for(conn, who)]


@router.post("/accounts/{account_id}/disable", response_model=AccountOut, tags=["accounts"])
def disable_account(account_id: str, conn: Conn, who: CurrentPrincipal) -> AccountOut:
    """Operator: any other account; enterprise admin: another admin of its enterprise.
    The account's sessions and tokens end at once (API and pages)."""
    return AccountOut(**account_admin.set_disabled(conn, who, account_id, True))


@router.post("/accounts/{account_id}/enable", response_model=AccountOut, tags=["accounts"])
def enable_account(account_id: str, conn: Conn, who: CurrentPrincipal) -> AccountOut:
    """Undo a disable; the person signs in again (no old session comes back)."""
    return AccountOut(**account_admin.set_disabled(conn, who, account_id, False))


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
    account_admin.reset_password(conn, passwords, who, account_id, body.password)
