"""Backup and restore, engine-neutral: every table as gzip'd JSON lines, so a SQLite
server can be restored onto PostgreSQL and back. The archive names its schema revision;
restore needs an empty database migrated to the same revision."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sync_server.errors import Conflict, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import accounts, metadata
from sync_server.storage import current_revision

FORMAT = "cspermit-server-backup/1"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def _restore_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$b64"}:
        return base64.b64decode(value["$b64"])
    return value


def backup(engine: Engine, path: Path) -> dict[str, int]:
    """Write every row of every table to ``path``; returns rows per table."""
    counts: dict[str, int] = {}
    with engine.connect() as conn, gzip.open(path, "wt", encoding="utf-8") as out:
        # One read transaction: a consistent snapshot on PostgreSQL and SQLite alike.
        with conn.begin():
            header = {"format": FORMAT, "revision": current_revision(engine)}
            out.write(json.dumps(header) + "\n")
            for table in metadata.sorted_tables:
                n = 0
                for row in conn.execute(sa.select(table)).mappings():
                    rec = {"t": table.name, "r": {k: _plain(v) for k, v in row.items()}}
                    out.write(json.dumps(rec, ensure_ascii=False) + "\n")
                    n += 1
                counts[table.name] = n
    return counts


def restore(engine: Engine, path: Path) -> dict[str, int]:
    """Load an archive into an empty, migrated database."""
    counts: dict[str, int] = {}
    tables = {t.name: t for t in metadata.sorted_tables}
    with gzip.open(path, "rt", encoding="utf-8") as src:
        header = json.loads(src.readline() or "{}")
        if header.get("format") != FORMAT:
            raise Unprocessable(
                _("not a cspermit server backup"), code="BACKUP_FORMAT", field="file"
            )
        if header.get("revision") != current_revision(engine):
            raise Unprocessable(
                _("the backup's schema revision {got} differs from the database's {want}").format(
                    got=header.get("revision"), want=current_revision(engine)
                ),
                code="BACKUP_REVISION",
                field="file",
            )
        with engine.begin() as conn:
            if conn.execute(sa.select(accounts.c.account_id).limit(1)).first() is not None:
                raise Conflict(_("restore needs an empty database"), code="DATABASE_NOT_EMPTY")
            batch: dict[str, list[dict[str, Any]]] = {}
            for line in src:
                rec = json.loads(line)
                batch.setdefault(rec["t"], []).append(
                    {k: _restore_value(v) for k, v in rec["r"].items()}
                )
            for name, table in tables.items():
                rows = batch.get(name, [])
                if rows:
                    conn.execute(table.insert(), rows)
                counts[name] = len(rows)
            if conn.dialect.name == "postgresql" and counts.get("audit_log"):
                # Explicit ids leave the serial sequence behind; move it past them.
                conn.execute(
                    sa.text(
                        "SELECT setval(pg_get_serial_sequence('audit_log', 'audit_id'), "
                        "(SELECT MAX(audit_id) FROM audit_log))"
                    )
                )
    return counts
