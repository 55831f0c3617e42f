"""A backup that was edited does not restore (docs/server.md, "Backups that cannot be
edited"): each edit an insider might make to an archive — raise an account to operator,
close a hazard, drop audit rows — whether left unsigned or re-signed with a key of their
own, a cut-short archive, another server's archive, and a changed native backup are
refused with their code, and nothing is written to the target."""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from permits.attestation import ServerKey
from sync_server.backup import backup_file, restore_file
from sync_server.backup_seal import signature_record
from sync_server.errors import Unprocessable
from sync_server.schema import accounts, metadata
from sync_server.services import server_identity
from sync_server.storage import make_engine, migrate
from tests.reliability.test_backup_restore import _fill
from tests.sync_server.conftest import World

PASSPHRASE = "correct horse battery staple"


def _lines(path: Path) -> list[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def _write(path: Path, records: list[dict[str, Any]], *, resign: ServerKey | None = None) -> None:
    """Write ``records`` back; with ``resign``, replace the trailer by a valid signature of
    that (the forger's) key over the edited content."""
    body = [json.dumps(r, ensure_ascii=False) + "\n" for r in records[:-1]]
    trailer = records[-1]
    if resign is not None:
        digest = hashlib.sha256("".join(body).encode()).hexdigest()
        trailer = signature_record(digest, resign)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(body)
        f.write(json.dumps(trailer) + "\n")


def promote_to_operator(records: list[dict[str, Any]]) -> None:
    row = next(r for r in records if r.get("t") == "accounts" and r["r"]["username"] == "a-admin")
    row["r"]["role"] = "operator"


def close_every_hazard(records: list[dict[str, Any]]) -> None:
    for r in records:
        if r.get("t") == "hazards":
            r["r"]["status"] = "closed"


def drop_audit_rows(records: list[dict[str, Any]]) -> None:
    records[:] = [r for r in records if r.get("t") != "audit_log"]


EDITS: dict[str, Callable[[list[dict[str, Any]]], None]] = {
    "account raised to operator": promote_to_operator,
    "hazards closed": close_every_hazard,
    "audit rows dropped": drop_audit_rows,
}


@pytest.fixture
def archive(world: World, db_url: str, tmp_path: Path) -> tuple[Path, str]:
    _fill(world)
    out = tmp_path / "backup.jsonl.gz"
    engine = make_engine(db_url)
    try:
        backup_file(engine, out, "archive", PASSPHRASE)
        with engine.connect() as conn:
            fp = server_identity.keys(conn)[0].fingerprint
    finally:
        engine.dispose()
    return out, fp


def _target(tmp_path: Path, name: str) -> Any:
    engine = make_engine(f"sqlite:///{tmp_path}/{name}.db")
    migrate(engine)
    return engine


def _rows(engine: Any) -> int:
    with engine.connect() as conn:
        return sum(
            int(conn.execute(sa.select(sa.func.count()).select_from(t)).scalar() or 0)
            for t in metadata.sorted_tables
        )


def _refused(engine: Any, path: Path, key: str | None, code: str, **kw: Any) -> None:
    before = _rows(engine)
    with pytest.raises(Unprocessable) as caught:
        restore_file(engine, path, key, kw.get("passphrase", PASSPHRASE))
    assert caught.value.code == code, caught.value.message
    assert caught.value.message  # says what is wrong
    assert _rows(engine) == before  # nothing written


@pytest.mark.parametrize("how", list(EDITS))
@pytest.mark.parametrize("resigned", [False, True], ids=["left as signed", "re-signed"])
def test_an_edited_archive_is_refused_and_nothing_is_written(
    archive: tuple[Path, str], tmp_path: Path, how: str, resigned: bool
) -> None:
    path, fp = archive
    records = _lines(path)
    assert records[-1]["t"] == "$signature"
    EDITS[how](records)
    edited = tmp_path / "edited.jsonl.gz"
    _write(edited, records, resign=ServerKey.generate() if resigned else None)
    target = _target(tmp_path, "t")
    try:
        _refused(target, edited, fp, "BACKUP_FOREIGN" if resigned else "BACKUP_TAMPERED")
    finally:
        target.dispose()


def test_cut_short_foreign_and_unanchored_archives_are_refused(
    archive: tuple[Path, str], tmp_path: Path
) -> None:
    path, fp = archive
    target = _target(tmp_path, "t")
    try:
        records = _lines(path)
        cut = tmp_path / "cut.jsonl.gz"
        _write(cut, [*records[:-3], records[-3]])  # the trailer and two rows gone
        _refused(target, cut, fp, "BACKUP_UNSIGNED")
        raw = path.read_bytes()
        torn = tmp_path / "torn.jsonl.gz"
        torn.write_bytes(raw[: len(raw) // 2])  # a copy interrupted half-way
        _refused(target, torn, fp, "BACKUP_CORRUPT")
        other = ServerKey.generate().fingerprint
        _refused(target, path, other, "BACKUP_FOREIGN")  # not the server we expect
        _refused(target, path, None, "BACKUP_KEY_NEEDED")
        _refused(target, path, "{not json", "BACKUP_KEY_INVALID")  # was an unhandled error
        _refused(target, path, fp, "BACKUP_PASSPHRASE", passphrase="wrong passphrase!")
        # The genuine archive, against the right key, restores.
        _fmt, counts = restore_file(target, path, fp, PASSPHRASE)
        assert counts["accounts"] >= 3
    finally:
        target.dispose()


def test_without_the_passphrase_the_key_is_left_out_and_old_exports_still_verify(
    world: World, db_url: str, tmp_path: Path
) -> None:
    from sync_server.app import create_app
    from sync_server.settings import Settings

    _fill(world)
    old = world.client.get("/api/v1/server-key").json()
    out = tmp_path / "nokey.jsonl.gz"
    engine = make_engine(db_url)
    try:
        backup_file(engine, out, "archive")  # no passphrase
    finally:
        engine.dispose()
    keys = [r for r in _lines(out) if r.get("t") == "server_keys"]
    assert keys and all(r["r"]["private_key_b64"] is None for r in keys)
    target_url = f"sqlite:///{tmp_path}/restored.db"
    target = make_engine(target_url)
    migrate(target)
    restore_file(target, out, old["fingerprint"])
    target.dispose()
    restored = create_app(Settings(db_url=target_url))
    try:
        with restored.state.engine.connect() as conn:
            listed = server_identity.keys(conn)
        # A new identity key now signs; the old public key is kept, retired.
        assert listed[0].key_id != old["key_id"] and listed[0].retired_at is None
        assert [k.key_id for k in listed[1:]] == [old["key_id"]] and listed[1].retired_at
    finally:
        restored.state.engine.dispose()


def test_a_changed_native_backup_is_refused(world: World, db_url: str, tmp_path: Path) -> None:
    _fill(world)
    out = tmp_path / "online.db"
    engine = make_engine(db_url)
    try:
        backup_file(engine, out, "sqlite")
        with engine.connect() as conn:
            fp = server_identity.keys(conn)[0].fingerprint
    finally:
        engine.dispose()
    sig = out.with_name(out.name + ".sig")
    assert out.stat().st_mode & 0o777 == 0o600 and sig.stat().st_mode & 0o777 == 0o600
    edit = make_engine(f"sqlite:///{out}")
    with edit.begin() as conn:
        conn.execute(
            accounts.update().where(accounts.c.username == "a-admin").values(role="operator")
        )
    edit.dispose()
    target = make_engine(f"sqlite:///{tmp_path}/t.db")
    try:
        with pytest.raises(Unprocessable) as caught:
            restore_file(target, out, fp)
        assert caught.value.code == "BACKUP_TAMPERED"
        assert not sa.inspect(target).get_table_names()  # nothing written
        sig.unlink()
        with pytest.raises(Unprocessable) as caught:
            restore_file(target, out, fp)
        assert caught.value.code == "BACKUP_UNSIGNED"
    finally:
        target.dispose()
