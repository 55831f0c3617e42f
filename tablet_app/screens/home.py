from __future__ import annotations

from typing import Any

from kivy.metrics import dp

from tablet_app import theme
from tablet_app.i18n import _
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.wording import Wording
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv
from tablet_app.screens.camera_scan import ScansCodes

load_kv("home")

# Until the set-up screen has a field for it, a permit drafted on the tablet
# carries this description; the work leader edits the work on the server.
DEFAULT_WORK = "有限空间作业"


class HomeScreen(ScansCodes, BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = HomePresenter(context, desk)
        self.wording = Wording(person_name=desk.person_name)

    def refresh(self) -> None:
        view = self.presenter.view()
        self.ids.user.text = _("Signed in: {name}").format(name=view.user_name or "-")
        self.ids.sync.text = view.sync
        self.ids.sync.level = view.sync_level.value
        self.ids.ledger_age.text = view.ledger_age
        self.ids.ledger_age.level = view.ledger_age_level.value
        self._show_override(view.override_supervisors)
        fill_buttons(
            self.ids.permits,
            [
                (
                    f"{row.space_name} · {row.status} · " + _("{n} inside").format(n=row.inside),
                    lambda pid=row.permit_id: self.open_permit(pid),
                )
                for row in view.permits
            ]
            + self._hot_work_rows(),
            height=theme.PRIMARY_ACTION_DP,
        )
        fill_buttons(
            self.ids.spaces,
            [(name, lambda sid=sid: self.new_permit(sid)) for sid, name in view.spaces],
            height=theme.PRIMARY_ACTION_DP,
        )
        fill_levels(self.ids.hazards, [(h, "warn") for h in view.hazards])
        last = self.presenter.last
        fill_unmet(self.ids.refusal, last.lines(self.wording) if last and not last.ok else [])

    def open_permit(self, permit_id: str) -> None:
        self.presenter.open_permit(permit_id)
        self.app.go("board")

    def _hot_work_rows(self) -> list[tuple[str, Any]]:
        from tablet_app.hot_work_desk import HotWorkDesk
        from tablet_app.presenters.hot_work_words import open_rows

        hot = HotWorkDesk.of(self.presenter.desk)
        return [
            (text, lambda pid=pid: self.open_hot_work(pid))
            for pid, text in open_rows(hot, self.presenter.context.now())
        ]

    def open_hot_work(self, permit_id: str) -> None:
        self.app.screens["hot_work"].presenter.open(permit_id)
        self.app.go("hot_work")

    def hot_work(self) -> None:
        """A hot-work permit (not inside a confined space; from a board for one that is)."""
        self.app.screens["hot_work_draft"].presenter.start_new()
        self.app.go("hot_work_draft")

    def new_permit(self, space_id: str) -> None:
        if self.presenter.new_permit(space_id, DEFAULT_WORK).ok:
            self.app.go("setup")
        else:
            self.refresh()

    def no_camera(self, message: str) -> None:
        self.ids.scan_message.text = message

    def scanned(self, payload: str) -> None:
        """A code read from the warning sign opens the permit as if it had been typed."""
        self.ids.qr.text = payload
        self.ids.scan_message.text = ""
        self.new_from_qr()

    def new_from_qr(self) -> None:
        if self.presenter.new_permit_from_qr(self.ids.qr.text, DEFAULT_WORK).ok:
            self.app.go("setup")
        else:
            self.refresh()

    def _show_override(self, supervisors: tuple[tuple[str, str], ...]) -> None:
        """The supervisor's override of a stale ledger, shown only after that refusal."""
        box = self.ids.override
        shown = bool(supervisors)
        box.height = dp(theme.PRIMARY_ACTION_DP) if shown else 0
        box.opacity, box.disabled = (1, False) if shown else (0, True)
        self._supervisors = {name: pid for pid, name in supervisors}
        self.ids.supervisor.values = list(self._supervisors)

    def draft_with_override(self) -> None:
        supervisor = self._supervisors.get(self.ids.supervisor.text, "")
        outcome = self.presenter.draft_with_override(
            DEFAULT_WORK, supervisor, self.ids.override_pin.text, self.ids.override_reason.text
        )
        self.ids.override_pin.text = ""
        if outcome.ok:
            self.app.go("setup")
        else:
            self.refresh()

    def sign_out(self) -> None:
        self.presenter.context.user = None
        self.app.go("signin")
