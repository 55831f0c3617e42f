"""The ledger's history: every version of each reference item, with the time it became
valid and who wrote it, so the replay can ask what the server's ledger said at an
event's time (docs/server.md, "The ledger's history").

``reference_items`` keeps the latest state (the tablets' pull reads it); each write
through :mod:`sync_server.services.reference` also appends a version here, in the same
transaction. A deletion is a version without data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.schema import reference_item_versions as versions
from sync_server.storage import now_iso


def record(
    conn: Connection,
    enterprise_id: str,
    kind: str,
    item_id: str,
    data: dict[str, Any] | None,
    *,
    changed_by: str,
    at: str,
    rev: int,
) -> int:
    """Append a version (``data`` None: deleted); returns its number."""
    last = conn.execute(
        sa.select(sa.func.max(versions.c.version)).where(
            versions.c.enterprise_id == enterprise_id,
            versions.c.kind == kind,
            versions.c.item_id == item_id,
        )
    ).scalar()
    number = int(last or 0) + 1
    conn.execute(
        versions.insert().values(
            enterprise_id=enterprise_id,
            kind=kind,
            item_id=item_id,
            version=number,
            data=data,
            valid_from=at,
            changed_by=changed_by[:200],
            rev=rev,
        )
    )
    return number


def _as_of_query(enterprise_id: str, kind: str, at: datetime) -> Any:
    return sa.select(versions).where(
        versions.c.enterprise_id == enterprise_id,
        versions.c.kind == kind,
        versions.c.valid_from <= now_iso(at),
    )


def _row_at(conn: Connection, enterprise_id: str, kind: str, item_id: str, at: datetime) -> Any:
    row = conn.execute(
        _as_of_query(enterprise_id, kind, at)
        .where(versions.c.item_id == item_id)
        .order_by(versions.c.version.desc())
        .limit(1)
    ).first()
    if row is None:
        row = _unattributed_first(conn, enterprise_id, kind, item_id)
    return row


def as_of(
    conn: Connection, enterprise_id: str, kind: str, item_id: str, at: datetime
) -> dict[str, Any] | None:
    """The item as it stood at ``at``: its data, or None (not yet written, or deleted)."""
    row = _row_at(conn, enterprise_id, kind, item_id, at)
    return None if row is None or row.data is None else dict(row.data)


def version_at(
    conn: Connection, enterprise_id: str, kind: str, item_id: str, at: datetime
) -> int | None:
    """The number of the version that stood at ``at`` (a deletion included), if any."""
    row = _row_at(conn, enterprise_id, kind, item_id, at)
    return None if row is None else int(row.version)


def _unattributed_first(conn: Connection, enterprise_id: str, kind: str, item_id: str) -> Any:
    # A first version by no known hand (written before the history was kept, by the
    # migration, or by a seed) stands for the time before it too: what came earlier was
    # never recorded, so it is not evidence the item was absent.
    return conn.execute(
        sa.select(versions).where(
            versions.c.enterprise_id == enterprise_id,
            versions.c.kind == kind,
            versions.c.item_id == item_id,
            versions.c.version == 1,
            versions.c.changed_by == "",
        )
    ).first()


# Built once: a push asks for each item it has not read (docs/performance.md, wave 8).
_ITEM_VERSIONS = (
    sa.select(versions)
    .where(
        versions.c.enterprise_id == sa.bindparam("enterprise_id"),
        versions.c.kind == sa.bindparam("kind"),
        versions.c.item_id == sa.bindparam("item"),
    )
    .order_by(versions.c.version)
)


def item_versions(conn: Connection, enterprise_id: str, kind: str, item_id: str) -> list[Any]:
    """Every version of one item, oldest first (for :func:`item_at`): one query for all
    the instants a push asks about, where :func:`as_of` is one query an instant."""
    return list(
        conn.execute(
            _ITEM_VERSIONS, {"enterprise_id": enterprise_id, "kind": kind, "item": item_id}
        )
    )


def item_at(rows: list[Any], at: datetime) -> dict[str, Any] | None:
    """Of :func:`item_versions`' rows, the item as it stood at ``at``, as :func:`as_of`
    answers: the newest version valid by then, else an unattributed first version."""
    when = now_iso(at)
    row = None
    for candidate in rows:
        if candidate.valid_from <= when and (row is None or candidate.version > row.version):
            row = candidate
    if row is None:
        row = next((r for r in rows if r.version == 1 and r.changed_by == ""), None)
    return None if row is None or row.data is None else dict(row.data)


def versions_of(conn: Connection, enterprise_id: str, kind: str) -> list[Any]:
    """Every version of every item of ``kind``, oldest first (for :func:`standing_at`)."""
    return list(
        conn.execute(
            sa.select(versions)
            .where(versions.c.enterprise_id == enterprise_id, versions.c.kind == kind)
            .order_by(versions.c.valid_from, versions.c.version)
        )
    )


def standing_at(rows: list[Any], at: datetime) -> dict[str, dict[str, Any]]:
    """Of ``versions_of``'s rows, every item as it stood at ``at``, by item id (deleted
    ones left out; an unattributed first version stands for the time before it)."""
    when = now_iso(at)
    latest: dict[str, Any] = {}
    for row in rows:
        if row.valid_from <= when or (row.version == 1 and row.changed_by == ""):
            if row.item_id not in latest or latest[row.item_id].version < row.version:
                latest[row.item_id] = row
    return {i: dict(r.data) for i, r in latest.items() if r.data is not None}


def all_as_of(
    conn: Connection, enterprise_id: str, kind: str, at: datetime
) -> dict[str, dict[str, Any]]:
    """Every item of ``kind`` as it stood at ``at``, by item id (deleted ones left out)."""
    return standing_at(versions_of(conn, enterprise_id, kind), at)


def history(conn: Connection, enterprise_id: str, kind: str, item_id: str) -> list[dict[str, Any]]:
    """Every version of one item, oldest first."""
    rows = item_versions(conn, enterprise_id, kind, item_id)
    return [
        {
            "version": r.version,
            "valid_from": r.valid_from,
            "changed_by": r.changed_by,
            "deleted": r.data is None,
            "data": r.data,
            "rev": r.rev,
        }
        for r in rows
    ]
