"""The camera seam for QR codes: Kivy's camera provider shows the live picture in a
modal view and each new frame's pixels go to ``presenters.scanning``; the first code
read closes the view and is handed to the screen, which treats it exactly like a
typed one. A tablet with no camera provider says so and keeps the typed field.

Every screen that scans (home: a space's sign; settings: the enrolment code; first
sign-on: the slip) is a :class:`ScansCodes`: the camera opened and a frame read here,
once; the screen says only what a code does and where "no camera" is shown.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.metrics import dp
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.button import Button
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView

from tablet_app import theme
from tablet_app.i18n import _

# Frames decoded a second: enough to feel instant, little CPU next to the judge.
SCAN_HZ = 4.0


def scan_texture(texture: Any, scanner: Any) -> str | None:
    """Decode one frame from a Kivy texture (rows bottom-up, RGBA)."""
    width, height = texture.size
    return scanner.feed(texture.pixels, width, height, bottom_up=True)


class CameraScan:
    """Opens the camera in a modal view and calls ``on_payload`` with the first code."""

    def __init__(self, on_payload: Callable[[str], None]) -> None:
        self.on_payload = on_payload
        self.scanner: Any = None
        self.error = ""
        self._view: ModalView | None = None
        self._camera: Any = None
        self._event: Any = None

    def open(self) -> bool:
        try:
            # the decoder first: a build without zxing-cpp keeps the typed field
            from tablet_app.presenters.scanning import FrameScanner

            self.scanner = FrameScanner()
            from kivy.uix.camera import Camera

            self._camera = Camera(play=True, resolution=(1280, 720), index=0)
        except Exception as exc:  # no camera provider (desktop without one, a fault)
            self.error = _("No camera available ({error}): type the code instead.").format(
                error=type(exc).__name__
            )
            return False
        view = ModalView(size_hint=(0.9, 0.9), auto_dismiss=False)
        box = BoxLayout(orientation="vertical", spacing=dp(theme.SPACING_DP))
        box.add_widget(
            Label(
                text=_("Hold the QR code inside the picture"),
                font_name=theme.FONT_NAME,
                size_hint_y=None,
                height=dp(theme.TOUCH_MIN_DP),
            )
        )
        box.add_widget(self._camera)
        cancel = Button(
            text=_("Cancel"),
            font_name=theme.FONT_NAME,
            size_hint_y=None,
            height=dp(theme.PRIMARY_ACTION_DP),
        )
        cancel.bind(on_release=lambda _b: self.close())
        box.add_widget(cancel)
        view.add_widget(box)
        view.open()
        self._view = view
        self._event = Clock.schedule_interval(self._poll, 1.0 / SCAN_HZ)
        return True

    def _poll(self, _dt: float) -> None:
        texture = getattr(self._camera, "texture", None)
        if texture is None:
            return
        payload = scan_texture(texture, self.scanner)
        if payload is not None:
            self.close()
            self.on_payload(payload)

    def close(self) -> None:
        if self._event is not None:
            self._event.cancel()
            self._event = None
        if self._camera is not None:
            self._camera.play = False
            self._camera = None
        if self._view is not None:
            self._view.dismiss()
            self._view = None


class ScansCodes:
    """A screen that reads QR codes: :meth:`scan_code` opens the camera, :meth:`scan_frame`
    reads one frame (a Kivy texture: the walkthroughs hand frames in the way the camera's
    poll does). The screen gives :meth:`scanned` (what a code does, as if typed) and
    :meth:`no_camera` (where the camera's absence is said; typing stays)."""

    _scan: CameraScan | None = None

    def scan_code(self) -> None:
        self._scan = CameraScan(self.scanned)
        if not self._scan.open():
            self.no_camera(self._scan.error)

    def scan_frame(self, texture: Any) -> str | None:
        # the decoder imported on use: a build without zxing-cpp keeps the typed field
        from tablet_app.presenters.scanning import FrameScanner

        payload = scan_texture(texture, FrameScanner())
        if payload is not None:
            self.scanned(payload)
        return payload

    def scanned(self, payload: str) -> None:
        raise NotImplementedError

    def no_camera(self, message: str) -> None:
        raise NotImplementedError
