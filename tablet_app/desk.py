"""The tablet's side of the permit chain: load, decide, seal, store.

Every action goes through ``permits.commands.PermitSession`` (the same rules the
server replays) and the sealed event is committed to the local store before the
in-memory session moves on, so what the screen shows is always what is stored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace as dc_replace
from datetime import date
from typing import Any

from permits.commands import PermitSession
from permits.events import (
    Cancelled,
    Certificate,
    Closed,
    ClosingStarted,
    DetectorIdentity,
    Event,
    MonitoringStopped,
    Payload,
    PersonSnapshot,
    SignOff,
    SignOffMeaning,
    SpaceSnapshot,
    Suspended,
    parse_event,
)
from permits.integrity import DeviceKey
from permits.state import PermitState, fold
from tablet_app.context import AppContext
from tablet_app.i18n import _
from tablet_app.pins import verify_pin

_PERSON_FIELDS = set(PersonSnapshot.model_fields)
_SPACE_FIELDS = set(SpaceSnapshot.model_fields)
_DETECTOR_FIELDS = set(DetectorIdentity.model_fields)


def person_snapshot(row: dict[str, Any]) -> PersonSnapshot:
    """A ledger person row (as pulled from the server) as the permit records it."""
    data = {k: v for k, v in row.items() if k in _PERSON_FIELDS}
    data.setdefault("person_id", row["id"])
    data["certificates"] = tuple(Certificate.model_validate(c) for c in row.get("certificates", ()))
    return PersonSnapshot.model_validate(data)


def space_snapshot(row: dict[str, Any]) -> SpaceSnapshot:
    data = {k: v for k, v in row.items() if k in _SPACE_FIELDS}
    data.setdefault("space_id", row["id"])
    return SpaceSnapshot.model_validate(data)


def detector_identity(row: dict[str, Any]) -> DetectorIdentity:
    data = {k: v for k, v in row.items() if k in _DETECTOR_FIELDS}
    data.setdefault("serial", row["id"])
    return DetectorIdentity.model_validate(data)


def training_valid_on(row: dict[str, Any], day: date) -> bool:
    until = row.get("training_valid_until")
    return until is not None and date.fromisoformat(str(until)) >= day


_ENDS_A_SPAN = (ClosingStarted, Closed, Cancelled, Suspended, MonitoringStopped)


class PermitDesk:
    def __init__(self, context: AppContext) -> None:
        self.context = context
        self.store = context.store
        self._key = self._device_key()
        self._sessions: dict[str, PermitSession] = {}
        # Per permit: seals the readings not yet in a chunk (the board's recorder).
        self._sealers: dict[str, Callable[[str], object]] = {}

    @property
    def key(self) -> DeviceKey:
        # Enrolment gives the tablet its server-side device id; the same key pair
        # then signs under the new id.
        if self._key.device_id != self.context.device_id:
            self._key = DeviceKey.from_private_b64(
                self.context.device_id, self.store.get_setting("device_private_key")
            )
            for session in self._sessions.values():
                session.device_key = self._key
        return self._key

    def _device_key(self) -> DeviceKey:
        # Generated once per install; the public half is enrolled with the server.
        private = self.store.get_setting("device_private_key")
        if private is None:
            key = DeviceKey.generate(self.context.device_id)
            self.store.set_setting("device_private_key", key.private_b64())
            self.store.set_setting("device_public_key", key.public_b64())
            return key
        return DeviceKey.from_private_b64(self.context.device_id, private)

    # ---- reading

    def session(self, permit_id: str) -> PermitSession:
        if permit_id not in self._sessions:
            events = [parse_event(e) for e in self.store.events_for_permit(permit_id)]
            self._sessions[permit_id] = PermitSession(
                self.key, state=fold(events), events=list(events)
            )
        return self._sessions[permit_id]

    def state(self, permit_id: str) -> PermitState:
        return self.session(permit_id).state

    def permit_ids(self) -> list[str]:
        return self.store.permit_ids()

    # ---- writing

    def record(self, permit_id: str, payload: Payload, *, actor: str, new: bool = False) -> Event:
        """Decide and seal on a copy, commit to the store, then adopt the copy.

        A refusal (RuleViolation) or a store error leaves both untouched.
        """
        if new:
            base = PermitSession(self.key)
        else:
            sealer = self._sealers.get(permit_id)
            if sealer is not None and isinstance(payload, _ENDS_A_SPAN):
                # Chunks are sealed every few minutes; the readings since the last seal
                # go into the chain before the event that ends monitoring, whichever
                # screen records it, or they would never be sealed.
                sealer(actor)
            base = self.session(permit_id)
        trial = dc_replace(base, events=list(base.events))
        event = trial.record(
            payload, self.context.now(), actor=actor, permit_id=permit_id if new else None
        )
        self.store.append_event(event.to_json())
        self._sessions[permit_id] = trial
        return event

    def seal_readings_with(self, permit_id: str, sealer: Callable[[str], object]) -> None:
        """``sealer(actor)`` runs before any event that closes, cancels, suspends or
        stops the monitoring of ``permit_id``."""
        self._sealers[permit_id] = sealer

    def signoff(
        self,
        permit_id: str,
        person_id: str,
        meaning: SignOffMeaning,
        *,
        signature_image_sha256: str | None = None,
    ) -> SignOff:
        """A sign-off over the chain head the person sees (PIN checked at sign-in, or
        just before by :meth:`check_pin`), naming a drawn signature when there is one."""
        return self.session(permit_id).signoff(
            person_id, meaning, self.context.now(), signature_image_sha256=signature_image_sha256
        )

    def store_signature(self, drawing: Any) -> str:
        """Keep a drawn signature as a PNG attachment (content-addressed, synced before
        the events that name it); refuse a pad with no real mark on it."""
        if drawing is None or not drawing.is_signature():
            raise ValueError(_("Sign on the pad with a finger first, then press sign."))
        return self.store.put_attachment(
            drawing.to_png(), content_type="image/png", purpose="signature"
        )

    def check_pin(self, person_id: str, pin: str) -> None:
        """A person signing on the tablet (not the one signed in) enters their PIN."""
        row = self.person(person_id)
        if row is not None and not row.get("pin_hash"):
            raise ValueError(
                _("No PIN is set for {name}: ask the safety manager.").format(
                    name=self.person_name(person_id)
                )
            )
        if row is None or not verify_pin(pin, str(row["pin_hash"])):
            raise ValueError(_("Wrong PIN for {name}.").format(name=self.person_name(person_id)))

    # ---- reference data

    def people(self) -> list[dict[str, Any]]:
        return self.store.references("people")

    def person(self, person_id: str) -> dict[str, Any] | None:
        return self.store.reference("people", person_id)

    def person_name(self, person_id: str) -> str:
        row = self.person(person_id)
        return str(row["name"]) if row else person_id

    def spaces(self) -> list[dict[str, Any]]:
        return self.store.references("spaces")

    def detectors(self) -> list[dict[str, Any]]:
        return self.store.references("detectors")
