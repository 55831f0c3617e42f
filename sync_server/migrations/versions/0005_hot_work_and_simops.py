"""hot work and SIMOPS: the permit's type and footprint, the enterprise's SIMOPS conflicts

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 22:30:00

A second permit type (hot work, docs/rules.md) shares the ``permits`` table: each row
says its type (every permit before this revision is a confined-space one) and keeps the
footprint the SIMOPS check reads (docs/rules.md, Simultaneous operations). The check
runs across an enterprise's open permits on every push and keeps its conflicts here.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("permits") as batch:
        batch.add_column(
            sa.Column(
                "permit_type",
                sa.String(length=32),
                nullable=False,
                server_default="confined_space",
            )
        )
        batch.add_column(sa.Column("footprint", sa.JSON(), nullable=True))
    op.create_table(
        "simops_conflicts",
        sa.Column("enterprise_id", sa.String(length=64), nullable=False),
        sa.Column("permit_a", sa.String(length=64), nullable=False),
        sa.Column("permit_b", sa.String(length=64), nullable=False),
        sa.Column("verdict", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("found_at", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint(
            "enterprise_id", "permit_a", "permit_b", name=op.f("pk_simops_conflicts")
        ),
    )


def downgrade() -> None:
    op.drop_table("simops_conflicts")
    with op.batch_alter_table("permits") as batch:
        batch.drop_column("footprint")
        batch.drop_column("permit_type")
