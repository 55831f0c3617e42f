"""dashboard indexes: the bureau's landing page counts from indexes alone

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 00:10:00

The county dashboard (``services.dashboard``) counts the permits in progress and the
permits with an alarm across every enterprise of the reader's jurisdiction. At 1,000,000
permits both counts read far more than they count (docs/performance.md, "The bureau's
dashboard"): the in-progress count walked a whole enterprise index, the alarm count
looked up every alarmed permit's row. These indexes let each count (and the newest
alarmed permits) read only index entries of the rows it counts.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("permits", ["status", "enterprise_id"]),
    ("permit_anomalies", ["code", "first_at", "enterprise_id", "permit_id"]),
)


def upgrade() -> None:
    for table, columns in INDEXES:
        op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, columns)


def downgrade() -> None:
    for table, columns in INDEXES:
        op.drop_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table_name=table)
