"""Build signed permit event chains for the tests, the way a tablet does."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from permits.canonical import canonical_bytes


@dataclass
class Tablet:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    device_id: str = ""
    token: str = ""
    heads: dict[str, tuple[int, str | None]] = field(default_factory=dict)

    @property
    def public_key_b64(self) -> str:
        raw = self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return base64.b64encode(raw).decode()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def event(
        self,
        permit_id: str,
        type_: str,
        payload: dict[str, Any] | None = None,
        *,
        actor: str = "p-guardian",
        at: datetime | None = None,
    ) -> dict[str, Any]:
        seq, prev = self.heads.get(permit_id, (0, None))
        body: dict[str, Any] = {
            "event_id": str(uuid.uuid4()),
            "permit_id": permit_id,
            "seq": seq + 1,
            "type": type_,
            "occurred_at": (at or datetime.now(UTC) - timedelta(minutes=5)).isoformat(),
            "actor": actor,
            "device_id": self.device_id,
            "payload": payload or {},
            "prev_hash": prev,
        }
        digest = hashlib.sha256(canonical_bytes(body)).hexdigest()
        body["hash"] = digest
        body["sig"] = base64.b64encode(self.key.sign(digest.encode())).decode()
        self.heads[permit_id] = (seq + 1, digest)
        return body


def enroll_tablet(client: Any, admin_headers: dict[str, str]) -> Tablet:
    tablet = Tablet()
    code = client.post("/api/v1/enrollments", json={"label": "t"}, headers=admin_headers).json()[
        "code"
    ]
    r = client.post("/api/v1/devices", json={"code": code, "public_key": tablet.public_key_b64})
    assert r.status_code == 201, r.text
    tablet.device_id = r.json()["device_id"]
    tablet.token = r.json()["token"]
    return tablet


def simple_permit(tablet: Tablet, permit_id: str, space_id: str = "T-1") -> list[dict[str, Any]]:
    return [
        tablet.event(permit_id, "drafted", {"space_id": space_id}),
        tablet.event(permit_id, "approved", {"status": "approved"}, actor="p-approver"),
    ]
