"""sign-on codes, enrolment codes listed and revoked, the tablets' last sync

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-02 00:10:00

A person's one-time sign-on code (issued by the enterprise admin, traded once on a
tablet for a PIN the person chooses; wrong codes are counted in the sign-in throttle's
table, sign_in_failures). An enrolment code gets an id the devices page revokes it by,
and a revocation time; a device, when it last synced and when it last pulled the ledger
(docs/server.md).
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("enrollment_codes") as batch:
        batch.add_column(sa.Column("code_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("revoked_at", sa.String(length=40), nullable=True))
        batch.create_unique_constraint(batch.f("uq_enrollment_codes_code_id"), ["code_id"])
    # codes made before this revision get an id too, so the page can revoke them
    conn = op.get_bind()
    codes = sa.table("enrollment_codes", sa.column("code_hash"), sa.column("code_id"))
    for (code_hash,) in conn.execute(sa.select(codes.c.code_hash)).all():
        conn.execute(
            codes.update().where(codes.c.code_hash == code_hash).values(code_id=str(uuid.uuid4()))
        )
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("last_sync_at", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("ledger_pulled_at", sa.String(length=40), nullable=True))
    op.create_table(
        "signon_codes",
        sa.Column("code_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("enterprise_id", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.String(length=40), nullable=False),
        sa.Column("expires_at", sa.String(length=40), nullable=False),
        sa.Column("used_at", sa.String(length=40), nullable=True),
        sa.Column("used_by_device", sa.String(length=64), nullable=True),
        sa.Column("revoked_at", sa.String(length=40), nullable=True),
        sa.PrimaryKeyConstraint("code_id", name=op.f("pk_signon_codes")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_signon_codes_code_hash")),
    )
    with op.batch_alter_table("signon_codes") as batch:
        batch.create_index(batch.f("ix_signon_codes_enterprise_id"), ["enterprise_id"])


def downgrade() -> None:
    with op.batch_alter_table("signon_codes") as batch:
        batch.drop_index(batch.f("ix_signon_codes_enterprise_id"))
    op.drop_table("signon_codes")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("ledger_pulled_at")
        batch.drop_column("last_sync_at")
    with op.batch_alter_table("enrollment_codes") as batch:
        batch.drop_constraint(batch.f("uq_enrollment_codes_code_id"), type_="unique")
        batch.drop_column("revoked_at")
        batch.drop_column("code_id")
