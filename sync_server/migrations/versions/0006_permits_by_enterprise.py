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
"""

from collections.abc import Sequence

from alembic import op

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


def downgrade() -> None:
    # Refused by the database when two enterprises hold one id: there is no global key
    # for them to go back to.
    for table, (old, new) in _UNIQUES.items():
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(_uq(table, new), type_="unique")
            batch.create_unique_constraint(_uq(table, old), old)
    for table, column in _MEMBERS.items():
        _primary_key(table, ["permit_id", column])
    op.drop_index(op.f("ix_permits_permit_id"), table_name="permits")
    _primary_key("permits", ["permit_id"])
