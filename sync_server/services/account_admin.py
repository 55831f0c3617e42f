"""Account and enterprise administration as the API and the pages both do it: who may,
the write, and its audit-log entry (docs/server.md, "Authentication"). The routers and
the pages are thin adapters over these; neither repeats the rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from sync_server.errors import Forbidden, Unauthorized, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.security import Passwords, Principal, Role
from sync_server.services import accounts as account_service
from sync_server.services import audit, password_policy
from sync_server.services import enterprises as enterprise_service
from sync_server.services.tenancy import require_role


def account_view(row: Any) -> dict[str, Any]:
    """An account as the API answers it and the audit log records it (no password)."""
    return {
        "account_id": row.account_id,
        "username": row.username,
        "role": row.role,
        "display_name": row.display_name,
        "enterprise_id": row.enterprise_id,
        "jurisdiction": row.jurisdiction,
        "disabled": bool(row.disabled),
    }


def enterprise_view(row: Any) -> dict[str, Any]:
    return {
        "enterprise_id": row.enterprise_id,
        "name": row.name,
        "credit_code": row.credit_code,
        "jurisdiction": row.jurisdiction,
        "details": row.data,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def create_enterprise(
    conn: Connection,
    who: Principal,
    *,
    enterprise_id: str | None,
    name: str,
    credit_code: str,
    jurisdiction: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    """Operator only: register an enterprise under a bureau's jurisdiction; audited."""
    require_role(who, Role.OPERATOR)
    eid = enterprise_service.create(
        conn,
        enterprise_id=enterprise_id,
        name=name,
        credit_code=credit_code,
        jurisdiction=jurisdiction,
        details=details,
    )
    out = enterprise_view(enterprise_service.get(conn, eid))
    audit.record(conn, who, "enterprise.create", "enterprise", eid, enterprise_id=eid, after=out)
    return out


def may_create(who: Principal, role: Role, enterprise_id: str | None) -> None:
    """Operator: any account. Enterprise admin: another admin of its own enterprise."""
    if who.role is Role.ENTERPRISE_ADMIN:
        if role is not Role.ENTERPRISE_ADMIN or enterprise_id != who.enterprise_id:
            raise Forbidden(
                _("an enterprise admin may add only admins of its own enterprise"),
                code="ROLE_FORBIDDEN",
                field="role",
            )
    else:
        require_role(who, Role.OPERATOR)


def create_account(
    conn: Connection,
    passwords: Passwords,
    who: Principal,
    *,
    username: str,
    password: str,
    role: Role,
    display_name: str,
    enterprise_id: str | None,
    jurisdiction: str | None,
) -> dict[str, Any]:
    may_create(who, role, enterprise_id)
    account_id = account_service.create_account(
        conn,
        passwords,
        username=username,
        password=password,
        role=role,
        display_name=display_name,
        enterprise_id=enterprise_id,
        jurisdiction=jurisdiction,
    )
    row = account_service.account_row(conn, account_id)
    out = account_view(row)
    audit.record(
        conn,
        who,
        "account.create",
        "account",
        account_id,
        enterprise_id=row.enterprise_id,
        after=out,
    )
    return out


def set_disabled(
    conn: Connection, who: Principal, account_id: str, disabled: bool
) -> dict[str, Any]:
    """Disable or enable an account ``who`` manages (``accounts.account_to_manage``)."""
    row = account_service.disable_by(conn, who, account_id, disabled)
    after = account_view(account_service.account_row(conn, account_id))
    audit.record(
        conn,
        who,
        "account.disable" if disabled else "account.enable",
        "account",
        account_id,
        enterprise_id=row.enterprise_id,
        before=account_view(row),
        after=after,
    )
    return after


def reset_password(
    conn: Connection, passwords: Passwords, who: Principal, account_id: str, password: str
) -> None:
    """Another account's new password; its sessions end. Audited without the password."""
    row = account_service.account_to_manage(conn, who, account_id)
    account_service.reset_password(conn, passwords, account_id, password)
    audit.record(
        conn, who, "account.reset_password", "account", account_id, enterprise_id=row.enterprise_id
    )


def change_own_password(
    conn: Connection, passwords: Passwords, who: Principal, current: str, new: str
) -> None:
    """The signed-in person's own password, after the current one is checked; every
    session of the account ends (this one too: the person signs in with the new one)."""
    row = account_service.account_row(conn, who.subject_id)
    if not passwords.verify(row.password_hash, current):
        raise Unauthorized(
            _("the current password is wrong"), code="INVALID_CREDENTIALS", field="current"
        )
    if current == new:
        raise Unprocessable(
            _("the new password is the same as the current one"),
            code="PASSWORD_UNCHANGED",
            field="password",
        )
    password_policy.check(new, str(row.username))
    account_service.reset_password(conn, passwords, who.subject_id, new)
    audit.record(
        conn,
        who,
        "account.change_password",
        "account",
        who.subject_id,
        enterprise_id=row.enterprise_id,
    )
