"""Close-out (销号): everyone out, every lock off by its owner, the leader signs."""

from __future__ import annotations

from dataclasses import dataclass

from permits.events import (
    Closed,
    ClosingStarted,
    IsolationRemoved,
    PersonalLockRemoved,
    SignOffMeaning,
)
from permits.state import PermitState, Status
from tablet_app.context import AppContext
from tablet_app.desk import PermitDesk
from tablet_app.hot_work_desk import HotWorkDesk
from tablet_app.i18n import _
from tablet_app.presenters.common import Outcome, attempt
from tablet_app.presenters.home import status_text
from tablet_app.presenters.hot_work_simops import SimopsCheck
from tablet_app.presenters.wording import Wording
from tablet_app.theme import Level


@dataclass(frozen=True)
class LockRow:
    lock_id: str
    text: str
    owner: str
    personal: bool


@dataclass(frozen=True)
class CloseoutView:
    title: str
    status: str
    closed: bool
    inside: str
    inside_level: Level
    locks: tuple[LockRow, ...]
    locks_level: Level
    refusal: tuple[tuple[str, str], ...]


class CloseoutPresenter:
    def __init__(self, context: AppContext, desk: PermitDesk) -> None:
        self.context = context
        self.desk = desk
        self.last: Outcome | None = None

    @property
    def permit_id(self) -> str:
        if self.context.permit_id is None:
            raise ValueError(_("No permit is open."))
        return self.context.permit_id

    def state(self) -> PermitState:
        return self.desk.state(self.permit_id)

    def _actor(self) -> str:
        if self.context.user is None:
            raise ValueError(_("Sign in first."))
        return str(self.context.user)

    def view(self) -> CloseoutView:
        state = self.state()
        # the isolation point as the ledger describes it, not its id
        points = {
            p.point_id: p.description or p.point_id
            for p in (state.space.isolation_points if state.space else ())
        }
        locks = [
            LockRow(
                lock_id,
                _("Lock {lock} at {point} ({who})").format(
                    lock=lock_id,
                    point=points.get(rec.point_id, rec.point_id),
                    who=self.desk.person_name(rec.applied_by),
                ),
                rec.applied_by,
                False,
            )
            for lock_id, rec in sorted(state.isolations.items())
        ] + [
            LockRow(
                lock_id,
                _("Personal lock {lock} in box {box} ({who})").format(
                    lock=lock_id, box=pl.lockbox_id, who=self.desk.person_name(pl.person_id)
                ),
                pl.person_id,
                True,
            )
            for lock_id, pl in sorted(state.personal_locks.items())
        ]
        status = state.status_at(self.context.now())
        return CloseoutView(
            title=_("Close-out: {id}").format(id=state.permit_id),
            status=status_text(status),
            closed=status is Status.CLOSED,
            inside=_("{n} inside").format(n=len(state.inside)),
            inside_level=Level.ALARM if state.inside else Level.SAFE,
            locks=tuple(locks),
            locks_level=Level.WARN if locks else Level.SAFE,
            refusal=tuple(self.last.lines(Wording(person_name=self.desk.person_name)))
            if self.last and not self.last.ok
            else (),
        )

    def _simops(self) -> SimopsCheck:
        return SimopsCheck(self.desk, HotWorkDesk.of(self.desk))

    def _do(self, action) -> Outcome:  # type: ignore[no-untyped-def]
        self.last = attempt(action)
        return self.last

    def start_closing(self) -> Outcome:
        return self._do(
            lambda: self.desk.record(self.permit_id, ClosingStarted(), actor=self._actor())
        )

    def remove_lock(self, lock_id: str) -> Outcome:
        """The signed-in person removes a lock; the domain refuses anyone but its owner."""

        def do() -> object:
            actor = self._actor()
            state = self.state()
            if lock_id in state.personal_locks:
                pl = state.personal_locks[lock_id]
                payload: object = PersonalLockRemoved(
                    lockbox_id=pl.lockbox_id, lock_id=lock_id, removed_by=actor
                )
            elif lock_id in state.isolations:
                point = state.isolations[lock_id].point_id
                simops = self._simops()
                unreadable = simops.unreadable()  # whether another permit shares it is unknown
                if unreadable:
                    raise ValueError(unreadable)
                blockers = simops.isolation_blockers(self.permit_id, point)
                if blockers:
                    raise ValueError(
                        _(
                            "This isolation point is shared with open work ({others}): "
                            "it stays isolated until that work is closed."
                        ).format(others="; ".join(blockers))
                    )
                payload = IsolationRemoved(
                    point_id=state.isolations[lock_id].point_id, lock_id=lock_id, removed_by=actor
                )
            else:
                raise ValueError(_("Lock {lock} is not on this permit.").format(lock=lock_id))
            return self.desk.record(self.permit_id, payload, actor=actor)  # type: ignore[arg-type]

        return self._do(do)

    def close(self) -> Outcome:
        def do() -> object:
            actor = self._actor()
            signoff = self.desk.signoff(self.permit_id, actor, SignOffMeaning.CLOSE)
            return self.desk.record(self.permit_id, Closed(signoff=signoff), actor=actor)

        return self._do(do)
