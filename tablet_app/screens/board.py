from __future__ import annotations

from typing import Any

import numpy as np
from kivy.graphics import Color, Line, Mesh
from kivy.metrics import dp
from kivy.properties import OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from tablet_app.i18n import _
from tablet_app.presenters.board import SPARK_POINTS, BoardPresenter, Sparkline
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv
from tablet_app.theme import Level


class GasTileBox(BoxLayout):
    channel = StringProperty("")
    value = StringProperty("--")
    unit = StringProperty("")
    note = StringProperty("")
    level = OptionProperty(Level.UNKNOWN.value, options=[lv.value for lv in Level])


class SparklineWidget(Widget):
    """The last 15 minutes of one gas: the readings as a line, each alarm limit as a
    thin line across, each alarm raised as a mark. Drawn with Kivy graphics from the
    presenter's normalised points (numpy scales them; no loop over readings)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spark = Sparkline()
        with self.canvas:
            Color(1, 1, 1, 0.18)
            self._frame = Line(width=1)
            Color(0.1, 0.1, 0.1, 0.85)
            # separate segments: a mesh of lines (a Line would join them)
            self._limits = Mesh(mode="lines")
            Color(1, 1, 1, 1)
            # a ribbon (triangle strip) built with numpy: a wide kivy Line rebuilt every
            # second grew memory by ~3 MB/s here (bench/tablet.py)
            self._values = Mesh(mode="triangle_strip")
            Color(1, 0.95, 0.2, 1)
            self._alarms = Mesh(mode="lines")
        self.bind(pos=self._draw, size=self._draw)

    def show(self, spark: Sparkline) -> None:
        if spark != self.spark:
            self.spark = spark
            self._draw()

    def _draw(self, *_args: Any) -> None:
        x, y, w, h = self.x, self.y, self.width, self.height
        self._frame.rectangle = (x, y, w, h)
        points = np.asarray(self.spark.points, dtype=float).reshape(-1, 2)
        xy = points * (w, h) + (x, y)
        if len(xy):
            # always SPARK_POINTS vertices pairs (the last one repeated): the mesh's
            # buffer keeps its size, so a redraw never reallocates it
            xy = np.vstack((xy, np.repeat(xy[-1:], SPARK_POINTS - len(xy), axis=0)))
        half = dp(1.2)
        ribbon = np.zeros((len(xy) * 2, 4))
        ribbon[0::2, 0], ribbon[0::2, 1] = xy[:, 0], xy[:, 1] - half
        ribbon[1::2, 0], ribbon[1::2, 1] = xy[:, 0], xy[:, 1] + half
        self._values.vertices = ribbon.ravel().tolist()
        self._values.indices = list(range(len(ribbon)))
        segments = [(x, y + ly * h, x + w, y + ly * h) for ly in self.spark.limits]
        _segments(self._limits, segments)
        _segments(self._alarms, [(x + ax * w, y, x + ax * w, y + h) for ax in self.spark.alarms])


def _segments(mesh: Mesh, segments: list[tuple[float, float, float, float]]) -> None:
    vertices: list[float] = []
    for x0, y0, x1, y1 in segments:
        vertices += [x0, y0, 0, 0, x1, y1, 0, 0]
    mesh.vertices = vertices
    mesh.indices = list(range(len(segments) * 2))


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
            box.ids.spark.show(tile.spark)
        self.ids.sound.text = view.sound_text
        self.ids.sound.level = (
            Level.ALARM.value
            if view.sound_text and view.sound.value != "none"
            else Level.UNKNOWN.value
        )
        self.ids.acknowledge.disabled = not view.sound_text
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

    def acknowledge(self) -> None:
        self.presenter.acknowledge()
        app = self.app
        if app is not None and hasattr(app, "play_alarm"):
            app.play_alarm()
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
