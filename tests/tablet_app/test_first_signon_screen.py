"""The real first sign-on screen, headless: ``tests.tablet_app.first_signon_walk`` drives
it in a subprocess (Kivy keeps one window per process) against the real server app, and
a second tablet signs in with the PIN after its sync; this test reads its JSON line,
screenshots and the texts it recorded per screen."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.tablet_app.test_screens import ALLOWED_LATIN, RAW_CODES, _english_patterns
from tests.tablet_app.world import run_app_process


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("first_signon_walk")
    report, returncode = run_app_process(
        ["-m", "tests.tablet_app.first_signon_walk", str(out)], out, 240
    )
    report["returncode"] = returncode
    report["texts"] = json.loads((out / "texts.json").read_text("utf-8"))
    return report


def test_first_sign_on_sets_the_pin_and_the_second_tablet_accepts_it(walk: dict) -> None:
    assert walk["outcomes"] == walk["expected"], walk["notes"]
    assert walk["ok"] is True and walk["returncode"] == 0
    notes = walk["notes"]
    assert notes["screen_after_button"] == "first_signon"  # reached from the sign-in screen
    assert "无效" in notes["wrong_code_error"] and "李强" in notes["wrong_code_error"]
    assert notes["first_signon_error"] == ""
    # the code came from the slip's QR through the camera's decoder, not typed
    assert notes["slip_scanned"] and notes["code_field_after_scan"] == notes["slip_scanned"]
    # back on the sign-in screen with the person chosen, then in with the new PIN
    assert notes["screen_after_pin_set"] == "signin"
    assert notes["selected_after_pin_set"] == "a-p-li"
    assert notes["screen_after_sign_in"] == "home"


def test_the_screens_say_it_in_chinese(walk: dict) -> None:
    names = {Path(p).name.split("-", 1)[1].removesuffix(".png") for p in walk["screenshots"]}
    assert {"signin", "first-signon-filled", "first-signon-wrong-code"} <= names
    for path in walk["screenshots"]:
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    patterns = _english_patterns()
    latin = re.compile(ALLOWED_LATIN)
    raw = [re.compile(p) for p in RAW_CODES]
    for shot, texts in walk["texts"].items():
        for item in texts:
            text = item["text"]
            assert item["font"] == "CJK", (shot, item)
            assert not [p.pattern for p in patterns if p.fullmatch(text)], (shot, text)
            assert not [p.pattern for p in raw if p.search(text)], (shot, text)
            # Latin left: the demo's role notes in the names, the typed code, key labels
            rest = latin.sub("", re.sub(r"\((entrant|approver|guardian|principal)\)", "", text))
            rest = re.sub(r"[A-Z2-9]{5}-[A-Z2-9]{5}", "", rest)
            assert not re.findall(r"[A-Za-z]{2,}", rest), (shot, text)
    seen = " ".join(t["text"] for texts in walk["texts"].values() for t in texts)
    for chinese in (
        "首次登录 / 重设 PIN 码",
        "李强 (entrant) 首次登录",
        "设定我的 PIN 码",
        "再输一遍",
    ):
        assert chinese in seen, chinese
