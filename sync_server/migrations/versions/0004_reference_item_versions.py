"""reference item versions: the ledger's history, every existing item as its first version

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 21:45:00

The replay compares what a tablet recorded with the server's ledger as it stood at the
event's time (docs/server.md, "The ledger's history"). ``reference_items`` keeps only the
latest state; this table keeps each version with the time it became valid and who wrote
it. An item that exists already gets a first version valid from its last write, by an
unknown hand (earlier versions were never kept); a tombstone gets a version with no data.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reference_item_versions",
        sa.Column("enterprise_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("valid_from", sa.String(length=40), nullable=False),
        sa.Column("changed_by", sa.String(length=200), nullable=False),
        sa.Column("rev", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "kind", "item_id", "version", name=op.f("pk_reference_item_versions")
        ),
    )
    op.execute(
        "INSERT INTO reference_item_versions "
        "(enterprise_id, kind, item_id, version, data, valid_from, changed_by, rev) "
        "SELECT enterprise_id, kind, item_id, 1, "
        "CASE WHEN deleted THEN NULL ELSE data END, updated_at, '', rev "
        "FROM reference_items"
    )
    op.create_index(
        op.f("ix_reference_item_versions_enterprise_id_kind_valid_from"),
        "reference_item_versions",
        ["enterprise_id", "kind", "valid_from"],
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_reference_item_versions_enterprise_id_kind_valid_from"),
        table_name="reference_item_versions",
    )
    op.drop_table("reference_item_versions")
