"""The tablet's side of the permit chain: load, decide, seal, store.

Every action goes through ``permits.commands.PermitSession`` (the same rules the
server replays) and the sealed event is committed to the local store before the
in-memory session moves on, so what the screen shows is always what is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace as dc_replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from permits.commands import CONFINED_SPACE, PermitSession
from permits.commands.session import ChainSession
from permits.events import (
    ApprovalAuthority,
    Cancelled,
    Certificate,
    Closed,
    ClosingStarted,
    ContractorSnapshot,
    DelegationSnapshot,
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
from permits.profiles import DEFAULT_PROFILE
from permits.reference.rules import reference_rules
from permits.state import PermitState, fold
from tablet_app.context import AppContext
from tablet_app.i18n import _
from tablet_app.pins import verify_pin
from tablet_app.reference_sync import DEFAULT_PROFILE as DEFAULT_PROFILE_SETTING
from tablet_app.reference_sync import ledger_pulled_at

_PERSON_FIELDS = set(PersonSnapshot.model_fields)
_SPACE_FIELDS = set(SpaceSnapshot.model_fields)
_CONTRACTOR_FIELDS = set(ContractorSnapshot.model_fields)
_DELEGATION_FIELDS = set(DelegationSnapshot.model_fields)
_DETECTOR_FIELDS = set(DetectorIdentity.model_fields)


def person_snapshot(
    row: dict[str, Any],
    *,
    contractor: dict[str, Any] | None = None,
    delegation: dict[str, Any] | None = None,
) -> PersonSnapshot:
    """A ledger person row (as pulled from the server) as the permit records it, with
    the employer contractor's row and the written delegation chosen for this permit
    (:meth:`PermitDesk.person_snapshot` looks both up). The core judges them."""
    data = {k: v for k, v in row.items() if k in _PERSON_FIELDS}
    data.setdefault("person_id", row["id"])
    data["certificates"] = tuple(Certificate.model_validate(c) for c in row.get("certificates", ()))
    contractor_id = row.get("contractor_id")
    if contractor_id:
        data["contractor"] = (
            ContractorSnapshot.model_validate(
                {k: v for k, v in contractor.items() if k in _CONTRACTOR_FIELDS}
            )
            if contractor is not None
            # The ledger does not know the employer: recorded so the roster rule refuses.
            else ContractorSnapshot(contractor_id=contractor_id, name="", registered=False)
        )
    if delegation is not None:
        snap = DelegationSnapshot.model_validate(
            {k: v for k, v in delegation.items() if k in _DELEGATION_FIELDS}
        )
        data["delegation"] = snap
        data["delegation_ref"] = snap.document_ref or snap.delegation_id
        if data.get("approval_authority") != ApprovalAuthority.PRINCIPAL.value:
            data["approval_authority"] = ApprovalAuthority.DELEGATE.value
    return PersonSnapshot.model_validate(data)


def space_snapshot(
    row: dict[str, Any],
    *,
    default_profile: str = DEFAULT_PROFILE,
    overrides: Iterable[dict[str, Any]] = (),
) -> SpaceSnapshot:
    """A ledger space row as the permit records it, with its resolved profile (the
    space's, else the enterprise's ``default_profile``) and the enterprise's override of
    that profile (a ``profile-overrides`` item whose ``base`` it is), applied by the core."""
    data = {k: v for k, v in row.items() if k in _SPACE_FIELDS}
    data.setdefault("space_id", row["id"])
    # A row pulled from the server names the space's own profile as ``ledger_profile``;
    # a row seeded on the tablet may carry a snapshot's ``profile``.
    profile = str(row.get("ledger_profile") or row.get("profile") or default_profile)
    data["profile"] = profile
    for item in sorted(overrides, key=lambda o: str(o["id"])):
        if item.get("base") == profile and isinstance(item.get("override"), dict):
            data["profile_override"] = {**item["override"], "name": str(item["id"])}
            break  # the server keeps one override per base profile
    return SpaceSnapshot.model_validate(data)


def choose_delegation(
    rows: Iterable[dict[str, Any]], person_id: str, space_id: str | None, day: date
) -> dict[str, Any] | None:
    """The written delegation ``person_id`` approves under: one valid on ``day`` that
    covers the space, else the latest one naming them (so the core says why it does not
    hold), else None."""
    mine = [r for r in rows if r.get("delegate") == person_id]
    for row in sorted(mine, key=lambda r: str(r.get("valid_until")), reverse=True):
        if delegation_holds(row, space_id, day):
            return row
    return max(mine, key=lambda r: str(r.get("valid_until")), default=None)


def delegation_holds(row: dict[str, Any], space_id: str | None, day: date) -> bool:
    covers = not row.get("space_ids") or space_id in row["space_ids"]
    return covers and str(row.get("valid_from")) <= day.isoformat() <= str(row.get("valid_until"))


def detector_identity(row: dict[str, Any]) -> DetectorIdentity:
    data = {k: v for k, v in row.items() if k in _DETECTOR_FIELDS}
    data.setdefault("serial", row["id"])
    return DetectorIdentity.model_validate(data)


def training_valid_on(row: dict[str, Any], day: date) -> bool:
    until = row.get("training_valid_until")
    return until is not None and date.fromisoformat(str(until)) >= day


SessionT = TypeVar("SessionT", bound=ChainSession[Any])


def decide_on_copy(
    desk: PermitDesk, base: SessionT, permit_id: str, payload: Payload, *, actor: str, new: bool
) -> tuple[SessionT, Event]:
    """Decide and seal on a copy of ``base``, storing nothing: a refusal (RuleViolation)
    leaves ``base`` untouched. Any permit type's session."""
    trial = dc_replace(base, events=list(base.events))
    event = trial.record(
        payload, desk.context.now(), actor=actor, permit_id=permit_id if new else None
    )
    return trial, event


def record_on_copy(
    desk: PermitDesk, base: SessionT, permit_id: str, payload: Payload, *, actor: str, new: bool
) -> tuple[SessionT, Event]:
    """Decide and seal on a copy of ``base``, commit the event to the store; the caller
    adopts the copy. A refusal (RuleViolation) or a store error leaves both untouched.
    Any permit type's session (tablet_app/hot_work_desk.py records hot work with it)."""
    trial, event = decide_on_copy(desk, base, permit_id, payload, actor=actor, new=new)
    desk.store.append_event(event.to_json())
    return trial, event


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
        """The confined-space permits here (hot-work chains have their own desk,
        tablet_app/hot_work_desk.py)."""
        return self.store.permits_opened_by(CONFINED_SPACE.opening)

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
        trial, event = record_on_copy(self, base, permit_id, payload, actor=actor, new=new)
        self._sessions[permit_id] = trial
        return event

    def decide(self, permit_id: str, payload: Payload, *, actor: str) -> tuple[Any, Event]:
        """Decided and sealed on a copy, nothing stored: the caller stores the event (with
        others, all or none), then hands the copy to :meth:`adopt`."""
        return decide_on_copy(
            self, self.session(permit_id), permit_id, payload, actor=actor, new=False
        )

    def adopt(self, permit_id: str, trial: Any) -> None:
        """A decided copy whose event the caller has stored becomes the permit's session."""
        self._sessions[permit_id] = trial

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

    def space_name(self, space_id: str) -> str:
        row = self.store.reference("spaces", space_id)
        return str(row.get("name") or space_id) if row else space_id

    def detectors(self) -> list[dict[str, Any]]:
        return self.store.references("detectors")

    def person_snapshot(self, row: dict[str, Any], space_id: str | None = None) -> PersonSnapshot:
        """``row`` as a permit on ``space_id`` records it today: with its contractor
        and its written delegation from this tablet's ledger."""
        contractor_id = row.get("contractor_id")
        contractor = (
            self.store.reference("contractors", str(contractor_id)) if contractor_id else None
        )
        day = self.context.now().date()
        delegation = choose_delegation(
            self.store.references("delegations"), str(row["id"]), space_id, day
        )
        if (
            delegation is not None
            and not delegation_holds(delegation, space_id, day)
            and row.get("approval_authority", "none") != "none"
        ):
            # An approver approves on their own authority where the delegation does not
            # hold; only someone with none is recorded as a delegate the core refuses.
            delegation = None
        return person_snapshot(row, contractor=contractor, delegation=delegation)

    def space_snapshot(self, row: dict[str, Any]) -> SpaceSnapshot:
        return space_snapshot(
            row,
            default_profile=self.store.get_setting(DEFAULT_PROFILE_SETTING) or DEFAULT_PROFILE,
            overrides=self.store.references("profiles"),
        )

    # ---- the ledger's age

    def ledger_as_of(self) -> datetime | None:
        """When this tablet last pulled the ledger; None if it never did (seeded locally)."""
        return ledger_pulled_at(self.store)

    def ledger_age(self) -> timedelta | None:
        pulled = self.ledger_as_of()
        return None if pulled is None else self.context.now() - pulled

    @staticmethod
    def ledger_max_age() -> timedelta:
        return timedelta(days=reference_rules().ledger.max_age_days)
