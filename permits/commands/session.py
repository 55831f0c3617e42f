"""A session: one device writing one permit (decide, seal, fold, keep the chain).

:class:`ChainSession` is the same for every permit type; a type's session names its
state and its fold (:class:`PermitSession` for confined space,
:class:`permits.hot_work.HotWorkSession` for hot work).
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, Protocol, TypeVar
from uuid import UUID

from permits.commands.decision import decide
from permits.commands.permit_type import FoldedPermit
from permits.events import DeviceHandover, Event, Payload, SignOff, SignOffMeaning
from permits.integrity import DeviceKey, seal
from permits.state import PermitState, apply

__all__ = ["ChainSession", "PermitSession"]


class _Chained(FoldedPermit, Protocol):
    @property
    def head_hash(self) -> str: ...


StateT = TypeVar("StateT", bound=_Chained)


@dataclass
class ChainSession(Generic[StateT]):
    """One device writing one permit of any type: decide, seal, fold, keep the chain.

    The tablet and the tests use it; the server only replays.
    """

    device_key: DeviceKey
    state: StateT
    events: list[Event] = field(default_factory=list)

    @abstractmethod
    def fold_one(self, state: StateT, event: Event) -> StateT:
        """The permit type's fold of one event."""

    def record(
        self,
        payload: Payload,
        now: datetime,
        *,
        actor: str,
        permit_id: str | None = None,
        event_id: UUID | None = None,
    ) -> Event:
        """Decide, seal and apply; a RuleViolation leaves the session unchanged."""
        event = decide(
            self.state,
            payload,
            now,
            actor=actor,
            device_id=self.device_key.device_id,
            permit_id=permit_id,
            event_id=event_id,
        )
        sealed = seal(event, self.state.head_hash, self.device_key)
        self.state = self.fold_one(self.state, sealed)
        self.events.append(sealed)
        if isinstance(payload, DeviceHandover):
            self.device_key = self._next_key or self.device_key
        return sealed

    _next_key: DeviceKey | None = field(default=None, init=False, repr=False)

    def hand_over(self, new_key: DeviceKey, now: datetime, *, actor: str) -> Event:
        """Move the permit to another device (signed by this one)."""
        self._next_key = new_key
        payload = DeviceHandover(to_device_id=new_key.device_id, to_public_key=new_key.public_b64())
        try:
            return self.record(payload, now, actor=actor)
        finally:
            self._next_key = None

    def signoff(
        self,
        person_id: str,
        meaning: SignOffMeaning,
        now: datetime,
        *,
        pin_verified: bool = True,
        signature_image_sha256: str | None = None,
    ) -> SignOff:
        """A sign-off over the current chain head (what the person sees on screen)."""
        return SignOff(
            person_id=person_id,
            meaning=meaning,
            signed_at=now,
            state_hash=self.state.head_hash,
            pin_verified=pin_verified,
            signature_image_sha256=signature_image_sha256,
        )


@dataclass
class PermitSession(ChainSession[PermitState]):
    """A confined-space permit's session."""

    state: PermitState = field(default_factory=PermitState)

    def fold_one(self, state: PermitState, event: Event) -> PermitState:
        return apply(state, event)
