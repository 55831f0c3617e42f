from __future__ import annotations

from typing import Any

from tablet_app import theme
from tablet_app.i18n import _
from tablet_app.presenters.signin import SignInPresenter
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_keypad, load_kv

load_kv("signin")


class SignInScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = SignInPresenter(context, desk)
        keys = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "←", "0", "✓")
        fill_keypad(self.ids.keypad, keys, self.key)

    def refresh(self) -> None:
        view = self.presenter.view()
        fill_buttons(
            self.ids.people,
            [(name, lambda pid=pid: self.select(pid)) for pid, name in view.people],
            height=theme.PRIMARY_ACTION_DP,
        )
        self.ids.who.text = (
            _("PIN for {name}").format(name=view.selected_name)
            if view.selected
            else _("Enter your PIN")
        )
        self.ids.dots.text = view.pin_dots
        self.ids.error.text = view.error

    def select(self, person_id: str) -> None:
        self.presenter.select(person_id)
        self.refresh()

    def key(self, key: str) -> None:
        if key == "←":
            self.presenter.backspace()
        elif key == "✓":
            self.submit()
            return
        else:
            self.presenter.press(key)
        self.refresh()

    def first_signon(self) -> None:
        """A person with a sign-on slip chooses their PIN (for the name chosen here)."""
        screen = self.app.screens["first_signon"]
        screen.presenter.start(self.presenter.selected)
        self.app.go("first_signon")

    def submit(self) -> None:
        if self.presenter.submit():
            self.app.go("home")
        else:
            self.refresh()
