from __future__ import annotations

from typing import Any

from tablet_app.i18n import _
from tablet_app.presenters.closeout import CloseoutPresenter
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_unmet, load_kv
from tablet_app.theme import Level

load_kv("closeout")


class CloseoutScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = CloseoutPresenter(context, desk)

    def refresh(self) -> None:
        if self.presenter.context.permit_id is None:
            return
        view = self.presenter.view()
        self.ids.title.text = view.title
        self.ids.status.text = view.status
        self.ids.status.level = (Level.SAFE if view.closed else Level.UNKNOWN).value
        self.ids.inside.text, self.ids.inside.level = view.inside, view.inside_level.value
        fill_buttons(
            self.ids.locks,
            [
                (_("Remove: {lock}").format(lock=row.text), lambda lk=row.lock_id: self.remove(lk))
                for row in view.locks
            ],
        )
        fill_unmet(self.ids.refusal, view.refusal)

    def remove(self, lock_id: str) -> None:
        self.presenter.remove_lock(lock_id)
        self.refresh()

    def act(self, name: str) -> None:
        getattr(self.presenter, name)()
        self.refresh()
