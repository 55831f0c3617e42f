"""server identity keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:00:00

The server signs what it attests about an export (the chain head and the device keys
that wrote it) with an Ed25519 identity key kept with its data; rotated keys stay with
their validity period (docs/server.md, "The server's identity key").
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("public_key_b64", sa.String(length=100), nullable=False),
        sa.Column("private_key_b64", sa.String(length=100), nullable=False),
        sa.Column("valid_from", sa.String(length=40), nullable=False),
        sa.Column("retired_at", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("key_id"),
        sa.UniqueConstraint("public_key_b64"),
    )


def downgrade() -> None:
    op.drop_table("server_keys")
