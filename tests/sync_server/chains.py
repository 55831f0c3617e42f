"""Build signed permit event chains for the tests the way a tablet does: the permit
core's event model (``permits.events``) sealed with ``permits.integrity``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from permits.events import (
    GENESIS_HASH,
    Approved,
    Cancelled,
    Drafted,
    HazardIdentified,
    Payload,
    SignOff,
    SignOffMeaning,
    SpaceSnapshot,
    new_event,
)
from permits.integrity import DeviceKey, seal


@dataclass
class Tablet:
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    device_id: str = "unenrolled"
    token: str = ""
    enterprise_id: str = ""
    heads: dict[str, tuple[int, str]] = field(default_factory=dict)

    @property
    def device_key(self) -> DeviceKey:
        return DeviceKey(self.device_id, self.key)

    @property
    def public_key_b64(self) -> str:
        return self.device_key.public_b64()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def head(self, permit_id: str) -> str:
        return self.heads.get(permit_id, (0, GENESIS_HASH))[1]

    def event(
        self,
        permit_id: str,
        payload: Payload,
        *,
        actor: str = "p-guardian",
        at: datetime | None = None,
        event_id: UUID | None = None,
    ) -> dict[str, Any]:
        seq, prev = self.heads.get(permit_id, (0, GENESIS_HASH))
        ev = new_event(
            payload,
            permit_id=permit_id,
            seq=seq + 1,
            actor=actor,
            device_id=self.device_id,
            occurred_at=at or datetime.now(UTC) - timedelta(minutes=5),
            event_id=event_id,
        )
        sealed = seal(ev, prev, self.device_key)
        assert sealed.hash is not None
        self.heads[permit_id] = (seq + 1, sealed.hash)
        return sealed.to_json()


def space(space_id: str = "T-1") -> SpaceSnapshot:
    return SpaceSnapshot(
        space_id=space_id,
        name="糖蜜罐 molasses tank",
        required_channels=("O2", "H2S", "LEL", "CO"),
        sample_points=("top", "middle", "bottom"),
    )


def drafted(enterprise_id: str, space_id: str = "T-1") -> Drafted:
    return Drafted(
        enterprise_id=enterprise_id, space=space(space_id), work_description="clean the tank"
    )


def approved(tablet: Tablet, permit_id: str, person: str = "p-approver") -> Approved:
    return Approved(
        signoff=SignOff(
            person_id=person,
            meaning=SignOffMeaning.APPROVE,
            signed_at=datetime.now(UTC) - timedelta(minutes=5),
            state_hash=tablet.head(permit_id),
            pin_verified=True,
        )
    )


def cancelled(reason: str = "work postponed") -> Cancelled:
    return Cancelled(reason=reason)


def filler(i: int) -> HazardIdentified:
    return HazardIdentified(hazard=f"hazard {i}")


def enroll_tablet(client: Any, admin_headers: dict[str, str]) -> Tablet:
    tablet = Tablet()
    code = client.post("/api/v1/enrollments", json={"label": "t"}, headers=admin_headers).json()[
        "code"
    ]
    r = client.post("/api/v1/devices", json={"code": code, "public_key": tablet.public_key_b64})
    assert r.status_code == 201, r.text
    tablet.device_id = r.json()["device_id"]
    tablet.token = r.json()["token"]
    tablet.enterprise_id = r.json()["enterprise_id"]
    return tablet


def simple_permit(tablet: Tablet, permit_id: str, space_id: str = "T-1") -> list[dict[str, Any]]:
    first = tablet.event(permit_id, drafted(tablet.enterprise_id, space_id))
    second = tablet.event(permit_id, approved(tablet, permit_id), actor="p-approver")
    return [first, second]
