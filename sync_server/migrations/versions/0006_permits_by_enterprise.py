"""permits by enterprise: every per-permit key and unique is (enterprise_id, permit_id)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:30:00

Permit ids are minted by each enterprise's tablets; until this revision they were global
on the server, first come first served, so one enterprise that pushed an id first
blocked another's tablet from ever pushing its own permit of that id
(docs/reliability.md, section 8). The keys of ``permits`` and its member tables and the
uniques of ``events`` and ``findings`` now lead with ``enterprise_id``; rows are kept as
they are (every stored id was unique server-wide, so it is unique per enterprise too).
A plain index on ``permits.permit_id`` serves the bureau's look-up by id alone.

SQLite rebuilds each table (``batch_alter_table``); PostgreSQL alters it in place.

Down is refused, before anything is altered, while two enterprises hold one permit id:
there is no key of the id alone to go back to. The check comes first, as in 0012:
SQLite's DDL is not run in a transaction by alembic, and a rebuild the database refused
halfway left alembic's copy table behind and the tables before it already altered.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sync_server.errors import Conflict
from sync_server.i18n import gettext as _

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_MEMBERS = {
    "permit_people": "person_id",
    "permit_detectors": "detector_id",
    "permit_anomalies": "code",
}
# table -> (old unique's columns, new unique's columns)
_UNIQUES = {
    "events": (["permit_id", "seq"], ["enterprise_id", "permit_id", "seq"]),
    "findings": (["permit_id", "seq", "code"], ["enterprise_id", "permit_id", "seq", "code"]),
}


def _uq(table: str, columns: list[str]) -> str:
    return op.f(f"uq_{table}_{'_'.join(columns)}")


def _primary_key(table: str, columns: list[str]) -> None:
    with op.batch_alter_table(table, recreate="auto") as batch:
        batch.drop_constraint(op.f(f"pk_{table}"), type_="primary")
        batch.create_primary_key(op.f(f"pk_{table}"), columns)


def upgrade() -> None:
    _primary_key("permits", ["enterprise_id", "permit_id"])
    op.create_index(op.f("ix_permits_permit_id"), "permits", ["permit_id"])
    for table, column in _MEMBERS.items():
        _primary_key(table, ["enterprise_id", "permit_id", column])
    for table, (old, new) in _UNIQUES.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_uq(table, old), type_="unique")
            batch.create_unique_constraint(_uq(table, new), new)


def _shared_permit_id() -> tuple[str, int] | None:
    """A permit id two or more enterprises hold in any table this revision re-keys
    (the first by id), and how many: each would break a key of the id alone."""
    held = " UNION ".join(
        f"SELECT enterprise_id, permit_id FROM {table}"
        for table in ("permits", *_MEMBERS, *_UNIQUES)
    )
    row = (
        op.get_bind()
        .execute(
            sa.text(
                f"SELECT permit_id, COUNT(*) FROM ({held}) AS held GROUP BY permit_id"
                " HAVING COUNT(*) > 1 ORDER BY permit_id LIMIT 1"
            )
        )
        .first()
    )
    return None if row is None else (str(row[0]), int(row[1]))


def downgrade() -> None:
    shared = _shared_permit_id()
    if shared is not None:
        raise Conflict(
            _(
                "cannot go below migration 0006: permit id {permit_id} is held by {n} "
                "enterprises, and before 0006 a permit id was unique on the whole "
                "server; remove or re-key those permits first"
            ).format(permit_id=shared[0], n=shared[1]),
            code="DOWNGRADE_REFUSED",
            field="permits.permit_id",
            extra={"permit_id": shared[0], "enterprises": shared[1]},
        )
    for table, (old, new) in _UNIQUES.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_uq(table, new), type_="unique")
            batch.create_unique_constraint(_uq(table, old), old)
    for table, column in _MEMBERS.items():
        _primary_key(table, ["permit_id", column])
    op.drop_index(op.f("ix_permits_permit_id"), table_name="permits")
    _primary_key("permits", ["permit_id"])
