"""one current public token per space (码上查)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 04:00:00

A space has at most one current token (neither replaced nor revoked): a partial unique
index, so two writers cannot both leave one (the QR printed last would then open a page
the other had already replaced). Where older data holds several, the newest stays current
and the others read "this code has been replaced", as a rotation would leave them.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "uq_space_public_codes_current"
CURRENT = "replaced_at IS NULL AND revoked_at IS NULL"


def upgrade() -> None:
    codes = sa.table(
        "space_public_codes",
        *(sa.column(c) for c in ("token", "enterprise_id", "space_id", "created_at")),
        sa.column("replaced_at"),
        sa.column("revoked_at"),
    )
    conn = op.get_bind()
    current = (codes.c.replaced_at.is_(None), codes.c.revoked_at.is_(None))
    rows = conn.execute(
        sa.select(codes.c.token, codes.c.enterprise_id, codes.c.space_id, codes.c.created_at)
        .where(*current)
        .order_by(codes.c.created_at.desc(), codes.c.token.desc())
    ).all()
    seen: set[tuple[str, str]] = set()
    for row in rows:
        space = (row.enterprise_id, row.space_id)
        if space in seen:
            conn.execute(
                codes.update().where(codes.c.token == row.token).values(replaced_at=row.created_at)
            )
        seen.add(space)
    op.create_index(
        INDEX,
        "space_public_codes",
        ["enterprise_id", "space_id"],
        unique=True,
        sqlite_where=sa.text(CURRENT),
        postgresql_where=sa.text(CURRENT),
    )


def downgrade() -> None:
    op.drop_index(INDEX, table_name="space_public_codes")
