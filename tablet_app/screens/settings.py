from __future__ import annotations

import asyncio
from typing import Any

from tablet_app.context import AppContext
from tablet_app.i18n import _
from tablet_app.presenters.detectors import DetectorFinder
from tablet_app.presenters.settings import SettingsPresenter
from tablet_app.screens.base import BaseScreen, fill_buttons, load_kv
from tablet_app.screens.camera_scan import ScansCodes

load_kv("settings")


class SettingsScreen(ScansCodes, BaseScreen):
    def __init__(self, context: AppContext, **kwargs: Any) -> None:
        kwargs.pop("desk", None)
        kwargs.pop("feed", None)
        super().__init__(**kwargs)
        self.presenter = SettingsPresenter(context)
        self.finder = DetectorFinder()

    def refresh(self) -> None:
        view = self.presenter.view()
        self.ids.lang_zh.state = "down" if view.language == "zh_CN" else "normal"
        self.ids.lang_en.state = "down" if view.language == "en" else "normal"
        if not self.ids.server.focus:
            self.ids.server.text = view.server_address
        self.ids.device.text = _("Device: {id}").format(id=view.device_id)
        self.ids.pending.text = view.pending
        self.ids.database.text = _("Database: {path}").format(path=view.database)
        self.ids.enrolled.text = view.enrolled
        self.ids.sync_result.text = view.sync_result
        self.ids.ledger_age.text = view.ledger_age
        self.ids.progress.text = view.progress

    def choose_language(self, language: str) -> None:
        self.app.switch_language(language)

    def save_server(self) -> None:
        try:
            self.presenter.set_server_url(self.ids.server.text)
            self.message = ""
        except ValueError as exc:
            self.message = str(exc)
        self.refresh()

    def _show_found(self) -> None:
        self.ids.finder_message.text = self.finder.message
        fill_buttons(
            self.ids.found,
            [(f.label, lambda f=f: self.pick(f)) for f in self.finder.found],
        )

    def list_detectors(self) -> None:
        self.finder.list_wired()
        self._show_found()

    def scan_ble(self) -> None:
        self.ids.finder_message.text = _("Scanning for Bluetooth detectors…")
        task = asyncio.ensure_future(self.finder.scan_ble())
        task.add_done_callback(lambda _t: self._show_found())

    def pick(self, found: Any) -> None:
        """Use a listed detector: fill the fields and connect."""
        self.ids.detector.text = found.spec
        for proto, button in (
            ("gasl", self.ids.proto_gasl),
            ("winsen-uart", self.ids.proto_winsen),
            ("modbus-gt4", self.ids.proto_modbus),
        ):
            button.state = "down" if proto == found.protocol else "normal"
        self.connect_detector()

    def connect_detector(self) -> None:
        protocol = (
            "winsen-uart"
            if self.ids.proto_winsen.state == "down"
            else "modbus-gt4"
            if self.ids.proto_modbus.state == "down"
            else "gasl"
        )
        try:
            self.app.connect_detector(self.ids.detector.text, protocol)
            self.message = ""
        except Exception as exc:  # a driver's own error names the port and reason
            self.message = str(exc)
        self.refresh()

    def _after(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        task.add_done_callback(lambda _t: self.refresh())

    def no_camera(self, message: str) -> None:
        self.message = message

    def scanned(self, payload: str) -> None:
        """A scanned code fills the field (and the server, if the code names one); the
        person still presses "enrol", as with a typed code."""
        from tablet_app.presenters.scanning import parse_enrolment_code

        code = parse_enrolment_code(payload)
        self.ids.code.text = code.code
        if code.server:
            self.ids.server.text = code.server
            self.save_server()

    def enroll(self) -> None:
        self._after(self.presenter.enroll(self.ids.code.text))

    def sync_now(self) -> None:
        self._after(self.presenter.sync_now())
