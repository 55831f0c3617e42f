"""Tables (SQLAlchemy Core). Every table carries ``enterprise_id`` so the schema can be
distributed by enterprise; it is NULL only on rows no enterprise owns (bureau accounts,
the change counter, audit rows of bureau-wide actions).

Times are ISO-8601 UTC strings of one fixed width (``YYYY-MM-DDTHH:MM:SS.ffffff+00:00``):
they sort as text and read back the same on SQLite and PostgreSQL.
The schema changes only through a new Alembic revision in ``sync_server/migrations``.
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

TS = sa.String(40)
ID = sa.String(64)
ENT = sa.String(64)

counters = sa.Table(
    "counters",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=True),
    sa.Column("value", sa.BigInteger, nullable=False),
)

enterprises = sa.Table(
    "enterprises",
    metadata,
    sa.Column("enterprise_id", ENT, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("credit_code", sa.String(18), nullable=False, unique=True),
    sa.Column("jurisdiction", sa.String(12), nullable=False, index=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("rev", sa.BigInteger, nullable=False, index=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    # Migration 0009: shown on every space's public page (码上查).
    sa.Column("emergency_phone", sa.String(40), nullable=True),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("account_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=True, index=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("role", sa.String(32), nullable=False),
    sa.Column("jurisdiction", sa.String(12), nullable=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", TS, nullable=False),
)

# Failed sign-ins by username (known or not), so throttling does not reveal which exist.
sign_in_failures = sa.Table(
    "sign_in_failures",
    metadata,
    sa.Column("username", sa.String(64), primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("locked_until", TS, nullable=True),
    sa.Column("last_failure_at", TS, nullable=False),
)

# Bearer tokens are random; only their SHA-256 is stored, so a database leak leaks no token.
tokens = sa.Table(
    "tokens",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=True, index=True),
    sa.Column("account_id", ID, nullable=True, index=True),
    sa.Column("device_id", ID, nullable=True, index=True),
    sa.Column("issued_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=True),
    sa.Column("revoked_at", TS, nullable=True),
)

enrollment_codes = sa.Table(
    "enrollment_codes",
    metadata,
    sa.Column("code_hash", sa.String(64), primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("created_by", ID, nullable=False),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
    sa.Column("device_id", ID, nullable=True),
    # 0007: an id the devices page lists and revokes a pending code by (never its hash)
    sa.Column("code_id", ID, nullable=True, unique=True),
    sa.Column("revoked_at", TS, nullable=True),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("device_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("label", sa.String(200), nullable=False),
    sa.Column("public_key_b64", sa.String(100), nullable=False, unique=True),
    sa.Column("enrolled_at", TS, nullable=False),
    sa.Column("revoked_at", TS, nullable=True),
    # 0007: when the tablet last synced, and when it last pulled the ledger (its age)
    sa.Column("last_sync_at", TS, nullable=True),
    sa.Column("ledger_pulled_at", TS, nullable=True),
)

# The server's identity keys (Ed25519): the current one signs export attestations; retired
# ones stay listed with their validity so older attestations can still be checked.
server_keys = sa.Table(
    "server_keys",
    metadata,
    sa.Column("key_id", sa.String(64), primary_key=True),  # SHA-256 hex of the raw public key
    sa.Column("public_key_b64", sa.String(100), nullable=False, unique=True),
    sa.Column("private_key_b64", sa.String(100), nullable=False),
    sa.Column("valid_from", TS, nullable=False),
    sa.Column("retired_at", TS, nullable=True),
)

# Ledger, people, training, certificates, detectors, profile overrides: one row per item,
# validated by the permit core's models before it is written.
reference_items = sa.Table(
    "reference_items",
    metadata,
    sa.Column("enterprise_id", ENT, primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("item_id", ID, primary_key=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("deleted", sa.Boolean, nullable=False, default=False),
    sa.Column("rev", sa.BigInteger, nullable=False, index=True),
    sa.Column("updated_at", TS, nullable=False),
)

# Every version of every ledger item (one row per write, a deletion included), so the
# replay can ask what the server's ledger said at an event's time (docs/server.md).
reference_item_versions = sa.Table(
    "reference_item_versions",
    metadata,
    sa.Column("enterprise_id", ENT, primary_key=True),
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("item_id", ID, primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("data", sa.JSON, nullable=True),  # NULL: deleted from this time on
    sa.Column("valid_from", TS, nullable=False),
    sa.Column("changed_by", sa.String(200), nullable=False),
    sa.Column("rev", sa.BigInteger, nullable=False),
    sa.Index(None, "enterprise_id", "kind", "valid_from"),
)

# A summary per permit for filtering; re-derivable from ``events`` by replay.
# Permit ids are the enterprise's own (its tablets mint them): every per-permit table is
# keyed by (enterprise_id, permit_id), so no enterprise can take another's id first
# (migration 0006; docs/reliability.md, section 8).
permits = sa.Table(
    "permits",
    metadata,
    sa.Column("permit_id", ID, nullable=False),
    sa.Column("enterprise_id", ENT, nullable=False),
    sa.Column("space_id", ID, nullable=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("last_seq", sa.Integer, nullable=False),
    sa.Column("last_hash", sa.String(64), nullable=False),
    sa.Column("writer_device_id", ID, nullable=False),
    sa.Column("first_at", TS, nullable=False),
    sa.Column("last_at", TS, nullable=False),
    sa.Column("people", sa.JSON, nullable=False),
    sa.Column("detectors", sa.JSON, nullable=False),
    sa.Column("anomalies", sa.JSON, nullable=False),
    sa.Column("has_anomaly", sa.Boolean, nullable=False),
    sa.Column("rev", sa.BigInteger, nullable=False, index=True),
    sa.Column("updated_at", TS, nullable=False),
    # Migration 0005: the permit's type (its first event says it) and its SIMOPS
    # footprint as the core's fold gives it (``services.simops``), JSON, none when the
    # permit has not declared enough yet.
    sa.Column("permit_type", sa.String(32), nullable=False, server_default="confined_space"),
    sa.Column("footprint", sa.JSON, nullable=True),
    # Search lists newest first, 50 at a time: each filter's index has first_at next, so
    # "this enterprise / status / space / anomalous, newest first" is a range scan that
    # stops after one page instead of a sort of every match (1M rows county-wide). The
    # county-wide ones end in enterprise_id: the reader's scope is checked, and up to
    # 10,001 matches counted, in the index alone (no row read per match); one
    # enterprise's index carries status and has_anomaly for the same reason.
    sa.Index(None, "enterprise_id", "first_at", "status", "has_anomaly"),
    sa.Index(None, "first_at", "enterprise_id"),
    sa.Index(None, "status", "first_at", "enterprise_id"),
    sa.Index(None, "space_id", "first_at"),
    sa.Index(None, "has_anomaly", "first_at", "enterprise_id"),
    # A bureau reviewer opens a permit by its id alone, in any of their enterprises.
    sa.Index(None, "permit_id"),
    sa.PrimaryKeyConstraint("enterprise_id", "permit_id"),
    # Migration 0010: the dashboard's county-wide count of permits in progress reads only
    # the entries of those statuses (the enterprise index above made it walk them all).
    sa.Index(None, "status", "enterprise_id"),
)


def _permit_members(
    name: str, column: str, type_: sa.types.TypeEngine[str], *extra: sa.Index
) -> sa.Table:
    """One row per member of a permit's ``people``, ``detectors`` or ``anomalies``: the
    JSON lists cannot be indexed portably, and a ``LIKE`` on their text scans every permit.
    ``first_at`` is the permit's, copied, so "newest first for this person" is one index
    range. Written with the ``permits`` row (services/permit_members.py); re-derivable
    from it."""
    return sa.Table(
        name,
        metadata,
        sa.Column("permit_id", ID, nullable=False),
        sa.Column(column, type_, nullable=False),
        sa.Column("enterprise_id", ENT, nullable=False),
        sa.Column("first_at", TS, nullable=False),
        sa.Index(None, column, "first_at", "enterprise_id"),
        sa.Index(None, "enterprise_id", column, "first_at"),
        sa.PrimaryKeyConstraint("enterprise_id", "permit_id", column),
        *extra,
    )


# Ids are at most 200 characters (permits.events.Id); codes are the server's own.
permit_people = _permit_members("permit_people", "person_id", sa.String(200))
permit_detectors = _permit_members("permit_detectors", "detector_id", sa.String(200))
# Migration 0010: the dashboard's alarmed permits (count and newest) from the index alone.
permit_anomalies = _permit_members(
    "permit_anomalies",
    "code",
    sa.String(64),
    sa.Index(None, "code", "first_at", "enterprise_id", "permit_id"),
)

events = sa.Table(
    "events",
    metadata,
    # Keyed by (enterprise_id, event_id): an enterprise's tablets mint its ids (0012).
    sa.Column("event_id", ID, nullable=False),
    # No index of its own: the key below leads with it (migration 0013).
    sa.Column("enterprise_id", ENT, nullable=False),
    sa.Column("permit_id", ID, nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("type", sa.String(48), nullable=False),
    sa.Column("occurred_at", TS, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("device_id", ID, nullable=False),
    sa.Column("actor", ID, nullable=True),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    # Device clock skew, measured and flagged, never corrected: CLOCK_AHEAD / CLOCK_BACKWARDS.
    sa.Column("clock_flag", sa.String(32), nullable=True),
    sa.Column("clock_skew_s", sa.Float, nullable=True),
    sa.PrimaryKeyConstraint("enterprise_id", "event_id"),
    sa.UniqueConstraint("enterprise_id", "permit_id", "seq"),
)

version_conflicts = sa.Table(
    "version_conflicts",
    metadata,
    sa.Column("conflict_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("permit_id", ID, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("existing_hash", sa.String(64), nullable=False),
    sa.Column("incoming_hash", sa.String(64), nullable=False),
    sa.Column("event_id", ID, nullable=False),
    sa.Column("device_id", ID, nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("received_at", TS, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
)

# Rule violations found by the server's replay: stored, never dropped; each may file a hazard.
findings = sa.Table(
    "findings",
    metadata,
    sa.Column("finding_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("permit_id", ID, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=True),
    sa.Column("code", sa.String(64), nullable=False),
    sa.Column("facts", sa.JSON, nullable=False),
    sa.Column("hazard_id", ID, nullable=True),
    sa.Column("created_at", TS, nullable=False),
    sa.UniqueConstraint("enterprise_id", "permit_id", "seq", "code"),
)

# SIMOPS conflicts (交叉作业) between an enterprise's open permits, found by the core's
# check (``permits.simops``) on every push (migration 0005); the pair's ids sorted.
simops_conflicts = sa.Table(
    "simops_conflicts",
    metadata,
    sa.Column("enterprise_id", ENT, nullable=False),
    sa.Column("permit_a", ID, nullable=False),
    sa.Column("permit_b", ID, nullable=False),
    sa.Column("verdict", sa.String(16), nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("distance_m", sa.Float, nullable=True),
    sa.Column("found_at", TS, nullable=False),
    sa.PrimaryKeyConstraint("enterprise_id", "permit_a", "permit_b"),
)

# Readings chunks and attachments, content-addressed per enterprise.
blobs = sa.Table(
    "blobs",
    metadata,
    sa.Column("enterprise_id", ENT, primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("content_type", sa.String(100), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("device_id", ID, nullable=True),
    sa.Column("received_at", TS, nullable=False),
)

hazards = sa.Table(
    "hazards",
    metadata,
    sa.Column("hazard_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False, index=True),
    sa.Column("title", sa.String(300), nullable=False),
    sa.Column("space_id", ID, nullable=True),
    sa.Column("permit_id", ID, nullable=True, index=True),
    sa.Column("rule_code", sa.String(64), nullable=True),
    sa.Column("deadline", TS, nullable=True),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("rev", sa.BigInteger, nullable=False, index=True),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)

hazard_actions = sa.Table(
    "hazard_actions",
    metadata,
    sa.Column("action_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("hazard_id", ID, nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.UniqueConstraint("hazard_id", "seq"),
)

notes = sa.Table(
    "notes",
    metadata,
    sa.Column("note_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("object_kind", sa.String(16), nullable=False),
    sa.Column("object_id", ID, nullable=False, index=True),
    sa.Column("author_account_id", ID, nullable=False),
    sa.Column("author", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("audit_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("enterprise_id", ENT, nullable=True, index=True),
    sa.Column("at", TS, nullable=False),
    sa.Column("actor_account_id", ID, nullable=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("actor_role", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("object_kind", sa.String(32), nullable=False),
    sa.Column("object_id", sa.String(200), nullable=False),
    sa.Column("before", sa.JSON, nullable=True),
    sa.Column("after", sa.JSON, nullable=True),
)

# 0007: one-time sign-on codes a person trades once, on a tablet, for a PIN they choose
# (sync_server/services/signon_codes.py); stored only as a SHA-256 digest.
signon_codes = sa.Table(
    "signon_codes",
    metadata,
    sa.Column("code_id", ID, primary_key=True),
    sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("person_id", ID, nullable=False),
    sa.Column("created_by", ID, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS, nullable=True),
    sa.Column("used_by_device", ID, nullable=True),
    sa.Column("revoked_at", TS, nullable=True),
)

# Migration 0009 (码上查, docs/server.md "The public page"): each space's random public
# token behind the QR on its warning card. One current token per space (neither replaced
# nor revoked); older ones stay, so an old card says "this code has been replaced".
space_public_codes = sa.Table(
    "space_public_codes",
    metadata,
    sa.Column("token", sa.String(64), primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False),
    sa.Column("space_id", ID, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("replaced_at", TS, nullable=True),
    sa.Column("revoked_at", TS, nullable=True),
    sa.Index(None, "enterprise_id", "space_id"),
    # One current token per space (migration 0011).
    sa.Index(
        "uq_space_public_codes_current",
        "enterprise_id",
        "space_id",
        unique=True,
        sqlite_where=sa.text("replaced_at IS NULL AND revoked_at IS NULL"),
        postgresql_where=sa.text("replaced_at IS NULL AND revoked_at IS NULL"),
    ),
)

# Reports from the public page: each files a worker-report hazard (the loop is the
# hazard's); this row keeps what only the reporter and the answer need. The receipt code
# and the client address are kept as SHA-256 only.
public_reports = sa.Table(
    "public_reports",
    metadata,
    sa.Column("report_id", ID, primary_key=True),
    sa.Column("enterprise_id", ENT, nullable=False, index=True),
    sa.Column("space_id", ID, nullable=False),
    sa.Column("token", sa.String(64), nullable=False, index=True),
    sa.Column("hazard_id", ID, nullable=False, unique=True),
    sa.Column("receipt_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("challenge", sa.String(128), nullable=False, unique=True),
    sa.Column("address_hash", sa.String(64), nullable=False, index=True),
    sa.Column("category", sa.String(32), nullable=False),
    sa.Column("contact", sa.String(200), nullable=True),
    sa.Column("photos", sa.JSON, nullable=False),
    sa.Column("answer", sa.Text, nullable=True),
    sa.Column("answered_at", TS, nullable=True),
    sa.Column("answered_by", sa.String(200), nullable=True),
    sa.Column("reward_marked_at", TS, nullable=True),
    sa.Column("reward_marked_by", sa.String(200), nullable=True),
    sa.Column("created_at", TS, nullable=False, index=True),
)
