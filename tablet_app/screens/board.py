from __future__ import annotations

from typing import Any

import numpy as np
from kivy.graphics import Color, Rectangle
from kivy.graphics.texture import Texture
from kivy.metrics import dp
from kivy.properties import OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.widget import Widget

from tablet_app.i18n import _
from tablet_app.presenters.board import BoardPresenter, Sparkline
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
    line across, each alarm raised as a mark. Drawn by numpy into the pixels of one
    texture the size of the widget, updated in place: Kivy lines or meshes rebuilt
    every second grew memory by ~0.4 MB/s here (llvmpipe; bench/tablet.py)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.spark = Sparkline()
        self._texture: Any = None
        with self.canvas:
            Color(1, 1, 1, 1)
            self._rect = Rectangle()
        self.bind(pos=self._place, size=self._draw)

    def show(self, spark: Sparkline) -> None:
        if spark != self.spark:
            self.spark = spark
            self._draw()

    def _place(self, *_args: Any) -> None:
        self._rect.pos = self.pos

    def _draw(self, *_args: Any) -> None:
        width, height = max(int(self.width), 2), max(int(self.height), 2)
        if self._texture is None or self._texture.size != (width, height):
            self._texture = Texture.create(size=(width, height), colorfmt="rgba")
            self._rect.texture = self._texture
        self._rect.pos, self._rect.size = self.pos, (width, height)
        pixels = sparkline_pixels(self.spark, width, height, line=max(1, int(dp(1.2))))
        self._texture.blit_buffer(pixels.tobytes(), colorfmt="rgba", bufferfmt="ubyte")
        self.canvas.ask_update()


# RGBA of the plot: a dark veil over the tile's colour, white readings, black limits,
# yellow alarm marks
_VEIL = (0, 0, 0, 40)
_LIMIT = (20, 20, 20, 230)
_VALUE = (255, 255, 255, 255)
_ALARM = (255, 240, 50, 255)


def sparkline_pixels(spark: Sparkline, width: int, height: int, *, line: int = 1) -> np.ndarray:
    """The sparkline as a (height, width, 4) RGBA array, rows bottom-up (a texture).
    Each pixel column gets the vertical span between its reading and the next one's,
    so a steep rise stays a connected line; all in array operations."""
    img = np.empty((height, width, 4), dtype=np.uint8)
    img[:] = _VEIL
    rows = np.arange(height)[:, None]
    for ly in spark.limits:
        y = round(ly * (height - 1))
        img[max(0, y - line // 2) : y + line // 2 + 1, :] = _LIMIT
    points = np.asarray(spark.points, dtype=float).reshape(-1, 2)
    if len(points):
        xs = np.arange(width) / max(width - 1, 1)
        inside = (xs >= points[0, 0]) & (xs <= points[-1, 0])
        ys = np.interp(xs, points[:, 0], points[:, 1]) * (height - 1)
        following = np.append(ys[1:], ys[-1])
        low = np.minimum(ys, following) - line / 2
        high = np.maximum(ys, following) + line / 2
        mask = (rows >= np.floor(low)[None, :]) & (rows <= np.ceil(high)[None, :])
        img[mask & inside[None, :]] = _VALUE
    for ax in spark.alarms:
        x = round(ax * (width - 1))
        img[:, max(0, x - line) : x + line + 1] = _ALARM
    return img


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
