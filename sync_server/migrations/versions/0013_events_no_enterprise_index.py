"""events: the index on ``enterprise_id`` alone dropped

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 02:10:00

Since 0012 the key of ``events`` is (enterprise_id, event_id), which serves any look-up by
enterprise the plain index did; the server reads events only by enterprise and permit
(the unique key) or enterprise and event ids (the primary key): services/ingest.py,
services/chains.py. The plain index was a third B-tree written for every event stored
(docs/performance.md, wave 11).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_events_enterprise_id"


def upgrade() -> None:
    op.drop_index(INDEX, table_name="events")


def downgrade() -> None:
    op.create_index(INDEX, "events", ["enterprise_id"])
