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

from tablet_app import theme
from tablet_app.theme import Level

KV_DIR = Path(__file__).parent
_loaded: set[str] = set()


def load_kv(name: str) -> None:
    """Load ``screens/<name>.kv`` once per process (Kivy warns on a second load)."""
    if name not in _loaded:
        Builder.load_file(str(KV_DIR / f"{name}.kv"))
        _loaded.add(name)


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


def fill_levels(box: BoxLayout, rows: Iterable[tuple[str, Level | str]]) -> None:
    box.clear_widgets()
    for text, level in rows:
        box.add_widget(LevelBox(text=text, level=Level(level).value))


def fill_buttons(
    box: BoxLayout,
    items: Sequence[tuple[str, Callable[[], None]]],
    *,
    height: float = theme.TOUCH_MIN_DP,
) -> list[Button]:
    box.clear_widgets()
    buttons = []
    for text, action in items:
        button = Button(text=text, size_hint_y=None, height=dp(height))
        button.bind(on_release=lambda _b, act=action: act())
        box.add_widget(button)
        buttons.append(button)
    return buttons


def fill_unmet(box: BoxLayout, unmet: Iterable[tuple[str, str]]) -> None:
    """Show a refusal: each unmet condition in red, its remedy under it, verbatim."""
    box.clear_widgets()
    for message, remedy in unmet:
        box.add_widget(LevelBox(text=message, level=Level.ALARM.value))
        if remedy:
            box.add_widget(LevelBox(text="→ " + remedy, level=Level.WARN.value))
