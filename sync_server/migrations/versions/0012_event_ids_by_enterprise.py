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

Down is refused, before anything is altered, while two enterprises hold one event id:
there is no key of the id alone to go back to. The check comes first because SQLite's
DDL is not run in a transaction by alembic: a rebuild the database refused halfway left
alembic's copy table (``_alembic_tmp_events``) behind.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from sync_server.errors import Conflict
from sync_server.i18n import gettext as _

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
    shared = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT event_id, COUNT(*) FROM events GROUP BY event_id"
                " HAVING COUNT(*) > 1 ORDER BY event_id LIMIT 1"
            )
        )
        .first()
    )
    if shared is not None:
        raise Conflict(
            _(
                "cannot go below migration 0012: event id {event_id} is held by {n} "
                "enterprises, and before 0012 an event id was unique on the whole "
                "server; remove or re-key those events first"
            ).format(event_id=shared[0], n=shared[1]),
            code="DOWNGRADE_REFUSED",
            field="events.event_id",
            extra={"event_id": shared[0], "enterprises": shared[1]},
        )
    _primary_key(["event_id"])
