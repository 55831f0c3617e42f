from __future__ import annotations

from typing import Any

from kivy.metrics import dp
from kivy.uix.textinput import TextInput

from tablet_app import theme
from tablet_app.i18n import _
from tablet_app.presenters.atmosphere import AtmospherePresenter
from tablet_app.presenters.wording import point_name
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv

load_kv("atmosphere")

# The unit a typed-in value is read in, per channel (what portable displays show).
MANUAL_UNITS = {"O2": "%VOL", "LEL": "%LEL"}


class AtmosphereScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = AtmospherePresenter(context, desk, feed)
        self.desk = desk
        self._manual_inputs: dict[str, TextInput] = {}

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
        fill_levels(self.ids.confirmation, self.presenter.confirmation())
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
        self._fill_manual(state)
        fill_unmet(self.ids.refusal, view.refusal)

    def _fill_manual(self, state: Any) -> None:
        channels = list(state.space.required_channels) if state.space else []
        if list(self._manual_inputs) != channels:
            grid = self.ids.manual_values
            grid.clear_widgets()
            self._manual_inputs = {}
            for ch in channels:
                field = TextInput(
                    hint_text=f"{ch} ({MANUAL_UNITS.get(ch, 'ppm')})",
                    input_filter="float",
                    height=dp(theme.TOUCH_MIN_DP),
                )
                self._manual_inputs[ch] = field
                grid.add_widget(field)
        fill_buttons(
            self.ids.manual_points,
            [
                (
                    _("Use these values for {point}").format(point=point_name(p)),
                    lambda p=p: self.manual(p),
                )
                for p in (state.space.sample_points if state.space else ())
            ],
        )
        user = self.presenter.context.user
        fill_buttons(
            self.ids.countersigners,
            [
                (
                    _("Record manual test, countersigned by {name}").format(
                        name=self.desk.person_name(pid)
                    ),
                    lambda pid=pid: self.record_manual(pid),
                )
                for pid in sorted(state.people)
                if pid != user and self.presenter.manual
            ],
        )

    def manual(self, point: str) -> None:
        values = {}
        for ch, field in self._manual_inputs.items():
            if field.text.strip():
                values[ch] = (float(field.text), MANUAL_UNITS.get(ch, "ppm"))
        self.presenter.enter_manual(point, values)
        self.refresh()

    def record_manual(self, countersigner: str) -> None:
        self.presenter.record(
            countersigner=countersigner, countersigner_pin=self.ids.countersign_pin.text
        )
        self.ids.countersign_pin.text = ""
        self.refresh()

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
