"""The server's public identity key: public, so anyone holding an export can fetch the key
(or, better, its fingerprint from a channel they trust) and verify the attestation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel

from sync_server.deps import Conn
from sync_server.services import server_identity

router = APIRouter(prefix="/api/v1", tags=["server"])


class ServerKeyOut(BaseModel):
    key_id: str
    algorithm: str
    public_key: str
    fingerprint: str
    valid_from: str
    # Every key the server has signed with, the current one first: an attestation made
    # before a rotation is checked with the key that was current then.
    keys: list[dict[str, Any]]


@router.get("/server-key", response_model=ServerKeyOut)
def server_key(conn: Conn) -> ServerKeyOut:
    """The current identity key and fingerprint, and the retired keys with their periods."""
    keys = server_identity.keys(conn)
    current = keys[0].as_json()
    return ServerKeyOut(
        key_id=current["key_id"],
        algorithm=current["algorithm"],
        public_key=current["public_key"],
        fingerprint=current["fingerprint"],
        valid_from=current["valid_from"],
        keys=[k.as_json() for k in keys],
    )
