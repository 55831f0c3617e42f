from __future__ import annotations

from typing import Any

from kivy.properties import OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from tablet_app.i18n import _
from tablet_app.presenters.board import BoardPresenter
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv
from tablet_app.theme import Level


class GasTileBox(BoxLayout):
    channel = StringProperty("")
    value = StringProperty("--")
    unit = StringProperty("")
    note = StringProperty("")
    level = OptionProperty(Level.UNKNOWN.value, options=[lv.value for lv in Level])


load_kv("board")


class BoardScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = BoardPresenter(context, desk, feed)

    def tick(self) -> None:
        if self.presenter.context.permit_id is None:
            return
        self.presenter.tick()
        self.refresh()

    def refresh(self) -> None:
        if self.presenter.context.permit_id is None:
            return
        view = self.presenter.view()
        self.ids.title.text = view.title
        self.ids.status.text, self.ids.status.level = view.status, view.status_level.value
        banner = list(view.banner)
        if view.stale:
            banner.insert(0, _("NO LIVE DATA: the detector stream is stale"))
        fill_levels(self.ids.banner, [(text, Level.ALARM) for text in banner])
        # update the tiles in place (one redraw a second must not churn widgets)
        tiles = list(reversed(self.ids.tiles.children))
        if len(tiles) != len(view.tiles):
            self.ids.tiles.clear_widgets()
            tiles = []
            for _tile in view.tiles:
                box = GasTileBox()
                self.ids.tiles.add_widget(box)
                tiles.append(box)
        for box, tile in zip(tiles, view.tiles, strict=True):
            box.channel, box.value, box.unit = tile.channel, tile.value, tile.unit
            box.note, box.level = tile.note, tile.level.value
        self.ids.test_age.text, self.ids.test_age.level = view.test_age, view.test_level.value
        self.ids.expiry.text, self.ids.expiry.level = view.expiry, view.expiry_level.value
        fill_levels(self.ids.warnings, [(w, Level.WARN) for w in view.warnings])
        fill_unmet(self.ids.refusal, view.refusal)
        self.ids.inside.text = view.inside_count
        fill_buttons(
            self.ids.entrants,
            [
                (
                    (
                        _("{name}: INSIDE, tap when out")
                        if row.inside
                        else _("{name}: outside, tap to enter")
                    ).format(name=row.name),
                    lambda pid=row.person_id, inside=row.inside: self.toggle(pid, inside),
                )
                for row in view.entrants
            ],
            height=80,
        )

    def toggle(self, person_id: str, inside: bool) -> None:
        if inside:
            self.presenter.exit(person_id)
        else:
            self.presenter.enter(person_id)
        self.refresh()

    def evacuate(self) -> None:
        self.presenter.evacuate()
        self.refresh()

    def act(self, name: str) -> None:
        if name == "start_monitoring":
            # monitor where the probe was left: the last sample point of the test
            state = self.presenter.state()
            points = state.space.sample_points if state.space else ()
            self.presenter.start_monitoring(points[-1] if points else "")
        elif name == "suspend":
            self.presenter.suspend(_("suspended by the guardian"))
        else:
            getattr(self.presenter, name)()
        self.refresh()
