"""Camera QR scanning: the server's own codes, rendered as the server renders them
(segno), as camera frames through the real decoder (zxing-cpp) to the home presenter,
which reads them as it reads a typed code (permits.space_code)."""

from __future__ import annotations

import io

import numpy as np
import segno

from cspermit.demo import molasses_tank as demo
from permits.space_code import space_code
from tablet_app.presenters.home import HomePresenter
from tablet_app.presenters.scanning import FrameScanner, decode_frame, parse_enrolment_code

from .world import World


def camera_frame(payload: str, *, width: int = 640, height: int = 480) -> bytes:
    """An RGBA camera frame, rows bottom-up like a Kivy texture, with the QR code the
    server prints (segno PNG, as on the warning card) on a grey, noisy background."""
    png = io.BytesIO()
    segno.make(payload, error="m").save(png, kind="png", scale=6, border=4)
    from PIL import Image  # segno's PNG, read back as pixels

    code = np.asarray(Image.open(io.BytesIO(png.getvalue())).convert("L"))
    rng = np.random.default_rng(18)
    frame = rng.integers(90, 140, size=(height, width), dtype=np.uint8)
    top, left = (height - code.shape[0]) // 2, (width - code.shape[1]) // 3
    frame[top : top + code.shape[0], left : left + code.shape[1]] = code
    rgba = np.dstack([frame, frame, frame, np.full_like(frame, 255)])
    return np.ascontiguousarray(rgba[::-1]).tobytes()


def test_a_scanned_warning_card_opens_a_permit_for_its_space(tablet: World) -> None:
    tablet.sign_in(demo.LEADER)
    card = space_code(tablet.store.get_setting("enterprise_id"), demo.space().space_id)
    scanner = FrameScanner()
    # frames without the code (the camera pointed away) are skipped, not errors
    blank = np.full((480, 640, 4), 120, dtype=np.uint8).tobytes()
    assert scanner.feed(blank, 640, 480, bottom_up=True) is None
    payload = scanner.feed(camera_frame(card), 640, 480, bottom_up=True)
    assert payload == card and scanner.frames == 2
    home = HomePresenter(tablet.context, tablet.desk)
    outcome = home.new_permit_from_qr(payload, "清理罐底")
    assert outcome.ok, outcome.lines()
    assert tablet.desk.state(outcome.value).space.space_id == demo.space().space_id


def test_another_enterprises_card_is_refused_after_scanning(tablet: World) -> None:
    tablet.sign_in(demo.LEADER)
    payload = decode_frame(
        camera_frame(space_code("ENT-OTHER", demo.space().space_id)), 640, 480, bottom_up=True
    )
    assert payload is not None
    outcome = HomePresenter(tablet.context, tablet.desk).new_permit_from_qr(payload, "x")
    assert not outcome.ok and "another enterprise" in outcome.error


def test_a_frame_too_small_or_of_the_wrong_size_is_skipped() -> None:
    assert decode_frame(b"\x00" * 40 * 40 * 4, 40, 40) is None
    assert decode_frame(b"\x00" * 10, 640, 480) is None


def test_the_enrolment_code_scanned_from_the_admin_page() -> None:
    code = "K7Q2-9XPM-4TRA"
    assert segno.make(code, error="m").is_micro  # what the server's renderer makes of it
    payload = decode_frame(camera_frame(code), 640, 480, bottom_up=True)
    assert parse_enrolment_code(payload or "").code == code
    link = parse_enrolment_code("https://sync.mill.example/enrol?code=K7Q2-9XPM-4TRA")
    assert link.code == code and link.server == "https://sync.mill.example"
