"""The hot work at the fire point: analysis, fire, fire watch, close (thin)."""

from __future__ import annotations

from typing import Any

from tablet_app import theme
from tablet_app.hot_work_desk import HotWorkDesk
from tablet_app.i18n import _
from tablet_app.presenters.hot_work import HotWorkPresenter
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv
from tablet_app.theme import Level

load_kv("hot_work")


class HotWorkScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = HotWorkPresenter(context, desk, feed, HotWorkDesk.of(desk))

    def refresh(self) -> None:
        if not self.presenter.context.extras.get("hot_work_permit_id"):
            return
        view = self.presenter.view()
        self.ids.title.text = view.title
        self.ids.status.text, self.ids.status.level = view.status, view.status_level.value
        fill_levels(self.ids.banner, [(b, Level.ALARM) for b in view.banner])
        self.ids.expiry.text = view.expiry
        fill_buttons(
            self.ids.points,
            [(text, lambda p=pid: self.act("analyse", p)) for pid, text, _lv in view.points],
            height=theme.PRIMARY_ACTION_DP,
            levels=[lv for _p, _t, lv in view.points],
        )
        fill_levels(self.ids.live, [(t, Level.UNKNOWN) for t in view.live])
        fill_levels(self.ids.duties, [(t, Level.WARN) for t in view.duties])
        # a conflict: tap to acknowledge it, the signed-in person as coordinator
        fill_buttons(
            self.ids.simops,
            [(t, lambda o=o: self.acknowledge(o)) for o, t in self.presenter.simops_others()],
            height=theme.PRIMARY_ACTION_DP,
            levels=[Level.WARN for _o in view.simops],
        )
        self.ids.watch.text, self.ids.watch.level = view.watch, view.watch_level.value
        self.ids.pin.hint_text = view.pin_prompt
        words = {
            "start_monitoring": _("Start continuous gas monitoring"),
            "start_fire": _("Start the fire (watcher signs)"),
            "interrupt": _("Interrupt"),
            "resume": _("Resume"),
            "done": _("Work done"),
            "start_watch": _("Start the fire watch"),
            "confirm_presence": _("Watcher present"),
            "end_watch": _("No residual fire (watcher signs)"),
            "close": _("Close the hot-work permit"),
            "simops_pin": _("Acknowledge the simultaneous operation (PIN)"),
            "simops_cancel": _("Cancel the acknowledgement"),
        }
        fill_buttons(
            self.ids.actions,
            [(words[a], lambda a=a: self.act(a)) for a in view.actions],
            height=theme.PRIMARY_ACTION_DP,
        )
        fill_unmet(self.ids.refusal, view.refusal)

    def act(self, name: str, point: str | None = None) -> None:
        p = self.presenter
        pin = self.ids.pin.text or None
        if name == "analyse" and point is not None:
            p.analyse(point)
        elif name == "simops_pin":
            p.give_pin(pin or "")
        elif name == "simops_cancel":
            p.cancel_simops_ack()
        elif name in ("start_fire", "start_watch", "confirm_presence", "end_watch"):
            getattr(p, name)(p.watcher(), pin)
        elif name == "start_monitoring":
            p.start_monitoring(p.next_point())
        elif name == "resume":
            p.resume(p.watcher(), pin)
        else:
            getattr(p, name)()
        self.ids.pin.text = ""
        self.refresh()

    def typed(self) -> None:
        """A typed LEL value at the next fire point without a passing analysis."""
        self.presenter.analyse_typed_lel(self.ids.typed_lel.text, self.ids.pin.text)
        self.ids.typed_lel.text = self.ids.pin.text = ""
        self.refresh()

    def acknowledge(self, other_id: str) -> None:
        self.presenter.begin_simops_ack(other_id)
        self.ids.pin.text = ""
        self.refresh()

    def to_board(self) -> None:
        linked = self.presenter.state().linked_permit_id
        if linked:
            self.presenter.context.permit_id = linked
            self.app.go("board")
