"""Acknowledging a conditional SIMOPS conflict at the tablet, one approver at a time.

A conditional conflict clears only when each permit's approver acknowledges it in its
own chain, naming one coordinator (docs/rules.md, SIMOPS). Two approvers never share
one PIN entry: the flow asks each approver who is not the signed-in person for their
own PIN, in turn, names who is asked, and writes nothing until every PIN is in
(:meth:`SimopsCheck.acknowledge` checks them all before the first event). Kivy-free.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tablet_app.desk import PermitDesk
from tablet_app.i18n import _
from tablet_app.presenters.common import Outcome
from tablet_app.presenters.hot_work_simops import SimopsCheck


@dataclass
class _Pending:
    permit_id: str
    other_id: str
    coordinator_id: str
    asking: list[str]  # approvers whose PIN is still owed, in order
    pins: dict[str, str] = field(default_factory=dict)


class SimopsAckFlow:
    def __init__(self, desk: PermitDesk, simops: SimopsCheck) -> None:
        self.desk = desk
        self.simops = simops
        self.pending: _Pending | None = None

    def begin(self, permit_id: str, other_id: str, coordinator_id: str) -> Outcome | None:
        """Start acknowledging the conflict of ``permit_id`` with ``other_id``; when
        no PIN is owed (the signed-in person approved both) it is done at once."""
        user = self.desk.context.user
        owed = [a for a in self.simops.approvers(permit_id, other_id) if a != user]
        self.pending = _Pending(permit_id, other_id, coordinator_id, owed)
        return self._finish_if_complete()

    def prompt(self) -> str | None:
        """Whose PIN the PIN field takes now (None: no acknowledgement under way)."""
        if self.pending is None or not self.pending.asking:
            return None
        person = self.pending.asking[0]
        if self._approves_hot_work(person):
            text = _("PIN of {name}, approver of the hot work")
        else:
            text = _("PIN of {name}, approver of the confined-space work")
        return text.format(name=self.desk.person_name(person))

    def _approves_hot_work(self, person: str) -> bool:
        assert self.pending is not None
        return any(
            self.simops.approver(pid) == person and self.simops.hot.is_hot_work(pid)
            for pid in (self.pending.permit_id, self.pending.other_id)
        )

    def give_pin(self, pin: str) -> Outcome | None:
        """The asked approver's PIN; the last one writes the acknowledgements."""
        if self.pending is None or not self.pending.asking:
            return None
        if not pin:
            return Outcome(False, error=_("Enter the PIN first."))
        person = self.pending.asking.pop(0)
        self.pending.pins[person] = pin
        return self._finish_if_complete()

    def cancel(self) -> None:
        self.pending = None

    def _finish_if_complete(self) -> Outcome | None:
        p = self.pending
        if p is None or p.asking:
            return None
        self.pending = None
        return self.simops.acknowledge(p.permit_id, p.other_id, p.coordinator_id, p.pins)
