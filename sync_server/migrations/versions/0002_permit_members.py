"""permit members: people, detectors and anomaly codes as indexed rows; search indexes
ending in first_at

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 06:00:00

Permit search matched these with ``LIKE`` on the JSON text of ``permits`` (a scan of
every permit) and sorted every match to show the newest 50. The member tables carry the
permit's ``first_at`` so one person's, detector's or code's newest permits are an index
range; the permits indexes on (filter, first_at[, enterprise_id]) do the same for
enterprise, date, status, space and has_anomaly (they replace the single-column ones).
The member rows are derived here from the existing ``permits`` lists with the engine's
own JSON functions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# member table, its value column and type, the permits list it comes from
MEMBERS = (
    ("permit_people", "person_id", sa.String(length=200), "people"),
    ("permit_detectors", "detector_id", sa.String(length=200), "detectors"),
    ("permit_anomalies", "code", sa.String(length=64), "anomalies"),
)
# Single-column permits indexes -> their replacements, first_at next, then what a count
# of up to 10,001 matches checks (the scope; one enterprise's status and has_anomaly),
# so it reads the index alone.
PERMIT_INDEXES = {
    "enterprise_id": ["enterprise_id", "first_at", "status", "has_anomaly"],
    "first_at": ["first_at", "enterprise_id"],
    "status": ["status", "first_at", "enterprise_id"],
    "space_id": ["space_id", "first_at"],
    "has_anomaly": ["has_anomaly", "first_at", "enterprise_id"],
}


def _backfill(dialect: str, table: str, value_column: str, list_column: str) -> str:
    if dialect == "postgresql":
        members = f"json_array_elements_text(p.{list_column}::json) AS m(value)"
    else:
        members = f"json_each(p.{list_column}) AS m"
    # DISTINCT: a list that holds a value twice still gives one row (the primary key).
    return (
        f"INSERT INTO {table} (permit_id, {value_column}, enterprise_id, first_at) "
        f"SELECT DISTINCT p.permit_id, m.value, p.enterprise_id, p.first_at "
        f"FROM permits AS p CROSS JOIN {members}"
    )


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table, column, type_, source in MEMBERS:
        op.create_table(
            table,
            sa.Column("permit_id", sa.String(length=64), nullable=False),
            sa.Column(column, type_, nullable=False),
            sa.Column("enterprise_id", sa.String(length=64), nullable=False),
            sa.Column("first_at", sa.String(length=40), nullable=False),
            sa.PrimaryKeyConstraint("permit_id", column, name=op.f(f"pk_{table}")),
        )
        # Filled before the indexes are built: one sort per index instead of a b-tree
        # insert per row.
        op.execute(_backfill(dialect, table, column, source))
        op.create_index(
            op.f(f"ix_{table}_{column}_first_at_enterprise_id"),
            table,
            [column, "first_at", "enterprise_id"],
        )
        op.create_index(
            op.f(f"ix_{table}_enterprise_id_{column}_first_at"),
            table,
            ["enterprise_id", column, "first_at"],
        )
    for column, columns in PERMIT_INDEXES.items():
        op.drop_index(op.f(f"ix_permits_{column}"), table_name="permits")
        op.create_index(op.f(f"ix_permits_{'_'.join(columns)}"), "permits", columns)


def downgrade() -> None:
    for column, columns in PERMIT_INDEXES.items():
        op.drop_index(op.f(f"ix_permits_{'_'.join(columns)}"), table_name="permits")
        op.create_index(op.f(f"ix_permits_{column}"), "permits", [column])
    for table, _column, _type, _source in MEMBERS:
        op.drop_table(table)
