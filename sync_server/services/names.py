"""Names shown instead of ids: the ledger's name of each item (a person, a space, a
contractor) by its id, one enterprise at a time or across the enterprises a reader sees."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.schema import reference_items
from sync_server.security import Principal
from sync_server.services.reference import Kind
from sync_server.services.tenancy import scope_filter, visible_enterprises


def _named(
    conn: Connection, kind: Kind, where: Any, current_only: bool
) -> dict[str, dict[str, str]]:
    """{enterprise_id: {item_id: name}}: the one rule for a ledger item's shown name (its
    ``name``, else its id); a deleted item keeps its name unless ``current_only`` (old
    records still name it; a choice of people offers only current ones)."""
    t = reference_items.c
    query = sa.select(t.enterprise_id, t.item_id, t.data).where(t.kind == kind.value, where)
    if current_only:
        query = query.where(t.deleted.is_(False))
    out: dict[str, dict[str, str]] = {}
    for r in conn.execute(query.order_by(t.item_id)):
        out.setdefault(r.enterprise_id, {})[r.item_id] = str(
            (r.data or {}).get("name") or r.item_id
        )
    return out


def item_names(
    conn: Connection, enterprise_id: str, kind: Kind, *, current_only: bool = False
) -> dict[str, str]:
    """One enterprise's items of one kind: item id → name."""
    found = _named(conn, kind, reference_items.c.enterprise_id == enterprise_id, current_only)
    return found.get(enterprise_id, {})


def person_names(
    conn: Connection, enterprise_id: str, *, current_only: bool = False
) -> dict[str, str]:
    """One enterprise's people: person id → name, to show where a record names a person
    by id (sign-on codes, the public page, the trace, the ledger's forms)."""
    return item_names(conn, enterprise_id, Kind.PERSON, current_only=current_only)


def named_in_records(conn: Connection, who: Principal) -> dict[str, dict[str, str]]:
    """The people and contractors in the reader's scope by enterprise ({enterprise_id:
    {id: name}}), for ``labels.words``: the core's messages name both by id ("…的所属单位
    c-clean 已被列入黑名单"). A person's id wins over a contractor's of the same spelling."""
    where = scope_filter(reference_items.c.enterprise_id, visible_enterprises(conn, who))
    out = _named(conn, Kind.CONTRACTOR, where, current_only=False)
    for eid, people in _named(conn, Kind.PERSON, where, current_only=False).items():
        out[eid] = {**out.get(eid, {}), **people}
    return out


def space_names(conn: Connection, who: Principal) -> dict[tuple[str, str], str]:
    """Every space in the reader's scope: (enterprise_id, space_id) → its ledger name (a
    deleted space keeps its name: old permits still name it)."""
    where = scope_filter(reference_items.c.enterprise_id, visible_enterprises(conn, who))
    return {
        (eid, sid): name
        for eid, spaces in _named(conn, Kind.SPACE, where, current_only=False).items()
        for sid, name in spaces.items()
    }
