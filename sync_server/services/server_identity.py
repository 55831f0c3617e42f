"""The server's identity key: made on first start, listed with its history, rotated on
request, and used to attest exports (permits.attestation; docs/server.md, "The server's
identity key")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from permits.attestation import AttestedDevice, ServerKey, attestation_statement, fingerprint
from sync_server.schema import devices, server_keys
from sync_server.storage import begin_write, now_iso, parse_iso


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    public_key: str
    fingerprint: str
    valid_from: str
    retired_at: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "key_id": self.key_id,
            "algorithm": "Ed25519",
            "public_key": self.public_key,
            "fingerprint": self.fingerprint,
            "valid_from": self.valid_from,
            "retired_at": self.retired_at,
        }


def _key_id(public_b64: str) -> str:
    return fingerprint(public_b64).replace(" ", "")


def _insert(conn: Connection, key: ServerKey, at: str) -> None:
    conn.execute(
        server_keys.insert().values(
            key_id=_key_id(key.public_b64),
            public_key_b64=key.public_b64,
            private_key_b64=key.private_b64(),
            valid_from=at,
            retired_at=None,
        )
    )


def _current_row(conn: Connection) -> Any:
    return conn.execute(
        sa.select(server_keys)
        .where(server_keys.c.retired_at.is_(None))
        .order_by(server_keys.c.valid_from.desc())
    ).first()


def ensure(engine: Engine) -> KeyInfo:
    """The current key, made now if the server has none (its first start)."""
    with begin_write(engine) as conn:
        if conn.dialect.name == "postgresql":
            # Workers starting together: one makes the key, the others then see it.
            conn.exec_driver_sql("LOCK TABLE server_keys IN SHARE ROW EXCLUSIVE MODE")
        if _current_row(conn) is None:
            _insert(conn, ServerKey.generate(), now_iso())
    with engine.connect() as conn:
        return keys(conn)[0]


def current_key(conn: Connection) -> ServerKey:
    row = _current_row(conn)
    if row is None:  # a database migrated but never started as a server (a restore target)
        raise LookupError("this server has no identity key yet: start it once")
    return ServerKey.from_private_b64(row.private_key_b64)


def keys(conn: Connection) -> list[KeyInfo]:
    """Every key, the current one first, then the retired ones newest first."""
    rows = conn.execute(sa.select(server_keys)).all()
    ordered = [r for r in rows if r.retired_at is None] + sorted(
        (r for r in rows if r.retired_at is not None), key=lambda r: r.retired_at, reverse=True
    )
    return [
        KeyInfo(
            r.key_id, r.public_key_b64, fingerprint(r.public_key_b64), r.valid_from, r.retired_at
        )
        for r in ordered
    ]


def rotate(engine: Engine) -> KeyInfo:
    """A new current key; the old one is retired now and stays listed."""
    with begin_write(engine) as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("LOCK TABLE server_keys IN SHARE ROW EXCLUSIVE MODE")
        at = now_iso()
        conn.execute(
            server_keys.update().where(server_keys.c.retired_at.is_(None)).values(retired_at=at)
        )
        _insert(conn, ServerKey.generate(), at)
    with engine.connect() as conn:
        return keys(conn)[0]


def attest_export(
    conn: Connection, *, permit_id: str, head: tuple[int, str], device_ids: set[str]
) -> dict[str, Any]:
    """The signed statement an export carries: its head and every device key that wrote
    it, with the enrollment each came from, as this server's registry holds them."""
    rows = conn.execute(sa.select(devices).where(devices.c.device_id.in_(device_ids))).all()
    attested = [
        AttestedDevice(
            device_id=r.device_id,
            public_key=r.public_key_b64,
            enterprise_id=r.enterprise_id,
            enrolled_at=parse_iso(r.enrolled_at),
            label=r.label,
            revoked_at=parse_iso(r.revoked_at) if r.revoked_at else None,
        )
        for r in rows
    ]
    statement = attestation_statement(
        permit_id=permit_id, head=head, devices=attested, exported_at=parse_iso(now_iso())
    )
    return current_key(conn).attest(statement)
