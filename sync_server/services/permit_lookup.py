"""Which permit a reader means by an id: permit ids are unique per enterprise, not on
the server (migration 0006), so an id alone names one permit for an enterprise's own
users, and possibly several for a bureau reviewer who sees many enterprises.

An enterprise user's URLs stay as they were (their enterprise is implied). A reader who
sees several enterprises names one with ``?enterprise_id=``; without it, an id that
several of their enterprises hold is a 409 ``PERMIT_ID_AMBIGUOUS`` naming them, and
every link the pages and exports make for such a reader carries the enterprise
(:func:`enterprise_query`), so the ones they follow are never ambiguous.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.errors import Conflict, NotFound
from sync_server.i18n import gettext as _
from sync_server.schema import enterprises, permits
from sync_server.security import Principal, Role
from sync_server.services.tenancy import scope_filter, visible_enterprises

# Readers whose own enterprise is implied: their permit URLs name no enterprise.
_ONE_ENTERPRISE = (Role.ENTERPRISE_ADMIN, Role.DEVICE)


def find(conn: Connection, who: Principal, permit_id: str, enterprise_id: str | None = None) -> Any:
    """The ``permits`` row of the permit ``who`` means: NotFound when none in their scope
    (another tenant's is absent, never forbidden), Conflict ``PERMIT_ID_AMBIGUOUS`` when
    several of their enterprises hold the id and ``enterprise_id`` does not choose."""
    query = sa.select(permits).where(
        permits.c.permit_id == permit_id,
        scope_filter(permits.c.enterprise_id, visible_enterprises(conn, who)),
    )
    if enterprise_id is not None:
        query = query.where(permits.c.enterprise_id == enterprise_id)
    rows = conn.execute(query.order_by(permits.c.enterprise_id)).all()
    if not rows:
        raise NotFound(_("not found"), code="NOT_FOUND")
    if len(rows) > 1:
        raise ambiguous(conn, permit_id, [r.enterprise_id for r in rows])
    return rows[0]


def ambiguous(conn: Connection, permit_id: str, enterprise_ids: list[str]) -> Conflict:
    names = dict(
        conn.execute(
            sa.select(enterprises.c.enterprise_id, enterprises.c.name).where(
                enterprises.c.enterprise_id.in_(enterprise_ids)
            )
        ).all()
    )
    holders = [{"enterprise_id": e, "name": names.get(e, e)} for e in enterprise_ids]
    return Conflict(
        _(
            "permit number {permit} is held by several enterprises: {names}; "
            "choose one (enterprise_id)"
        ).format(permit=permit_id, names=_("; ").join(h["name"] for h in holders)),
        code="PERMIT_ID_AMBIGUOUS",
        field="enterprise_id",
        extra={"enterprises": holders},
    )


def enterprise_query(who: Principal | None, enterprise_id: str) -> str:
    """The query a link to one of ``enterprise_id``'s permits carries for ``who``: none
    for a user of that one enterprise, ``?enterprise_id=…`` for anyone who sees more."""
    if who is not None and who.role in _ONE_ENTERPRISE:
        return ""
    return "?" + urlencode({"enterprise_id": enterprise_id})


__all__ = ["ambiguous", "enterprise_query", "find"]
