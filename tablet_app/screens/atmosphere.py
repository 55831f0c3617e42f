from __future__ import annotations

from typing import Any

from tablet_app.i18n import _
from tablet_app.presenters.atmosphere import AtmospherePresenter
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv

load_kv("atmosphere")


class AtmosphereScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = AtmospherePresenter(context, desk, feed)
        self.desk = desk

    def refresh(self) -> None:
        if self.presenter.context.permit_id is None:
            return
        view = self.presenter.view()
        state = self.presenter.state()
        self.ids.title.text = view.title
        fill_levels(self.ids.live, [(line.text, line.level) for line in view.live])
        fill_buttons(
            self.ids.points,
            [
                (_("Take sample: {status}").format(status=text), lambda p=point: self.sample(p))
                for point, text, _level in view.points
            ],
        )
        self.ids.verdict.text, self.ids.verdict.level = view.verdict, view.verdict_level.value
        fill_unmet(self.ids.reasons, view.reasons)
        self.ids.manual.text = view.manual_flag
        self.ids.manual.opacity = 1 if view.manual_flag else 0
        passing = state.latest_passing_test
        fill_buttons(
            self.ids.confirm,
            [
                (
                    _("{name} has seen the values and signs").format(
                        name=self.desk.person_name(pid)
                    ),
                    lambda pid=pid: self.confirm(pid),
                )
                for pid in sorted(state.entrants)
                if passing is not None and state.readings_confirmed.get(pid) != passing.seq
            ],
        )
        fill_unmet(self.ids.refusal, view.refusal)

    def sample(self, point: str) -> None:
        self.presenter.take_sample(point)
        self.refresh()

    def record(self) -> None:
        self.presenter.record()
        self.refresh()

    def confirm(self, entrant_id: str) -> None:
        self.presenter.confirm_readings(entrant_id, self.ids.pin.text)
        self.ids.pin.text = ""
        self.refresh()
