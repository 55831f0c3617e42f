from __future__ import annotations

from pathlib import Path
from typing import Any

from tablet_app.i18n import N_, _
from tablet_app.presenters.hazard_report import HazardReportPresenter
from tablet_app.screens.base import BaseScreen, fill_levels, fill_unmet, load_kv

load_kv("hazard")

# The headers of Kivy's FileChooserListLayout (kivy/data/style.kv), as msgids.
FILE_LIST_HEADERS = {"Name": N_("Name"), "Size": N_("Size")}


class HazardScreen(BaseScreen):
    def __init__(self, context: Any, desk: Any, feed: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.presenter = HazardReportPresenter(context, desk)
        # the chooser starts where photos are: CSPERMIT_PHOTOS, ~/Pictures, or home
        import os

        start = Path(os.environ.get("CSPERMIT_PHOTOS", Path.home() / "Pictures"))
        if not start.is_dir():
            start = Path.home()
        self.ids.chooser.path = str(start)
        # Kivy's file list draws its rows and header with its own font: give them the
        # CJK one (file names are often Chinese).
        self.ids.chooser.bind(on_entry_added=lambda _c, node, _p=None: self._cjk(node))
        self.ids.chooser.bind(on_subentry_to_entry=lambda _c, node, _p=None: self._cjk(node))

    def _cjk(self, widget: Any) -> None:
        from kivy.uix.label import Label

        from tablet_app import theme

        for w in widget.walk(restrict=True):
            if isinstance(w, Label):
                w.font_name = theme.FONT_NAME
                # Kivy's own list header says "Name" / "Size" in English: translate it
                msgid = getattr(w, "cspermit_msgid", None) or FILE_LIST_HEADERS.get(w.text)
                if msgid is not None:
                    w.cspermit_msgid = msgid
                    w.text = _(msgid)

    def refresh(self) -> None:
        self._cjk(self.ids.chooser)
        view = self.presenter.view()
        self.ids.title.text = view.title
        self.ids.photo.text, self.ids.photo.level = view.photo, view.photo_level.value
        self.ids.done.text = view.done
        self.ids.done.opacity = 1 if view.done else 0
        fill_levels(self.ids.reports, view.reports)
        fill_unmet(self.ids.refusal, view.refusal)

    def choose(self, selection: list[str]) -> None:
        if selection:
            self.presenter.choose_photo(selection[0])
        self.refresh()

    def send(self) -> None:
        if self.presenter.report(self.ids.hazard_title.text, self.ids.description.text).ok:
            self.ids.hazard_title.text = ""
            self.ids.description.text = ""
        self.refresh()
