"""Backup and restore, engine-neutral: every table as gzip'd JSON lines, so a SQLite
server can be restored onto PostgreSQL and back. The archive names its schema revision;
restore needs an empty database migrated to the same revision.

Every backup is signed with the server's identity key and restores only against a key the
operator brings (``backup_seal``): an archive edited to raise an account, close a hazard
or drop audit rows, a truncated one or another server's is refused and nothing is
written. Backups are written 0600: they hold password hashes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from sync_server import backup_seal
from sync_server.errors import Conflict, Unprocessable
from sync_server.i18n import gettext as _
from sync_server.schema import accounts, metadata, server_keys
from sync_server.services import server_identity
from sync_server.storage import current_revision, migrate, now_iso

FORMAT = "cspermit-server-backup/1"


def _plain(value: Any) -> Any:
    if isinstance(value, bytes | memoryview):
        return {"$b64": base64.b64encode(bytes(value)).decode()}
    return value


def _restore_value(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$b64"}:
        return base64.b64decode(value["$b64"])
    return value


def _private_file(path: Path) -> Any:
    """``path`` opened for writing, readable by its owner only, before any byte is in it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")


def backup(engine: Engine, path: Path, passphrase: str | None = None) -> dict[str, int]:
    """Write every row of every table to ``path``, signed; returns rows per table.

    The identity key's private half is sealed under ``passphrase``, or left out without
    one (the restored server then makes a new key; its old ones stay listed, retired)."""
    counts: dict[str, int] = {}
    digest = hashlib.sha256()
    with (
        engine.connect() as conn,
        _private_file(path) as raw,
        gzip.open(raw, "wt", encoding="utf-8") as out,
    ):

        def write(rec: dict[str, Any]) -> None:
            line = json.dumps(rec, ensure_ascii=False) + "\n"
            digest.update(line.encode("utf-8"))
            out.write(line)

        # One read transaction: a consistent snapshot on PostgreSQL and SQLite alike.
        with conn.begin():
            key = server_identity.current_key(conn)
            write(
                {
                    "format": FORMAT,
                    "revision": current_revision(engine),
                    "private_keys": "sealed" if passphrase else "omitted",
                }
            )
            for table in metadata.sorted_tables:
                n = 0
                for row in conn.execute(sa.select(table)).mappings():
                    r = {k: _plain(v) for k, v in row.items()}
                    if table is server_keys:
                        r["private_key_b64"] = (
                            backup_seal.seal_private_key(
                                row["private_key_b64"], passphrase, row["key_id"]
                            )
                            if passphrase
                            else None
                        )
                    write({"t": table.name, "r": r})
                    n += 1
                counts[table.name] = n
        out.write(json.dumps(backup_seal.signature_record(digest.hexdigest(), key)) + "\n")
    return counts


def _read_signed(path: Path, server_key: str | None) -> tuple[dict[str, Any], list[str]]:
    """The header and record lines of an archive whose signature checks out."""
    accepted = backup_seal.expected_keys(server_key)
    try:
        with gzip.open(path, "rt", encoding="utf-8") as src:
            lines = src.readlines()
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise Unprocessable(
            _("the backup file is damaged or cut short: {detail}").format(detail=exc),
            code="BACKUP_CORRUPT",
            field="file",
        ) from None
    try:
        header = json.loads(lines[0]) if lines else {}
        trailer = json.loads(lines[-1]) if len(lines) > 1 else None
    except ValueError:
        header, trailer = {}, None
    if header.get("format") != FORMAT:
        raise Unprocessable(_("not a cspermit server backup"), code="BACKUP_FORMAT", field="file")
    digest = hashlib.sha256("".join(lines[:-1]).encode("utf-8")).hexdigest()
    backup_seal.check_signature(digest, trailer, accepted)
    return header, lines[1:-1]


def _server_key_row(row: dict[str, Any], passphrase: str | None) -> dict[str, Any]:
    """A key row as restored: its private half opened with the passphrase, or, without
    it, kept as a retired public key (exports attested with it still verify)."""
    sealed = row.get("private_key_b64")
    if backup_seal.is_sealed(sealed) and passphrase:
        private = backup_seal.open_private_key(sealed, passphrase, row["key_id"])
        from permits.attestation import ServerKey

        if ServerKey.from_private_b64(private).public_b64 != row["public_key_b64"]:
            raise Unprocessable(
                _("the server key in this backup does not match its public key"),
                code="BACKUP_TAMPERED",
                field="file",
            )
        return {**row, "private_key_b64": private}
    return {**row, "private_key_b64": "", "retired_at": row.get("retired_at") or now_iso()}


def restore(
    engine: Engine, path: Path, server_key: str | None = None, passphrase: str | None = None
) -> dict[str, int]:
    """Load a signed archive into an empty, migrated database; nothing is written unless
    the whole archive checks out against ``server_key``."""
    counts: dict[str, int] = {}
    tables = {t.name: t for t in metadata.sorted_tables}
    header, lines = _read_signed(path, server_key)
    if header.get("revision") != current_revision(engine):
        raise Unprocessable(
            _("the backup's schema revision {got} differs from the database's {want}").format(
                got=header.get("revision"), want=current_revision(engine)
            ),
            code="BACKUP_REVISION",
            field="file",
        )
    batch: dict[str, list[dict[str, Any]]] = {}
    for line in lines:
        rec = json.loads(line)
        row = {k: _restore_value(v) for k, v in rec["r"].items()}
        if rec["t"] == server_keys.name:
            row = _server_key_row(row, passphrase)
        batch.setdefault(rec["t"], []).append(row)
    with engine.begin() as conn:
        if conn.execute(sa.select(accounts.c.account_id).limit(1)).first() is not None:
            raise Conflict(_("restore needs an empty database"), code="DATABASE_NOT_EMPTY")
        # An empty server that was started once has a key of its own; the restored
        # server's identity replaces it.
        conn.execute(server_keys.delete())
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
    _private_file(tmp).close()  # owner-only before SQLite writes a byte into it
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
    _private_file(tmp).close()  # pg_dump keeps the mode of the file it overwrites
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


def _sig_path(path: Path) -> Path:
    return path.with_name(path.name + ".sig")


def _sign_native(engine: Engine, path: Path) -> None:
    """A native backup's signature, beside it as ``FILE.sig`` (docs/server.md: the file
    itself holds the identity key, so this detects damage and edits by anyone without it,
    not by someone who can read the backup)."""
    os.chmod(path, 0o600)
    with engine.connect() as conn:
        key = server_identity.current_key(conn)
    record = backup_seal.signature_record(backup_seal.file_digest(path), key)
    with _private_file(_sig_path(path)) as f:
        f.write((json.dumps(record) + "\n").encode())


def _check_native(path: Path, server_key: str | None) -> None:
    accepted = backup_seal.expected_keys(server_key)
    sig = _sig_path(path)
    try:
        record = json.loads(sig.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        record = None
    backup_seal.check_signature(backup_seal.file_digest(path), record, accepted)


def backup_file(
    engine: Engine, path: Path, fmt: str = "archive", passphrase: str | None = None
) -> dict[str, int]:
    """Write a signed backup in ``fmt``: archive (any engine), sqlite or pg_dump (same
    engine, signature in ``FILE.sig``)."""
    server_identity.ensure(engine)  # a database never started as a server has no key yet
    if fmt == "archive":
        return backup(engine, path, passphrase)
    if fmt in ("sqlite", "pg_dump"):
        counts = backup_sqlite(engine, path) if fmt == "sqlite" else backup_pg_dump(engine, path)
        _sign_native(engine, path)
        return counts
    raise Unprocessable(
        _("unknown backup format {fmt}; one of {formats}").format(
            fmt=fmt, formats=", ".join(FORMATS)
        ),
        code="BACKUP_FORMAT",
        field="format",
    )


def restore_file(
    engine: Engine, path: Path, server_key: str | None = None, passphrase: str | None = None
) -> tuple[str, dict[str, int]]:
    """Restore any of the three formats into an empty database, then bring the schema to
    the latest revision, once its signature checks out against ``server_key``. Returns the
    format found and the rows per table."""
    fmt = detect_format(path)
    if fmt == "archive":
        migrate(engine)
        return fmt, restore(engine, path, server_key, passphrase)
    _check_native(path, server_key)
    counts = restore_sqlite(engine, path) if fmt == "sqlite" else restore_pg_dump(engine, path)
    migrate(engine)  # an older backup is upgraded like any database
    return fmt, counts
