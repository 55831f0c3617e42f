"""The tablet's side of a hot-work chain (动火安全作业票, docs/rules.md, Hot work).

Like :class:`~tablet_app.desk.PermitDesk` for confined space: every action goes
through the core's :class:`~permits.hot_work.HotWorkSession` (the rules the server
replays), and the sealed event is committed to the same local store before the
in-memory session moves on. The device key, the ledger and the store are the
confined-space desk's.
"""

from __future__ import annotations

from typing import Any

from permits.events import Event, Payload, SignOff, SignOffMeaning, parse_event
from permits.hot_work.events import HotWorkAuthority
from permits.hot_work.replay import HotWorkSession
from permits.hot_work.rules import HOT_WORK
from permits.hot_work.state import HOT_WORK_TERMINAL, HotWorkState, fold_hot_work
from tablet_app.desk import PermitDesk, decide_on_copy, record_on_copy

# Who approves which level (GB 30871-2022 B.1): it follows the person's confined-space
# approval authority in the ledger; any other value means the person may not approve.
_AUTHORITY_BY_APPROVAL = {
    "principal": HotWorkAuthority.PRODUCTION_SAFETY_LEAD,
    "approver": HotWorkAuthority.SAFETY_DEPARTMENT,
    "delegate": HotWorkAuthority.SAFETY_DEPARTMENT,
}


def hot_work_authority(row: dict[str, Any] | None) -> HotWorkAuthority | None:
    """The hot-work approval authority of a ledger person, or None (may not approve)."""
    if row is None:
        return None
    # From the ledger's approval authority (the core's Person model has no other field
    # for it, so a synced row carries nothing else); unknown: may not approve.
    return _AUTHORITY_BY_APPROVAL.get(str(row.get("approval_authority", "none")))


class HotWorkDesk:
    def __init__(self, desk: PermitDesk) -> None:
        self.desk = desk
        self.store = desk.store
        self.context = desk.context
        self._sessions: dict[str, HotWorkSession] = {}

    @classmethod
    def of(cls, desk: PermitDesk) -> HotWorkDesk:
        """The app's one hot-work desk (kept with the context, built on first use)."""
        hot = desk.context.extras.get("hot_work_desk")
        if not isinstance(hot, cls) or hot.desk is not desk:
            hot = cls(desk)
            desk.context.extras["hot_work_desk"] = hot
        return hot

    # ---- reading

    def is_hot_work(self, permit_id: str) -> bool:
        if permit_id in self._sessions:
            return True
        return permit_id in self.store.permits_opened_by(HOT_WORK.opening)

    def permit_ids(self, *, open_only: bool = True) -> list[str]:
        out = []
        for permit_id in self.store.permits_opened_by(HOT_WORK.opening):
            if open_only and self.state(permit_id).status in HOT_WORK_TERMINAL:
                continue
            out.append(permit_id)
        return out

    def session(self, permit_id: str) -> HotWorkSession:
        if permit_id not in self._sessions:
            events = [parse_event(e) for e in self.store.events_for_permit(permit_id)]
            self._sessions[permit_id] = HotWorkSession(
                self.desk.key, state=fold_hot_work(events), events=list(events)
            )
        session = self._sessions[permit_id]
        session.device_key = self.desk.key  # enrolment may have renamed the device
        return session

    def state(self, permit_id: str) -> HotWorkState:
        return self.session(permit_id).state

    def linked_to(self, confined_permit_id: str) -> list[str]:
        """The open hot-work permits linked to a confined-space permit."""
        return [
            pid
            for pid in self.permit_ids()
            if self.state(pid).linked_permit_id == confined_permit_id
        ]

    # ---- writing

    def record(self, permit_id: str, payload: Payload, *, actor: str, new: bool = False) -> Event:
        """Decide and seal on a copy, commit to the store, then adopt the copy; a
        refusal (RuleViolation) or a store error leaves both untouched."""
        base = HotWorkSession(self.desk.key) if new else self.session(permit_id)
        trial, event = record_on_copy(self.desk, base, permit_id, payload, actor=actor, new=new)
        self._sessions[permit_id] = trial
        return event

    def decide(self, permit_id: str, payload: Payload, *, actor: str) -> tuple[Any, Event]:
        """Decided and sealed on a copy, nothing stored (:meth:`adopt` after storing)."""
        return decide_on_copy(
            self.desk, self.session(permit_id), permit_id, payload, actor=actor, new=False
        )

    def adopt(self, permit_id: str, trial: Any) -> None:
        self._sessions[permit_id] = trial

    def signoff(self, permit_id: str, person_id: str, meaning: SignOffMeaning) -> SignOff:
        """A sign-off over the chain head the person sees (PIN checked before)."""
        return self.session(permit_id).signoff(person_id, meaning, self.context.now())
