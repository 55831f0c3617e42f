from __future__ import annotations

from typing import Any

from permits.events import IsolationKind, IsolationMethod, Role
from tablet_app.i18n import _
from tablet_app.presenters.setup import SetupPresenter
from tablet_app.presenters.wording import Wording
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv

load_kv("setup")

# The method offered for each kind of point; the domain refuses an unsuitable one.
DEFAULT_METHOD = {
    IsolationKind.ELECTRICAL: IsolationMethod.ELECTRICAL_LOCKOUT,
    IsolationKind.PIPE: IsolationMethod.BLIND_FLANGE,
}


class SetupScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = SetupPresenter(context, desk)
        self.desk = desk

    def refresh(self) -> None:
        if self.presenter.context.permit_id is None:
            return
        view = self.presenter.view()
        state = self.presenter.state()
        self.ids.title.text = view.title
        fill_levels(
            self.ids.roster,
            [
                (
                    f"{r.role}: {r.name}" + (" · " + "; ".join(r.problems) if r.problems else ""),
                    r.level,
                )
                for r in view.roster
            ],
        )
        candidates = self.presenter.candidates(self._role())
        fill_buttons(
            self.ids.people,
            [
                (
                    c.name + (" · " + "; ".join(c.problems) if c.problems else ""),
                    lambda pid=c.person_id: self.assign(pid),
                )
                for c in candidates
            ],
            levels=[c.level for c in candidates],
        )
        fill_levels(
            self.ids.isolations, [(f"{r.description}: {r.text}", r.level) for r in view.isolations]
        )
        actions = []
        templates = state.space.isolation_points if state.space else ()
        for tpl in templates:
            records = state.isolations_at(tpl.point_id)
            if records and not records[-1].verified_by:
                lock = records[-1].lock_id
                actions.append(
                    (
                        _("Verify {point}").format(point=tpl.description),
                        lambda p=tpl.point_id, lk=lock: self.verify(p, lk),
                    )
                )
            elif not records:
                actions.append(
                    (
                        _("Apply lock at {point}").format(point=tpl.description),
                        lambda t=tpl: self.apply(t),
                    )
                )
        fill_buttons(self.ids.isolation_actions, actions)
        self.ids.ventilation.text, self.ids.ventilation.level = (
            view.ventilation,
            view.ventilation_level.value,
        )
        self.ids.equipment.text, self.ids.equipment.level = (
            view.equipment,
            view.equipment_level.value,
        )
        self.ids.guardian.text = view.guardian
        fill_buttons(
            self.ids.handover,
            [
                (
                    _("Hand over to {name}").format(name=p["name"]),
                    lambda pid=p["id"]: self.hand_over(pid),
                )
                for p in self.desk.people()
                if state.guardian and p["id"] != state.guardian
            ]
            if state.guardian
            else [],
        )
        fill_levels(self.ids.lockout, self.presenter.lockout_lines())
        fill_buttons(
            self.ids.personal_actions,
            [
                (
                    _("{name}: personal lock on {box}").format(
                        name=self.desk.person_name(pid), box=box
                    ),
                    lambda pid=pid, box=box: self.personal_lock(pid, box),
                )
                for box in sorted(state.lockboxes)
                for pid in sorted(state.entrants)
                if not any(
                    pl.person_id == pid and pl.lockbox_id == box
                    for pl in state.personal_locks.values()
                )
            ],
        )
        self.ids.approval.text, self.ids.approval.level = view.approval, view.approval_level.value
        fill_buttons(
            self.ids.briefing,
            [
                (
                    _("{name} signs the briefing").format(name=self.desk.person_name(pid)),
                    lambda pid=pid: self.brief(pid),
                )
                for pid in sorted(state.entrants)
                if pid not in state.briefed
            ],
        )
        # the presenter's refusal in the guardian's words (names, not ledger ids)
        last = self.presenter.last
        fill_unmet(
            self.ids.refusal,
            last.lines(Wording(person_name=self.presenter.desk.person_name))
            if last is not None and not last.ok
            else view.refusal,
        )

    def _role(self) -> Role:
        if self.ids.role_guardian.state == "down":
            return Role.GUARDIAN
        if self.ids.role_approver.state == "down":
            return Role.APPROVER
        return Role.ENTRANT

    def assign(self, person_id: str) -> None:
        self.presenter.assign(person_id, self._role())
        self.refresh()

    def apply(self, template: Any) -> None:
        method = DEFAULT_METHOD.get(template.kind, IsolationMethod.MECHANICAL_BLOCK)
        self.presenter.apply_isolation(
            template.point_id,
            method,
            self.ids.lock.text,
            self.ids.tag.text,
            lockbox_id=self.ids.lockbox.text.strip() or None,
        )
        self.refresh()

    def verify(self, point_id: str, lock_id: str) -> None:
        self.presenter.verify_isolation(point_id, lock_id)
        self.refresh()

    def hazard(self) -> None:
        self.presenter.identify_hazard(self.ids.hazard.text.strip())
        self.refresh()

    def confirm_equipment(self) -> None:
        space = self.presenter.state().space
        items = tuple(space.required_ppe + space.rescue_items) if space else ()
        self.presenter.confirm_equipment(items)
        self.refresh()

    def brief(self, entrant_id: str) -> None:
        pad = self.ids.signature
        if self.presenter.sign_briefing(entrant_id, self.ids.pin.text, pad.drawing).ok:
            pad.clear()
        self.ids.pin.text = ""
        self.refresh()

    def hand_over(self, incoming_id: str) -> None:
        self.presenter.hand_over_guardian(incoming_id, self.ids.handover_pin.text)
        self.ids.handover_pin.text = ""
        self.refresh()

    def personal_lock(self, person_id: str, lockbox_id: str) -> None:
        self.presenter.apply_personal_lock(
            person_id, self.ids.personal_pin.text, lockbox_id, self.ids.personal_lock.text
        )
        self.ids.personal_pin.text = ""
        self.refresh()

    def act(self, name: str) -> None:
        getattr(self.presenter, name)()
        self.refresh()
