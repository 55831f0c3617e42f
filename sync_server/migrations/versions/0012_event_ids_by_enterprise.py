"""event ids by enterprise: the key of ``events`` is (enterprise_id, event_id)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 07:30:00

Event ids are minted by each enterprise's tablets, as permit ids are (0006). Keyed by
the id alone, a push's resend check looked every id up across all enterprises: a
statement no shard of a table distributed by ``enterprise_id`` can answer alone
(docs/server.md, "Past one machine"), and an id another enterprise held answered
EVENT_ID_REUSED to a tablet that had never seen it. Now each enterprise's ids are its
own; rows are kept as they are (an id unique on the server is unique per enterprise).

SQLite rebuilds the table (``batch_alter_table``); PostgreSQL alters it in place.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _primary_key(columns: list[str]) -> None:
    with op.batch_alter_table("events", recreate="auto") as batch:
        batch.drop_constraint(op.f("pk_events"), type_="primary")
        batch.create_primary_key(op.f("pk_events"), columns)


def upgrade() -> None:
    _primary_key(["enterprise_id", "event_id"])


def downgrade() -> None:
    # Refused by the database when two enterprises hold one id: no global key to go
    # back to.
    _primary_key(["event_id"])
