"""Enterprises: the tenants."""

from __future__ import annotations

import re
import uuid
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server import domain
from sync_server.errors import Conflict, NotFound, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import enterprises
from sync_server.security import Principal
from sync_server.services.tenancy import scope_filter, visible_enterprises
from sync_server.storage import next_rev, now_iso


def check_credit_code(code: str) -> str:
    try:
        return domain.validate_credit_code(code)
    except ValueError as exc:
        raise Unprocessable(
            _("invalid unified social credit code: {reason}").format(reason=exc),
            code="CREDIT_CODE_INVALID",
            field="credit_code",
        ) from exc


def create(
    conn: Connection,
    *,
    enterprise_id: str | None,
    name: str,
    credit_code: str,
    jurisdiction: str,
    details: dict[str, Any],
) -> str:
    credit_code = check_credit_code(credit_code)
    if not re.fullmatch(r"[0-9]{2,12}", jurisdiction):
        raise Unprocessable(
            _("expected a numeric division code"), code="JURISDICTION_INVALID", field="jurisdiction"
        )
    eid = enterprise_id or str(uuid.uuid4())
    clash = conn.execute(
        sa.select(enterprises.c.enterprise_id).where(
            sa.or_(enterprises.c.enterprise_id == eid, enterprises.c.credit_code == credit_code)
        )
    ).first()
    if clash is not None:
        raise Conflict(
            _("an enterprise with this id or credit code exists"),
            code="ENTERPRISE_EXISTS",
            field="credit_code",
        )
    now = now_iso()
    conn.execute(
        enterprises.insert().values(
            enterprise_id=eid,
            name=name,
            credit_code=credit_code,
            jurisdiction=jurisdiction,
            data=details,
            rev=next_rev(conn),
            created_at=now,
            updated_at=now,
        )
    )
    return eid


def get(conn: Connection, enterprise_id: str) -> Any:
    row = conn.execute(
        sa.select(enterprises).where(enterprises.c.enterprise_id == enterprise_id)
    ).first()
    if row is None:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return row


def details_of(conn: Connection, enterprise_ids: list[str]) -> dict[str, dict[str, Any]]:
    """Each enterprise's details in one query, in the order given (the county dashboard
    reads them for 200 enterprises: a query each cost ~100 ms, docs/performance.md)."""
    rows = {
        r.enterprise_id: dict(r.data or {})
        for r in conn.execute(
            sa.select(enterprises.c.enterprise_id, enterprises.c.data).where(
                enterprises.c.enterprise_id.in_(enterprise_ids)
            )
        )
    }
    missing = [eid for eid in enterprise_ids if eid not in rows]
    if missing:
        raise NotFound(_("not found"), code="NOT_FOUND")
    return {eid: rows[eid] for eid in enterprise_ids}


def lock(conn: Connection, enterprise_id: str) -> None:
    """Hold the enterprise's row for this transaction before a read-change-write of its
    record (the yearly drills and trainings live in it): a no-op update takes SQLite's
    write lock and PostgreSQL's row lock, so a second writer waits and then reads what
    the first wrote instead of writing its list back over it."""
    conn.execute(
        sa.update(enterprises)
        .where(enterprises.c.enterprise_id == enterprise_id)
        .values(enterprise_id=enterprises.c.enterprise_id)
    )


def merged_details(current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A PATCH of the enterprise's details as a JSON merge patch (RFC 7396): a key given
    replaces that key (an object is merged into the object it replaces; a list, such as
    the drills, replaces the list), a key given as null is removed, a key left out is
    kept. Replacing the whole record instead lost the yearly drills and trainings of a
    PATCH that named only, say, the contact's phone."""
    out = dict(current)
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged_details(out[key], value)
        else:
            out[key] = value
    return out


def update(
    conn: Connection, enterprise_id: str, *, name: str | None, details: dict[str, Any] | None
) -> None:
    values: dict[str, Any] = {"updated_at": now_iso(), "rev": next_rev(conn)}
    if name is not None:
        values["name"] = name
    if details is not None:
        values["data"] = details
    conn.execute(
        enterprises.update().where(enterprises.c.enterprise_id == enterprise_id).values(**values)
    )


def visible(conn: Connection, who: Principal) -> list[Any]:
    """The enterprises the caller may see, by id."""
    scope = visible_enterprises(conn, who)
    return list(
        conn.execute(
            sa.select(enterprises)
            .where(scope_filter(enterprises.c.enterprise_id, scope))
            .order_by(enterprises.c.enterprise_id)
        )
    )
