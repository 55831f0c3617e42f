"""Who may see which enterprise. Another tenant's object is reported as absent (404)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.errors import Forbidden, NotFound
from sync_server.i18n import gettext as _
from sync_server.schema import enterprises
from sync_server.security import Principal, Role


def visible_enterprises(conn: Connection, who: Principal) -> list[str] | None:
    """The enterprise ids ``who`` may read; None means every enterprise (operator)."""
    if who.role is Role.OPERATOR:
        return None
    if who.role in (Role.ENTERPRISE_ADMIN, Role.DEVICE):
        return [who.enterprise_id] if who.enterprise_id else []
    # Bureau reviewers and aggregators: every enterprise under their jurisdiction code
    # (a county code 530102 covers itself; a province code 53 covers all of Yunnan).
    prefix = who.jurisdiction or ""
    if not prefix:
        return []
    rows = conn.execute(
        sa.select(enterprises.c.enterprise_id).where(enterprises.c.jurisdiction.startswith(prefix))
    )
    return [r[0] for r in rows]


def scope_filter(column: sa.ColumnElement[str], scope: list[str] | None) -> sa.ColumnElement[bool]:
    if scope is None:
        return sa.true()
    return column.in_(scope)


def require_visible(conn: Connection, who: Principal, enterprise_id: str | None) -> None:
    scope = visible_enterprises(conn, who)
    if enterprise_id is None or (scope is not None and enterprise_id not in scope):
        raise NotFound(_("not found"), code="NOT_FOUND")
    if scope is None:
        exists = conn.execute(
            sa.select(enterprises.c.enterprise_id).where(
                enterprises.c.enterprise_id == enterprise_id
            )
        ).first()
        if exists is None:
            raise NotFound(_("not found"), code="NOT_FOUND")


def require_role(who: Principal, *roles: Role) -> None:
    if who.role not in roles:
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN", field=None)


def require_admin_of(conn: Connection, who: Principal, enterprise_id: str) -> None:
    """Writes to an enterprise's reference data: its own admin, or the operator."""
    require_visible(conn, who, enterprise_id)
    require_role(who, Role.ENTERPRISE_ADMIN, Role.OPERATOR)
