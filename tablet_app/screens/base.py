"""The thin Screen base and the small widgets every screen shares."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from kivy.lang import Builder
from kivy.metrics import dp
from kivy.properties import ObjectProperty, OptionProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.screenmanager import Screen
from kivy.uix.widget import Widget

from tablet_app import theme
from tablet_app.theme import Level

KV_DIR = Path(__file__).parent
_loaded: set[str] = set()


def load_kv(name: str) -> None:
    """Load ``screens/<name>.kv`` once per process (Kivy warns on a second load)."""
    if name not in _loaded:
        Builder.load_file(str(KV_DIR / f"{name}.kv"))
        _loaded.add(name)


class SignaturePad(Widget):
    """A white pad a person signs on with a finger; the strokes go to a Kivy-free
    :class:`~tablet_app.signature.SignatureDrawing` (the presenter stores the PNG)."""

    def __init__(self, **kwargs: Any) -> None:
        from tablet_app.signature import SignatureDrawing

        super().__init__(**kwargs)
        self.drawing = SignatureDrawing()
        self._stroke: Any = None  # the uid of the touch drawing now
        self.bind(pos=self._redraw, size=self._redraw)

    def _local(self, touch: Any) -> tuple[float, float]:
        return (
            (touch.x - self.x) / max(self.width, 1),
            (touch.y - self.y) / max(self.height, 1),
        )

    def on_touch_down(self, touch: Any) -> bool:
        if not self.collide_point(*touch.pos):
            return False
        touch.grab(self)
        self._stroke = touch.uid
        self.drawing.begin(*self._local(touch))
        self._redraw()
        return True

    def on_touch_move(self, touch: Any) -> bool:
        if touch.uid != self._stroke:
            return False
        self.drawing.extend(*self._local(touch))
        self._redraw()
        return True

    def on_touch_up(self, touch: Any) -> bool:
        if touch.uid == self._stroke:
            touch.ungrab(self)
            self._stroke = None
            return True
        return False

    def clear(self) -> None:
        self.drawing.clear()
        self._redraw()

    def _redraw(self, *_args: Any) -> None:
        from kivy.graphics import Color, Line, Rectangle

        self.canvas.clear()
        with self.canvas:
            Color(1, 1, 1, 1)
            Rectangle(pos=self.pos, size=self.size)
            Color(0, 0, 0, 1)
            for stroke in self.drawing.strokes:
                points = [
                    c
                    for x, y in stroke
                    for c in (self.x + x * self.width, self.y + y * self.height)
                ]
                if len(points) >= 4:
                    Line(points=points, width=dp(1.5))


class LevelBox(Label):
    level = OptionProperty(Level.UNKNOWN.value, options=[lv.value for lv in Level])


class BaseScreen(Screen):
    """A screen shows one presenter's view; ``refresh`` re-reads it.

    The presenter returns plain data (strings already translated, levels as
    ``theme.Level``), so a language switch is a refresh.
    """

    presenter = ObjectProperty(None, allownone=True)
    message = StringProperty("")

    def on_pre_enter(self, *args: Any) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Re-read the presenter and redraw the parts built in Python."""

    @property
    def app(self) -> Any:
        from kivy.app import App

        return App.get_running_app()


def _trim(box: BoxLayout, keep: int) -> None:
    for child in list(box.children)[: max(0, len(box.children) - keep)]:
        box.remove_widget(child)


def fill_levels(box: BoxLayout, rows: Iterable[tuple[str, Level | str]]) -> None:
    """Show coloured lines, updating the widgets already there: the board redraws
    every second, and new widgets each time churn textures and memory."""
    existing = list(reversed(box.children))
    n = 0
    for n, (text, level) in enumerate(rows, start=1):
        value = Level(level).value
        if n <= len(existing) and isinstance(existing[n - 1], LevelBox):
            existing[n - 1].text, existing[n - 1].level = text, value
        else:
            _trim(box, n - 1)
            existing = existing[: n - 1]
            box.add_widget(LevelBox(text=text, level=value))
    _trim(box, n)


def fill_buttons(
    box: BoxLayout,
    items: Sequence[tuple[str, Callable[[], None]]],
    *,
    height: float = theme.TOUCH_MIN_DP,
    levels: Sequence[Level | None] = (),
) -> list[Button]:
    """Buttons for actions; with ``levels``, a red (alarm) one shows a blocked choice."""
    existing = list(reversed(box.children))
    buttons: list[Button] = []
    for i, (text, action) in enumerate(items):
        level = levels[i] if i < len(levels) else None
        old = existing[i] if i < len(existing) else None
        if old is not None and getattr(old, "_level", "?") == level and old.height == dp(height):
            # same look: reuse the button, change its text and what it does
            old.text, old._action = text, action
            buttons.append(old)
            continue
        _trim(box, i)
        existing = existing[:i]
        button = Button(text=text, size_hint_y=None, height=dp(height))
        button._level, button._action = level, action
        if level is not None and level is not Level.SAFE:
            button.background_color = theme.LEVEL_COLOURS[level]
            button.color = theme.LEVEL_TEXT_COLOURS[level]
        button.bind(on_release=lambda b: b._action())
        box.add_widget(button)
        existing.append(button)
        buttons.append(button)
    _trim(box, len(buttons))
    return buttons


def fill_keypad(grid: Any, keys: Iterable[str], on_key: Callable[[str], None]) -> None:
    """A PIN keypad: one large button per key, each calling ``on_key`` with its key."""
    for key in keys:
        button = Button(text=key, height=dp(theme.PRIMARY_ACTION_DP), font_size=dp(30))
        button.bind(on_release=lambda _b, k=key: on_key(k))
        grid.add_widget(button)


def fill_unmet(box: BoxLayout, unmet: Iterable[tuple[str, str]]) -> None:
    """Show a refusal: each unmet condition in red, its remedy under it, verbatim."""
    box.clear_widgets()
    for message, remedy in unmet:
        box.add_widget(LevelBox(text=message, level=Level.ALARM.value))
        if remedy:
            box.add_widget(LevelBox(text="→ " + remedy, level=Level.WARN.value))
