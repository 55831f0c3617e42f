"""SIMOPS on the tablet: a hot-work permit checked, offline, against every permit this
tablet knows (docs/rules.md, SIMOPS), at approval and at every fire start.

A *never* conflict refuses: one permit must move or be cancelled. A conditional one
stands until a coordinator (协调人) is named and every permit's approver has
acknowledged it in its own chain (``hot_work_simops_acknowledged`` in a hot-work
chain, ``simops_acknowledged`` in a confined-space one), over the pair's current
footprints; any change to a footprint puts it back. A hot job and the
confined-space permit it is linked to are one job (the core's ``permits.simops.one_job``),
not two operations to coordinate. Kivy-free.
"""

from __future__ import annotations

from typing import Any

from permits.confined_space_footprint import (
    confined_space_acknowledgements,
    confined_space_footprint,
)
from permits.errors import PermitError
from permits.events import SignOffMeaning, SimopsAcknowledged
from permits.hot_work.events import HotWorkSimopsAcknowledged
from permits.hot_work.simops import hot_work_acknowledgements, hot_work_footprint
from permits.messages import N_
from permits.simops import (
    Acknowledgement,
    Conflict,
    Footprint,
    Verdict,
    isolation_removal_blockers,
    pair_digest,
    parse_plan,
    unresolved,
)
from permits.state import Status
from tablet_app.desk import PermitDesk
from tablet_app.hot_work_desk import HotWorkDesk
from tablet_app.i18n import _
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.presenters.hot_work_words import words

TYPE_TEXT = {
    "hot_work": N_("hot work"),
    "confined_space": N_("confined-space work"),
    "blind_plate": N_("blind-plate work"),
    "work_at_height": N_("work at height"),
    "lifting": N_("lifting"),
    "temporary_power": N_("temporary power"),
    "excavation": N_("excavation"),
    "road_closure": N_("road closure"),
    "general": N_("other work"),
}
# The other tablets' and the server's permits, in the planner's format
# (``cspermit simops check``), as the last sync pulled them.
PULLED_SETTING = "simops_permits"


class SimopsCheck:
    def __init__(self, desk: PermitDesk, hot: HotWorkDesk) -> None:
        self.desk = desk
        self.hot = hot

    def footprints(self) -> tuple[dict[str, Footprint], list[Acknowledgement]]:
        now = self.desk.context.now()
        out: dict[str, Footprint] = {}
        acks: list[Acknowledgement] = []
        for pid in self.hot.permit_ids():
            state = self.hot.state(pid)
            out[pid] = hot_work_footprint(state)
            acks.extend(hot_work_acknowledgements(state))
        for pid in self.desk.permit_ids():
            state = self.desk.state(pid)
            if state.space is None or state.status_at(now) in (
                Status.CLOSED,
                Status.CANCELLED,
                Status.EXPIRED,
            ):
                continue
            out[pid] = confined_space_footprint(state, now)
            acks.extend(confined_space_acknowledgements(state))
        for footprint in self._pulled() or ():
            out.setdefault(footprint.permit_id, footprint)  # this tablet's chain wins
        return out, acks

    def _pulled(self) -> tuple[Footprint, ...] | None:
        """The other tablets' permits as pulled from the server; None when they cannot be
        read (then nothing was checked against them: :meth:`unreadable` refuses)."""
        rows = self.desk.store.get_setting(PULLED_SETTING, []) or []
        if not rows:
            return ()
        try:
            return parse_plan({"profile": "cn-gb30871-2022", "permits": rows}).footprints
        except (PermitError, ValueError):
            return None

    def unreadable(self) -> str | None:
        """Fail closed: while the pulled permits cannot be read, a check against them
        (a conflict, a shared isolation point) would be against this tablet's permits
        only; what it would allow is refused with this line, until a sync."""
        if self._pulled() is not None:
            return None
        return _(
            "The other tablets' permits from the last sync cannot be read, so they "
            "were not checked for simultaneous operations: sync again."
        )

    def conflicts(self, permit_id: str) -> list[Conflict]:
        """The unresolved conflicts of ``permit_id`` with the other permits here."""
        footprints, acks = self.footprints()
        if permit_id not in footprints:
            return []
        # A hot job and its linked confined-space permit are one job: the core's
        # footprints carry the link, and its check never pairs them (permits.simops.one_job).
        return [c for c in unresolved(list(footprints.values()), acks) if permit_id in c.permits]

    def other(self, conflict: Conflict, permit_id: str) -> str:
        return conflict.permits[1] if conflict.permits[0] == permit_id else conflict.permits[0]

    def describe(self, conflict: Conflict, permit_id: str) -> str:
        footprints, _acks = self.footprints()
        other = footprints[self.other(conflict, permit_id)]
        what = words(TYPE_TEXT, other.type.value)
        where = (
            _("{m} m away").format(m=f"{conflict.distance_m:.1f}")
            if conflict.distance_m is not None
            else _("in the same space or on shared equipment")
        )
        if conflict.verdict is Verdict.NEVER:
            return _(
                "Never at the same time: {what} {permit}, {where}. "
                "One permit must move or be cancelled."
            ).format(what=what, permit=other.permit_id, where=where)
        return _(
            "Needs coordination: {what} {permit}, {where}. Name a coordinator; "
            "both approvers acknowledge."
        ).format(what=what, permit=other.permit_id, where=where)

    def blocking(self, permit_id: str, *, conditional_too: bool = False) -> list[str]:
        """What refuses now: every *never* conflict, and at the fire start each
        conditional one not yet cleared; and an unreadable pull of the other tablets'
        permits, which checks nothing."""
        found = [
            self.describe(c, permit_id)
            for c in self.conflicts(permit_id)
            if c.verdict is Verdict.NEVER or conditional_too
        ]
        unreadable = self.unreadable()
        return [*found, unreadable] if unreadable else found

    def lines(self, permit_id: str) -> list[tuple[str, Any]]:
        return [(self.describe(c, permit_id), c) for c in self.conflicts(permit_id)]

    def isolation_blockers(self, permit_id: str, point_id: str) -> list[str]:
        """The other open permits this tablet knows that depend on isolation point
        ``point_id``, in words: while any is open the point stays isolated
        (docs/rules.md, SIMOPS: a shared isolation point)."""
        footprints, _acks = self.footprints()
        return [
            _("{what} on {space}").format(
                what=words(TYPE_TEXT, footprints[pid].type.value),
                space=self.desk.space_name(footprints[pid].space_id or "")
                if footprints[pid].space_id
                else _("the site"),
            )
            for pid in isolation_removal_blockers(point_id, permit_id, footprints.values())
        ]

    def approver(self, permit_id: str) -> str | None:
        """Who acknowledges for ``permit_id`` on this tablet: its approver (None when it
        is not approved yet or not on this tablet)."""
        if self.hot.is_hot_work(permit_id):
            return self.hot.state(permit_id).approved_by
        if permit_id in self.desk.permit_ids():
            return self.desk.state(permit_id).approved_by
        return None

    def approvers(self, permit_id: str, other_id: str) -> list[str]:
        """The approvers who must acknowledge the pair on this tablet, in order; the
        screen asks each for their own PIN (one field per approver)."""
        found: list[str] = []
        for pid in (permit_id, other_id):
            person = self.approver(pid)
            if person is not None and person not in found:
                found.append(person)
        return found

    def acknowledge(
        self,
        permit_id: str,
        other_id: str,
        coordinator_id: str,
        pins: dict[str, str] | None = None,
    ) -> Outcome:
        """This permit's approver accepts the conditional conflict with ``other_id``
        naming the coordinator; when ``other_id`` is on this tablet too (hot work or
        confined space), its own approver acknowledges it in its chain as well. Each
        approver who is not the signed-in person gives their PIN (``pins`` by person);
        every PIN is checked before anything is written."""
        pins = pins or {}
        footprints, _acks = self.footprints()
        if coordinator_id == "":
            return Outcome(False, error=_("Name the coordinator first."))
        if permit_id not in footprints or other_id not in footprints:
            return Outcome(False, error=_("That permit is not on this tablet."))
        if self.approver(permit_id) is None:
            return Outcome(False, error=_("The permit must be approved first."))
        digest = pair_digest(footprints[permit_id], footprints[other_id])

        def decided(pid: str, other: str) -> tuple[Any, Any, Any]:
            """(desk, trial, event) of ``pid``'s acknowledgement, decided, not stored."""
            approver = self.approver(pid)
            if approver is None:
                raise ValueError(_("The permit must be approved first."))
            desk: Any = self.hot if self.hot.is_hot_work(pid) else self.desk
            kind = HotWorkSimopsAcknowledged if desk is self.hot else SimopsAcknowledged
            payload = kind(
                other_permit_id=other,
                coordinator_id=coordinator_id,
                digest=digest,
                signoff=desk.signoff(pid, approver, SignOffMeaning.APPROVE),
            )
            trial, event = desk.decide(pid, payload, actor=approver)
            return desk, trial, event

        def acknowledge_all() -> Any:
            for approver in self.approvers(permit_id, other_id):
                if approver != self.desk.context.user:
                    self.desk.check_pin(approver, pins.get(approver, ""))
            # Both chains' events decided first, then stored together (all or none): a
            # refusal of the second leaves no half-acknowledged pair behind.
            pairs = [(permit_id, other_id)]
            if self.approver(other_id) is not None:
                pairs.append((other_id, permit_id))
            done = [(pid, *decided(pid, other)) for pid, other in pairs]
            self.desk.store.append_events([event.to_json() for _p, _d, _t, event in done])
            for pid, desk, trial, _event in done:
                desk.adopt(pid, trial)
            return done[0][3]

        return attempt(acknowledge_all)
