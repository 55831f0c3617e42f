"""The real screens, headless: the molasses-tank walkthrough drives every screen
through the permit on simulated detectors and saves a PNG of each.

Kivy keeps one window per process, so the app runs in a subprocess (the
``cspermit tablet walkthrough`` command itself); this test reads its JSON line,
its screenshots and the visible texts it recorded per screen.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.tablet_app.world import run_app_process

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "tablet_app" / "locale" / "zh_CN" / "LC_MESSAGES" / "tablet.po"


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("walk")
    report, returncode = run_app_process(
        ["-m", "cspermit.cli", "tablet", "walkthrough", "--screenshots", str(out)], out, 240
    )
    report["returncode"] = returncode
    report["texts"] = json.loads((out / "texts.json").read_text("utf-8"))
    return report


def test_every_step_of_the_molasses_permit_ends_as_expected(walk: dict) -> None:
    assert walk["outcomes"] == walk["expected"], walk["notes"]
    assert walk["ok"] is True and walk["returncode"] == 0
    # the words a reader of the log looks for
    assert {"refused", "evacuated", "closed"} <= set(walk["outcomes"].values())
    # the first test failed at the bottom on H2S, as the tank's story says
    assert {(r["code"], r["point"]) for r in walk["notes"]["first_test_reasons"]} == {
        ("TOXIC_HIGH", "bottom")
    }
    assert walk["notes"]["sync"]["rejected"] == [] and walk["notes"]["unacked_after_sync"] == {
        "events": 0,
        "chunks": 0,
    }


def test_the_set_up_flows_on_the_screens(walk: dict) -> None:
    """Signature pad, guardian handover, group lockbox, hazard report with a photo."""
    notes = walk["notes"]
    assert notes["alarm_brought_the_board"] is True  # judged from the home screen
    assert walk["outcomes"]["briefing"] == "signed with PIN and drawing"
    assert notes["briefing_unsigned_refusal"]  # pressing with an empty pad is refused
    assert walk["outcomes"]["guardian_handover"] == "signed by both"
    assert notes["handover_wrong_pin"]
    assert notes["lockbox_refusal_codes"] == ["LOCKBOX_HAS_PERSONAL_LOCKS"]
    assert walk["outcomes"]["hazard_report"] == "reported with photo"
    # the signature and the photo reached the server; the report is sent or kept with
    # the server's answer, never lost
    assert notes["attachments_unacked_after_sync"] == 0
    (report,) = notes["hazard_reports_after_sync"]
    assert report["photos"] and (report["server_id"] or report["last_error"])


def test_a_png_per_screen(walk: dict) -> None:
    names = {Path(p).name.split("-", 1)[1].removesuffix(".png") for p in walk["screenshots"]}
    for screen in (
        "signin",
        "home",
        "setup",
        "atmosphere-failed",
        "board-alarm",
        "closeout-closed",
        "setup-briefing-signed",
        "hazard-report",
    ):
        assert screen in names
    for path in walk["screenshots"]:
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def _english_patterns() -> list[re.Pattern[str]]:
    patterns = []
    with CATALOGUE.open("rb") as f:
        for message in read_po(f):
            if not message.id or message.string == message.id:
                continue
            parts = re.split(r"\{[^}]*\}", str(message.id))
            patterns.append(re.compile(".+".join(re.escape(p) for p in parts)))
    return patterns


def test_no_visible_text_is_an_untranslated_msgid_and_all_use_the_cjk_font(walk: dict) -> None:
    patterns = _english_patterns()
    zh_shots = {k: v for k, v in walk["texts"].items() if not k.endswith("-en.png")}
    assert zh_shots
    for shot, texts in zh_shots.items():
        for item in texts:
            assert item["font"] == "CJK", (shot, item)
            english = [p.pattern for p in patterns if p.fullmatch(item["text"])]
            assert not english, (shot, item["text"], english)
    seen = " ".join(t["text"] for texts in zh_shots.values() for t in texts)
    for chinese in ("立即撤离", "气体检测", "销号", "有毒气体"):
        assert chinese in seen


def test_switching_language_at_runtime_re_renders_the_kv_text(walk: dict) -> None:
    zh = {t["text"] for t in walk["texts"][_shot(walk, "settings")]}
    en = {t["text"] for t in walk["texts"][_shot(walk, "settings-en")]}
    assert "设置" in zh and "Settings" not in zh
    assert "Settings" in en and "Save server address" in en and "设置" not in en


def _shot(walk: dict, name: str) -> str:
    return next(k for k in walk["texts"] if k.split("-", 1)[1] == f"{name}.png")


def test_every_visible_character_has_a_glyph_in_the_font(walk: dict) -> None:
    """No tofu: each character on every screen is in the CJK font the app registered."""
    from reportlab.pdfbase.ttfonts import TTFontFile

    from tablet_app.fonts import find_cjk_font

    path = find_cjk_font()
    font = TTFontFile(str(path), subfontIndex=0) if path.suffix == ".ttc" else TTFontFile(str(path))
    missing = {
        ch
        for texts in walk["texts"].values()
        for item in texts
        for ch in item["text"]
        if not ch.isspace() and ord(ch) not in font.charToGlyph
    }
    assert not missing, sorted(missing)
