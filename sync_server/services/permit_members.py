"""The people, detectors and anomaly codes of each permit as indexed rows
(``permit_people``, ``permit_detectors``, ``permit_anomalies``), kept in step with the
``permits`` summary row so search can use an index instead of matching JSON text.

Every write of a permit row's lists goes through :func:`write`. Backups carry these
tables like any other; migration 0002 derived them from the ``permits`` lists, so an
older engine-native backup gets them when it is upgraded on restore."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.schema import permit_anomalies, permit_detectors, permit_people, permits
from sync_server.storage import next_rev

# permits column -> (member table, its value column)
MEMBERS: dict[str, tuple[sa.Table, sa.Column[Any]]] = {
    "people": (permit_people, permit_people.c.person_id),
    "detectors": (permit_detectors, permit_detectors.c.detector_id),
    "anomalies": (permit_anomalies, permit_anomalies.c.code),
}


@dataclass(frozen=True)
class Lists:
    """One permit's lists to write (``write_many``): see ``write`` for ``before`` and
    ``new_permit``."""

    permit_id: str
    first_at: str
    lists: Mapping[str, Iterable[str]]
    before: Mapping[str, Iterable[str]] | None = None
    new_permit: bool = False


def write(
    conn: Connection,
    permit_id: str,
    enterprise_id: str,
    first_at: str,
    lists: Mapping[str, Iterable[str]],
    before: Mapping[str, Iterable[str]] | None = None,
    *,
    new_permit: bool = False,
) -> None:
    """Make the member rows of ``permit_id`` match ``lists`` (any of ``people``,
    ``detectors``, ``anomalies``). ``before`` is what the permits row held as the caller
    read it: a list equal to it is skipped, so the many pushes that change no list
    (readings chunks, retests) write nothing here. A list that changed is compared with
    the rows stored, not with ``before``: the caller's copy may be older than this
    transaction (a conflict stored earlier in the same push adds VERSION_CONFLICT).
    ``new_permit``: the permits row was inserted in this transaction, so no member row
    exists yet (they are written only with the row) and none is read."""
    write_many(conn, enterprise_id, [Lists(permit_id, first_at, lists, before, new_permit)])


def write_many(conn: Connection, enterprise_id: str, permits_lists: Sequence[Lists]) -> None:
    """``write`` for several permits of one enterprise: each member table's new rows
    for all of them in one insert (a push's permits, services/ingest_save.py)."""
    added_rows: dict[str, list[dict[str, str]]] = {}
    for one in permits_lists:
        for column, values in one.lists.items():
            table, value_col = MEMBERS[column]
            new = set(values)
            if one.before is not None and column in one.before:
                if set(one.before[column]) == new:
                    continue
            mine = (table.c.enterprise_id == enterprise_id, table.c.permit_id == one.permit_id)
            old: set[str] = set()
            if not one.new_permit:
                old = set(conn.execute(sa.select(value_col).where(*mine)).scalars())
            gone = old - new
            if gone:
                conn.execute(table.delete().where(*mine, value_col.in_(sorted(gone))))
            added_rows.setdefault(column, []).extend(
                {
                    "permit_id": one.permit_id,
                    value_col.name: value,
                    "enterprise_id": enterprise_id,
                    "first_at": one.first_at,
                }
                for value in sorted(new - old)
            )
    for column, rows in added_rows.items():
        if rows:
            conn.execute(MEMBERS[column][0].insert(), rows)


def flag(conn: Connection, enterprise_id: str, permit_id: str, code: str) -> None:
    """Add an anomaly code to the permit's row and its searchable members."""
    mine = (permits.c.enterprise_id == enterprise_id, permits.c.permit_id == permit_id)
    row = conn.execute(sa.select(permits.c.anomalies, permits.c.first_at).where(*mine)).first()
    if row is None or code in row.anomalies:
        return
    anomalies = sorted({*row.anomalies, code})
    conn.execute(
        permits.update()
        .where(*mine)
        .values(anomalies=anomalies, has_anomaly=True, rev=next_rev(conn))
    )
    write(
        conn,
        permit_id,
        enterprise_id,
        row.first_at,
        {"anomalies": anomalies},
        before={"anomalies": row.anomalies},
    )
