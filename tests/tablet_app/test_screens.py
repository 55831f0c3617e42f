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
CATALOGUES = ROOT / "tablet_app" / "locale" / "zh_CN" / "LC_MESSAGES"


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("walk")
    report, returncode = run_app_process(
        ["-m", "cspermit.cli", "tablet", "walkthrough", "--screenshots", str(out)], out, 240
    )
    report["returncode"] = returncode
    report["texts"] = json.loads((out / "texts.json").read_text("utf-8"))
    report["out"] = out
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
    for po in sorted(CATALOGUES.rglob("*.po")):
        with po.open("rb") as f:
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


def test_the_alarm_is_heard_in_the_recorded_audio(walk: dict) -> None:
    """SDL's disk audio driver recorded what the app played (s16le, 44.1 kHz stereo):
    nothing before the H2S burst; the trend warning, then from the alarm on the
    evacuation siren's two tones (1000 / 1500 Hz), loud, played once (not doubled). The
    guardian's acknowledgement mutes it for 30 s, no longer."""
    import numpy as np

    audio = walk["notes"]["alarm_audio"]
    assert audio["file"] and audio["sounding"] == "evacuate"
    assert audio["played_before"] == []  # SDL opens the sound card at the first sound
    assert audio["played"][-1] == "evacuate" and audio["played"].count("evacuate") == 1
    samples = np.fromfile(walk["out"] / audio["file"], dtype="<i2")
    before = samples[: audio["from_byte"] // 2]
    assert before.size == 0 or np.abs(before).max() < 1_000
    siren = samples[audio["alarm_byte"] // 2 : audio["to_byte"] // 2]
    assert siren.size >= 44_100 * 2  # at least a second of it
    assert np.abs(siren).max() > 10_000
    # one siren, not two on top of each other: two would clip
    assert (np.abs(siren.astype(np.int32)) >= 32_767).mean() < 0.001
    left = siren[0::2].astype(float)[-44_100:]  # its last second
    spectrum = np.abs(np.fft.rfft(left))
    freqs = np.fft.rfftfreq(left.size, 1 / 44_100)

    def energy(hz: float) -> float:
        return float(spectrum[(freqs > hz - 20) & (freqs < hz + 20)].sum())

    assert energy(1000) > 20 * energy(700) and energy(1500) > 20 * energy(700)
    assert energy(1000) > 5 * energy(880)  # the siren, not the warning's beeps
    assert walk["notes"]["alarm_acknowledged"] == {"sounding": "none", "muted_for_s": 30}


GAS = r"(?<![A-Za-z])(O2|LEL|H2S|CO)(?![A-Za-z0-9])"
VALUE = r"(-?\d+(?:\.\d+)?)\s*(%VOL|%LEL|ppm|mg/m3)"
# Raw codes a guardian must never read: reason codes, alarm ids, ledger ids of people
# and isolation points.
RAW_CODES = (
    r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b",
    r"\b[A-Z0-9]+_[A-Z0-9_]+-[A-Za-z0-9]+-\d{6}\b",  # an alarm id (a permit number is fine)
    r"\bP-[A-Z]{2,}\b",
    r"\bIP-[A-Z]+\b",
)
# Latin words allowed on a Chinese screen: gas and unit symbols, the protocol names
# and examples of the detector field, the language button, file and server names.
ALLOWED_LATIN = r"(%VOL|%LEL|ppm|mg/m3|PIN|MCC|DN\d+|KB|English|gasl|winsen-uart|modbus-gt4"
ALLOWED_LATIN += r"|/dev/ttyUSB0|socket://…|ble:…|https?://\S+|\S+\.png|\S*/\S*|[0-9a-f-]{36})"


def _zh_texts(walk: dict) -> dict[str, list[str]]:
    return {
        shot: [t["text"] for t in texts]
        for shot, texts in walk["texts"].items()
        if not shot.endswith("-en.png")
    }


def test_one_unit_per_gas_and_no_number_past_its_resolution(walk: dict) -> None:
    from tablet_app.presenters.wording import decimals, resolution

    for shot, texts in _zh_texts(walk).items():
        units: dict[str, set[str]] = {}
        for text in texts:
            for segment in re.split(r"[，,;；|]", text):
                gases = set(re.findall(GAS, segment))
                for number, unit in re.findall(VALUE, segment):
                    shown = len(number.split(".")[1]) if "." in number else 0
                    if len(gases) == 1:
                        (gas,) = gases
                        units.setdefault(gas, set()).add(unit)
                        assert shown <= decimals(resolution(gas, unit)), (shot, segment)
                    else:  # a tile's value: the finest resolution of any gas in that unit
                        finest = max(
                            decimals(resolution(g, unit)) for g in ("O2", "LEL", "H2S", "CO")
                        )
                        assert shown <= finest, (shot, segment)
        for gas, seen in units.items():
            assert len(seen) == 1, (shot, gas, seen)
    # the H2S alarm line, the tile and the refusal agree on ppm
    alarm = _zh_texts(walk)[_shot(walk, "board-alarm")]
    assert any("H2S" in t and "ppm" in t and "限值" in t for t in alarm)
    assert not any("mg/m3" in t for t in alarm)


def test_no_raw_codes_and_no_english_on_the_chinese_screens(walk: dict) -> None:
    for shot, texts in _zh_texts(walk).items():
        for text in texts:
            for pattern in RAW_CODES:
                assert not re.search(pattern, text), (shot, text, pattern)
            rest = re.sub(ALLOWED_LATIN, " ", text)
            rest = re.sub(r"[A-Z0-9]+(?:-[A-Z0-9]+)+", " ", rest)  # permit, lock, box numbers
            rest = re.sub(GAS, " ", rest)
            assert not re.search(r"[A-Za-z]{2,}", rest), (shot, text)
    texts = _zh_texts(walk)
    atmo = texts[_shot(walk, "atmosphere-failed")]
    assert any("下部" in t for t in atmo) and not any(
        re.search(r"\b(top|middle|bottom)\b", t) for t in atmo
    )
    hazard = texts[_shot(walk, "hazard-report")]
    assert "名称" in hazard and "大小" in hazard and "Name" not in hazard
    settings = texts[_shot(walk, "settings")]
    assert any("已在服务器 http" in t for t in settings)
    # the scanned card opened the permit (the camera's decode path, not typing)
    assert walk["notes"]["qr_scanned"].startswith("cspermit://space/")
