"""Backup and restore, engine-neutral: every table as gzip'd JSON lines, so a SQLite
server can be restored onto PostgreSQL and back. The archive names its schema revision;
restore needs an empty database migrated to the same revision."""

from __future__ import annotations

import base64
import gzip
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sync_server.errors import Conflict, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import accounts, metadata
from sync_server.storage import current_revision, migrate

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


# --- engine-native formats ----------------------------------------------------------
#
# The archive above moves between engines. For a same-engine copy of a live server the
# engines' own tools are faster and take a consistent snapshot while tablets push:
# SQLite's online backup API (``sqlite3.Connection.backup``) and PostgreSQL's
# ``pg_dump --format=custom``. ``restore_file`` recognises all three by their first bytes.

FORMATS = ("archive", "sqlite", "pg_dump")
_SQLITE_MAGIC = b"SQLite format 3\x00"
_PGDMP_MAGIC = b"PGDMP"
_GZIP_MAGIC = b"\x1f\x8b"


def detect_format(path: Path) -> str:
    with path.open("rb") as f:
        head = f.read(16)
    if head.startswith(_SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(_PGDMP_MAGIC):
        return "pg_dump"
    if head.startswith(_GZIP_MAGIC):
        return "archive"
    raise Unprocessable(_("not a cspermit server backup"), code="BACKUP_FORMAT", field="file")


def _sqlite_path(engine: Engine) -> str:
    path = engine.url.database
    if engine.dialect.name != "sqlite" or not path or path == ":memory:":
        raise Unprocessable(
            _("this backup format needs a SQLite file database"),
            code="BACKUP_ENGINE",
            field="db",
        )
    return path


def _libpq_url(engine: Engine) -> str:
    if engine.dialect.name != "postgresql":
        raise Unprocessable(
            _("this backup format needs a PostgreSQL database"), code="BACKUP_ENGINE", field="db"
        )
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise Unprocessable(
            _("{tool} is not installed: install the PostgreSQL client tools").format(tool=name),
            code="BACKUP_TOOL_MISSING",
            field="format",
        )
    return found


def backup_sqlite(engine: Engine, path: Path) -> dict[str, int]:
    """A page-by-page copy through SQLite's online backup API: consistent even while the
    server writes (it restarts on a concurrent change), WAL content included."""
    tmp = path.with_name(path.name + ".part")
    tmp.unlink(missing_ok=True)
    src = sqlite3.connect(_sqlite_path(engine), timeout=30)
    try:
        dst = sqlite3.connect(str(tmp))
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            ok = dst.execute("PRAGMA integrity_check").fetchone()[0]
        finally:
            dst.close()
    finally:
        src.close()
    if ok != "ok":
        tmp.unlink(missing_ok=True)
        raise Unprocessable(
            _("the copy failed its integrity check: {detail}").format(detail=ok),
            code="BACKUP_CORRUPT",
        )
    tmp.replace(path)
    return _row_counts(make_engine_for_file(path))


def make_engine_for_file(path: Path) -> Engine:
    return sa.create_engine(f"sqlite:///{path}")


def _row_counts(engine: Engine) -> dict[str, int]:
    try:
        with engine.connect() as conn:
            return {
                t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
                for t in metadata.sorted_tables
            }
    finally:
        engine.dispose()


def backup_pg_dump(engine: Engine, path: Path) -> dict[str, int]:
    """``pg_dump --format=custom``: one consistent snapshot of a live PostgreSQL database."""
    tmp = path.with_name(path.name + ".part")
    done = subprocess.run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            f"--file={tmp}",
            f"--dbname={_libpq_url(engine)}",
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise Unprocessable(
            _("pg_dump failed: {detail}").format(detail=done.stderr.strip()[-500:]),
            code="BACKUP_FAILED",
        )
    tmp.replace(path)
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
            for t in metadata.sorted_tables
        }


def _has_tables(engine: Engine) -> bool:
    return bool(sa.inspect(engine).get_table_names())


def _not_empty() -> Conflict:
    return Conflict(_("restore needs an empty database"), code="DATABASE_NOT_EMPTY")


def restore_sqlite(engine: Engine, path: Path) -> dict[str, int]:
    """Copy a SQLite backup into an empty SQLite database (again through the backup API)."""
    target = _sqlite_path(engine)
    if _has_tables(engine) and _has_rows(engine):
        raise _not_empty()
    engine.dispose()
    src = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        if src.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise Unprocessable(
                _("the backup file is damaged"), code="BACKUP_CORRUPT", field="file"
            )
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
    finally:
        src.close()
    return _row_counts(make_engine_for_file(Path(target)))


def _has_rows(engine: Engine) -> bool:
    names = set(sa.inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name in names and conn.execute(sa.select(table).limit(1)).first():
                return True
    return False


def restore_pg_dump(engine: Engine, path: Path) -> dict[str, int]:
    """``pg_restore`` into an empty PostgreSQL database (no tables yet)."""
    url = _libpq_url(engine)
    if _has_tables(engine):
        if _has_rows(engine):
            raise _not_empty()
        # Migrated but empty (e.g. just created by `server run`): start from nothing.
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            conn.execute(sa.text("CREATE SCHEMA public"))
    done = subprocess.run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            f"--dbname={url}",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if done.returncode != 0:
        raise Unprocessable(
            _("pg_restore failed: {detail}").format(detail=done.stderr.strip()[-500:]),
            code="RESTORE_FAILED",
            field="file",
        )
    with engine.connect() as conn:
        return {
            t.name: int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
            for t in metadata.sorted_tables
        }


def backup_file(engine: Engine, path: Path, fmt: str = "archive") -> dict[str, int]:
    """Write a backup in ``fmt``: archive (any engine), sqlite or pg_dump (same engine)."""
    if fmt == "archive":
        return backup(engine, path)
    if fmt == "sqlite":
        return backup_sqlite(engine, path)
    if fmt == "pg_dump":
        return backup_pg_dump(engine, path)
    raise Unprocessable(
        _("unknown backup format {fmt}; one of {formats}").format(
            fmt=fmt, formats=", ".join(FORMATS)
        ),
        code="BACKUP_FORMAT",
        field="format",
    )


def restore_file(engine: Engine, path: Path) -> tuple[str, dict[str, int]]:
    """Restore any of the three formats into an empty database, then bring the schema to
    the latest revision. Returns the format found and the rows per table."""
    fmt = detect_format(path)
    if fmt == "archive":
        migrate(engine)
        return fmt, restore(engine, path)
    counts = restore_sqlite(engine, path) if fmt == "sqlite" else restore_pg_dump(engine, path)
    migrate(engine)  # an older backup is upgraded like any database
    return fmt, counts
