"""First sign-on: the person's one-time code and the PIN they choose (the presenter
holds the logic, ``presenters.first_signon``)."""

from __future__ import annotations

import asyncio
from typing import Any

from tablet_app import theme
from tablet_app.i18n import _
from tablet_app.presenters.first_signon import CONFIRM, PIN, FirstSignOnPresenter
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_keypad, load_kv
from tablet_app.screens.camera_scan import ScansCodes

load_kv("first_signon")


class FirstSignOnScreen(ScansCodes, BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = FirstSignOnPresenter(context, desk)
        keys = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "←", "0", "→")
        fill_keypad(self.ids.keypad, keys, self.key)
        self._task: Any = None

    def refresh(self) -> None:
        view = self.presenter.view()
        fill_buttons(
            self.ids.people,
            [(name, lambda pid=pid: self.select(pid)) for pid, name in view.people],
            height=theme.PRIMARY_ACTION_DP,
        )
        self.ids.who.text = (
            _("First sign-on for {name}").format(name=view.selected_name)
            if view.selected
            else _("First sign-on: choose your name")
        )
        if self.ids.code.text != view.code and not self.ids.code.focus:
            self.ids.code.text = view.code
        self.ids.pin_dots.text = view.pin_dots
        self.ids.confirm_dots.text = view.confirm_dots
        self.ids.target_pin.state = "down" if view.target == PIN else "normal"
        self.ids.target_confirm.state = "down" if view.target == CONFIRM else "normal"
        self.ids.error.text = view.error
        self.ids.done.text = view.done

    def select(self, person_id: str) -> None:
        self.presenter.select(person_id)
        self.refresh()

    def code_typed(self, text: str) -> None:
        self.presenter.set_code(text)

    def choose(self, target: str) -> None:
        self.presenter.choose(target)
        self.refresh()

    def key(self, key: str) -> None:
        if key == "←":
            self.presenter.backspace()
        elif key == "→":  # the first PIN typed: on to the second
            self.presenter.choose(CONFIRM)
        else:
            self.presenter.press(key)
        self.refresh()

    def no_camera(self, message: str) -> None:
        self.presenter.error = message
        self.refresh()

    def scanned(self, payload: str) -> None:
        """The slip's QR fills the code; typing it stays possible."""
        self.presenter.scanned(payload)
        self.ids.code.text = self.presenter.code
        self.refresh()

    def submit(self) -> Any:
        """Send the code and the PIN's hash (the server answers in a moment); the task
        is returned so a script can await it."""
        self.presenter.set_code(self.ids.code.text)
        self._task = asyncio.ensure_future(self._submit())
        return self._task

    async def _submit(self) -> bool:
        ok = await self.presenter.submit()
        if ok:
            # on to signing in with the new PIN, the person already chosen
            self.app.screens["signin"].presenter.select(self.presenter.selected)
            self.app.go("signin")
        else:
            self.refresh()
        return ok

    def back(self) -> None:
        self.app.go("signin")
