"""Reading QR codes from camera frames: a space's warning-sign code on home, the
one-time enrolment code on settings. Kivy-free.

The screen's camera (Kivy's camera provider: Android's on a tablet) hands over each
frame's RGBA pixels; :func:`decode_frame` reads them with zxing-cpp (a maintained
decoder, wheels for Linux and Android's arm64). What a frame yields is only the
payload text: the home presenter stays the one reader of a space code
(``permits.space_code.parse_space_code``), so a scanned and a typed code go the
same way. Typed entry stays for a tablet whose camera fails.
"""

from __future__ import annotations

import numpy as np
import zxingcpp

# The enrolment QR's one reader, shared with the server that prints it (permits.enrolment_code).
from permits.enrolment_code import EnrolmentCode, parse_enrolment_code

__all__ = ["EnrolmentCode", "FrameScanner", "decode_frame", "parse_enrolment_code"]

# Below this many pixels on the short side a phone camera's frame cannot hold a
# readable code at arm's length; such a frame is skipped rather than decoded.
MIN_SIDE_PX = 64
# segno.make (the server's renderer) picks a Micro QR for a short text such as an
# enrolment code: read both.
FORMATS = zxingcpp.BarcodeFormat.QRCode | zxingcpp.BarcodeFormat.MicroQRCode


def decode_frame(
    pixels: bytes | np.ndarray, width: int, height: int, *, bottom_up: bool = False
) -> str | None:
    """The text of the first QR code in an RGBA (or greyscale) frame, or ``None``.

    ``bottom_up``: rows run bottom to top (an OpenGL texture, Kivy's camera).
    """
    if min(width, height) < MIN_SIDE_PX:
        return None
    frame = np.frombuffer(pixels, dtype=np.uint8) if isinstance(pixels, bytes) else pixels
    channels = frame.size // (width * height)
    if channels not in (1, 3, 4) or frame.size != width * height * channels:
        return None
    image = frame.reshape(height, width, channels) if channels > 1 else frame.reshape(height, width)
    if channels > 1:
        # luminance (ITU-R BT.601) in integers: the decoder wants one channel
        rgb = image[..., :3].astype(np.uint16)
        image = ((rgb[..., 0] * 77 + rgb[..., 1] * 150 + rgb[..., 2] * 29) >> 8).astype(np.uint8)
    if bottom_up:
        image = image[::-1]
    found = zxingcpp.read_barcodes(np.ascontiguousarray(image), formats=FORMATS)
    for code in found:
        if code.valid and code.text:
            return str(code.text)
    return None


class FrameScanner:
    """Decodes camera frames until one holds a code; a frame that holds none (blur,
    glare, half in view) is skipped, never an error on screen."""

    def __init__(self) -> None:
        self.frames = 0
        self.payload: str | None = None

    def feed(
        self, pixels: bytes | np.ndarray, width: int, height: int, *, bottom_up: bool = False
    ) -> str | None:
        self.frames += 1
        payload = decode_frame(pixels, width, height, bottom_up=bottom_up)
        if payload is not None:
            self.payload = payload
        return payload
