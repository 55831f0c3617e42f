"""The hot-work permit's draft and approval (thin: the presenter decides)."""

from __future__ import annotations

from typing import Any

from permits.hot_work.events import HotWorkLevel
from tablet_app import theme
from tablet_app.hot_work_desk import HotWorkDesk
from tablet_app.presenters.hot_work_draft import HotWorkDraftPresenter
from tablet_app.presenters.hot_work_words import level_text
from tablet_app.screens.base import BaseScreen, fill_buttons, fill_levels, fill_unmet, load_kv
from tablet_app.theme import Level

load_kv("hot_work_draft")


class HotWorkDraftScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = HotWorkDraftPresenter(context, desk, HotWorkDesk.of(desk))

    def refresh(self) -> None:
        view = self.presenter.view()
        self.ids.title.text = view.title
        self.ids.status.text = view.status
        self.ids.level.text, self.ids.level.level = view.level, view.level_level.value
        self.ids.window.text = view.window
        fill_buttons(
            self.ids.starts,
            [(_ticked(t, on), lambda c=c: self.choose_start(c)) for c, t, on in view.starts],
        )
        fill_buttons(
            self.ids.durations,
            [(_ticked(t, on), lambda h=h: self.choose_hours(h)) for h, t, on in view.durations],
        )
        self.ids.approver.text = view.approver
        fill_buttons(
            self.ids.levels,
            [(level_text(lv), lambda lv=lv: self.set_level(lv)) for lv in HotWorkLevel],
        )
        fill_levels(self.ids.points, [(p, Level.UNKNOWN) for p in view.fire_points])
        self.ids.link.text, self.ids.link.level = view.link, view.link_level.value
        fill_buttons(
            self.ids.links, [(text, lambda pid=pid: self.link(pid)) for pid, text in view.links]
        )
        fill_buttons(
            self.ids.people,
            [(p.text, lambda pid=p.person_id: self.toggle(pid)) for p in view.people],
            height=theme.TOUCH_MIN_DP,
            levels=[p.level if p.operator else None for p in view.people],
        )
        fill_buttons(
            self.ids.watchers,
            [
                (_ticked(p.name, p.watcher), lambda pid=p.person_id: self.watcher(pid))
                for p in view.people
                if not p.operator
            ],
        )
        fill_unmet(self.ids.refusal, view.refusal)

    def choose_start(self, choice: str) -> None:
        self.presenter.choose_start(choice)
        self.refresh()

    def choose_hours(self, hours: float) -> None:
        self.presenter.choose_hours(hours)
        self.refresh()

    def set_level(self, level: HotWorkLevel) -> None:
        self.presenter.set_level(level)
        self.refresh()

    def link(self, permit_id: str) -> None:
        self.presenter.link(permit_id)
        self.refresh()

    def toggle(self, person_id: str) -> None:
        self.presenter.toggle_operator(person_id)
        self.refresh()

    def watcher(self, person_id: str) -> None:
        self.presenter.set_watcher(person_id)
        self.refresh()

    def add_point(self, *_args: Any) -> None:
        ids = self.ids
        self.presenter.add_typed_fire_point(ids.location.text, ids.x.text, ids.y.text, ids.z.text)
        self.refresh()

    def draft(self) -> None:
        self.presenter.draft()
        self.refresh()

    def approve(self) -> None:
        self.presenter.approve(str(self.presenter.context.user or ""))
        self.refresh()

    def to_work(self) -> None:
        if self.presenter.permit_id:
            self.app.go("hot_work")


def _ticked(text: str, chosen: bool) -> str:
    return ("✓ " if chosen else "") + text
