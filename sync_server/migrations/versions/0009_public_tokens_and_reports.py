"""public page (码上查): space tokens, public reports, tablet contacts, emergency phone

Revision ID: 0009
Revises: 0005
Create Date: 2026-12-02 00:10:00

Each space gets a random public token behind the QR on its warning card; reports from
the public page file worker-report hazards and keep the reporter's receipt and answer
here; the server notes when each tablet last reached it, so a page whose data is stale
says so. The enterprise gains the emergency phone its public pages show (docs/server.md).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.String(length=40)
ID = sa.String(length=64)


def upgrade() -> None:
    with op.batch_alter_table("enterprises") as batch:
        batch.add_column(sa.Column("emergency_phone", sa.String(length=40), nullable=True))
    op.create_table(
        "space_public_codes",
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", ID, nullable=False),
        sa.Column("space_id", ID, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("replaced_at", TS, nullable=True),
        sa.Column("revoked_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("token", name=op.f("pk_space_public_codes")),
    )
    op.create_index(
        op.f("ix_space_public_codes_enterprise_id_space_id"),
        "space_public_codes",
        ["enterprise_id", "space_id"],
    )
    op.create_table(
        "public_reports",
        sa.Column("report_id", ID, nullable=False),
        sa.Column("enterprise_id", ID, nullable=False),
        sa.Column("space_id", ID, nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("hazard_id", ID, nullable=False),
        sa.Column("receipt_hash", sa.String(length=64), nullable=False),
        sa.Column("challenge", sa.String(length=128), nullable=False),
        sa.Column("address_hash", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("contact", sa.String(length=200), nullable=True),
        sa.Column("photos", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_at", TS, nullable=True),
        sa.Column("answered_by", sa.String(length=200), nullable=True),
        sa.Column("reward_marked_at", TS, nullable=True),
        sa.Column("reward_marked_by", sa.String(length=200), nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("report_id", name=op.f("pk_public_reports")),
        sa.UniqueConstraint("hazard_id", name=op.f("uq_public_reports_hazard_id")),
        sa.UniqueConstraint("receipt_hash", name=op.f("uq_public_reports_receipt_hash")),
        sa.UniqueConstraint("challenge", name=op.f("uq_public_reports_challenge")),
    )
    for column in ("enterprise_id", "token", "address_hash", "created_at"):
        op.create_index(op.f(f"ix_public_reports_{column}"), "public_reports", [column])
    op.create_table(
        "device_contacts",
        sa.Column("device_id", ID, nullable=False),
        sa.Column("enterprise_id", ID, nullable=False),
        sa.Column("last_seen_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("device_id", name=op.f("pk_device_contacts")),
    )
    op.create_index(op.f("ix_device_contacts_enterprise_id"), "device_contacts", ["enterprise_id"])


def downgrade() -> None:
    op.drop_table("device_contacts")
    op.drop_table("public_reports")
    op.drop_table("space_public_codes")
    with op.batch_alter_table("enterprises") as batch:
        batch.drop_column("emergency_phone")
