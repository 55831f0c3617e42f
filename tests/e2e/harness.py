"""An enterprise run as a new one would be: its ledger entered through the server's JSON
API, a real tablet store enrolled and synced through the real sync client, and a chain
that breaks a rule (built with the core, sealed with the enrolled device key, bypassing
the tablet's refusal) pushed through the same sync, for the server's replay to judge.

One app per test (httpx ASGI transport over a temp SQLite file, the demo's enterprises
and accounts); nothing is shared between tests.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from cspermit.demo.molasses_tank import atmosphere_test
from permits.events import (
    AtmosphereTestRecorded,
    DetectorIdentity,
    Drafted,
    Event,
    Payload,
    SignOff,
    SignOffMeaning,
    new_event,
)
from permits.integrity import seal
from permits.reference import hash_pin
from permits.state import apply, fold
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.store import Store
from tests.tablet_app.server_rig import enrol_and_sync

ENTERPRISE = "ent-a"
ADMIN = ("a-admin", "a-admin-demo")
CREDIT_CODE = "91530102MA6K6GH00F"  # any valid 统一社会信用代码 serves a contractor
PIN = "2468"
_PIN_HASH: list[str] = []


def pin_hash() -> str:
    if not _PIN_HASH:  # Argon2id is slow on purpose: hash the test PIN once
        _PIN_HASH.append(hash_pin(PIN))
    return _PIN_HASH[0]


def today() -> date:
    return datetime.now(UTC).date()


def days(n: int) -> str:
    """Today (UTC) plus ``n`` days. A date that must have passed is ``days(-2)``, not
    ``days(-1)``: a broken chain's events start 30 minutes back, which between 00:00 and
    00:30 UTC is still yesterday, when yesterday's expiry has not passed yet."""
    return (today() + timedelta(days=n)).isoformat()


def space(space_id: str, **changes: Any) -> dict[str, Any]:
    """A ledger entry (``ConfinedSpace``) of an ordinary space: no poisoning gas."""
    data: dict[str, Any] = {
        "name": f"space {space_id}",
        "location": "east yard",
        "type": "closed_equipment",
        "hazards": ["O2_deficiency"],
        "required_channels": ["O2", "LEL"],
        "sample_points": ["top", "bottom"],
        "required_ppe": [],
        "rescue_equipment": [],
        "warning_sign_present": True,
        "four_lists": {
            "basic_information": ["volume 20 m³"],
            "responsible_persons": ["principal"],
            "control_measures": ["ventilate, test, then work"],
            "emergency_response": ["tripod at the manhole"],
        },
    }
    data.update(changes)
    return data


def person(
    name: str,
    *,
    roles: Iterable[str] = (),
    contractor: str | None = None,
    trained_until: str | None = None,
) -> dict[str, Any]:
    """A ledger person (``Person``) with valid confined-space training unless told."""
    until = trained_until or days(200)
    completed = min(until, days(-30))
    return {
        "name": name,
        "employer": {"kind": "contractor", "id": contractor}
        if contractor
        else {"kind": "enterprise", "id": ENTERPRISE},
        "roles": sorted(roles),
        "training": [{"topic": "confined_space", "completed_on": completed, "valid_until": until}],
        "pin_hash": pin_hash(),
    }


def contractor(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name,
        "uscc": CREDIT_CODE,
        "contract_reference": f"C-{name}",
        "contract_valid_from": days(-100),
        "contract_valid_until": days(100),
    }
    data.update(changes)
    return data


class Site:
    """The server and one enrolled tablet of enterprise ``ent-a``."""

    def __init__(self, app: Any, store: Store) -> None:
        self.app = app
        self.store = store
        self.context = AppContext(store=store, server_url="http://localhost")
        self.desk = PermitDesk(self.context)
        self.transport = httpx.ASGITransport(app=app)
        self.settings = SettingsPresenter(self.context, transport=self.transport)
        self._token = ""

    # ---- the server's JSON API, as an enterprise admin

    def api(self, method: str, path: str, json: Any = None) -> httpx.Response:
        async def call() -> httpx.Response:
            async with httpx.AsyncClient(
                transport=self.transport, base_url="http://localhost"
            ) as web:
                if not self._token:
                    r = await web.post(
                        "/api/v1/auth/token", data={"username": ADMIN[0], "password": ADMIN[1]}
                    )
                    self._token = r.json()["access_token"]
                return await web.request(
                    method, path, json=json, headers={"Authorization": f"Bearer {self._token}"}
                )

        return asyncio.run(call())

    def put(self, kind: str, item_id: str, data: dict[str, Any]) -> dict[str, Any]:
        r = self.api("PUT", f"/api/v1/enterprises/{ENTERPRISE}/{kind}/{item_id}", data)
        assert r.status_code in (200, 201), r.text
        body: dict[str, Any] = r.json()
        return body

    def trace(self, permit_id: str) -> dict[str, Any]:
        r = self.api("GET", f"/api/v1/permits/{permit_id}")
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def automatic_findings(self, permit_id: str) -> dict[str, dict[str, Any]]:
        """The replay's findings that filed an automatic hazard, by code."""
        return {f["code"]: f for f in self.trace(permit_id)["findings"] if f.get("hazard_id")}

    def evidence(self, permit_id: str) -> list[dict[str, Any]]:
        return list(self.trace(permit_id)["findings"])

    # ---- the tablet

    def enrol(self) -> None:
        asyncio.run(enrol_and_sync(self.settings, self.transport, label="entrance tablet"))

    def sync(self) -> None:
        assert asyncio.run(self.settings.sync_now()), self.settings.sync_result

    def sign_in(self, person_id: str) -> None:
        self.context.user = person_id

    # ---- a chain that breaks the rule, as a faulty or tampered tablet would write it

    def push_broken(self, permit_id: str, steps: Iterable[tuple[Payload, str]]) -> list[Event]:
        """Seal ``steps`` (payload, actor) one minute apart with this tablet's enrolled key,
        without the core's checks, store them as the tablet would and sync them."""
        return self.push_more(permit_id, [], steps)

    def push_more(
        self, permit_id: str, before: list[Event], steps: Iterable[tuple[Payload, str]]
    ) -> list[Event]:
        """:meth:`push_broken`, continuing the chain ``before`` (already pushed)."""
        key = self.desk.key
        state = fold(before)
        at = before[-1].occurred_at if before else self.context.now() - timedelta(minutes=30)
        events: list[Event] = list(before)
        for payload, actor in steps:
            at += timedelta(minutes=1)
            event = seal(
                new_event(
                    payload,
                    permit_id=permit_id,
                    seq=state.seq + 1,
                    actor=actor,
                    device_id=key.device_id,
                    occurred_at=at,
                ),
                state.head_hash,
                key,
            )
            state = apply(state, event)
            events.append(event)
            self.store.append_event(event.to_json())
        self.sync()
        assert self.store.count_unacked()["events"] == 0
        return events

    def signoff(self, events: list[Event], person_id: str, meaning: SignOffMeaning) -> SignOff:
        """A signature over the head of ``events`` (as the next event's signer saw it)."""
        head = fold(events)
        return SignOff(
            person_id=person_id,
            meaning=meaning,
            signed_at=events[-1].occurred_at,
            state_hash=head.head_hash,
            pin_verified=True,
        )

    def drafted(self, space_id: str, **changes: Any) -> Drafted:
        """The Drafted payload this tablet would record for ``space_id``."""
        row = self.store.reference("spaces", space_id)
        assert row is not None
        fields: dict[str, Any] = {
            "enterprise_id": ENTERPRISE,
            "space": self.desk.space_snapshot(row),
            "work_description": "e2e",
            "ledger_as_of": self.desk.ledger_as_of(),
        }
        return Drafted(**{**fields, **changes})


def air_test(
    at: datetime, detector: DetectorIdentity, *, o2: float, points: Iterable[str]
) -> AtmosphereTestRecorded:
    """A driver test whose samples were taken at ``at`` (the demo's clean air but for the
    oxygen), by the ledger's ``detector``; the permit judges it against its own space."""
    test = atmosphere_test(at, o2=o2, points=tuple(points))
    test["detector"] = detector.model_dump(
        mode="json", include={"serial", "calibration_due", "last_bump_test"}
    )
    return AtmosphereTestRecorded.model_validate(
        {
            "test": test,
            "detector": detector.model_dump(mode="json"),
            "source": "driver",
            "tested_by": "-",
        }
    )
