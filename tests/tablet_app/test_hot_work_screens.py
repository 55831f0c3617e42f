"""The real hot-work screens, headless: ``cspermit.demo.hot_work_walk`` drives them
through a permit in a subprocess (Kivy keeps one window per process); this test reads
its JSON line, its screenshots and the texts it recorded per screen."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.tablet_app.test_screens import ALLOWED_LATIN, RAW_CODES, _english_patterns
from tests.tablet_app.world import run_app_process


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("hot_work_walk")
    report, returncode = run_app_process(["-m", "cspermit.demo.hot_work_walk", str(out)], out, 240)
    report["returncode"] = returncode
    report["texts"] = json.loads((out / "texts.json").read_text("utf-8"))
    return report


def test_every_step_of_the_hot_work_permit_ends_as_expected(walk: dict) -> None:
    assert walk["outcomes"] == walk["expected"], walk["notes"]
    assert walk["ok"] is True and walk["returncode"] == 0
    # the release suspended the job at once and brought its screen
    assert walk["notes"]["screen_after_release"] == "hot_work"
    assert walk["notes"]["typed_analysis"] is True  # typed in, countersigned on the screen
    assert walk["notes"]["watch_refusal_codes"] == ["HOT_WORK_FIRE_WATCH_TOO_SHORT"]


def test_a_png_per_step(walk: dict) -> None:
    names = {Path(p).name.split("-", 1)[1].removesuffix(".png") for p in walk["screenshots"]}
    assert {
        "hot-work-draft-refused",
        "hot-work-draft-approved",
        "hot-work-burning",
        "hot-work-suspended",
        "hot-work-fire-watch-refused",
        "hot-work-closed",
        "home-hot-work-open",
    } <= names
    home = next(v for k, v in walk["texts"].items() if k.endswith("home-hot-work-open.png"))
    assert any(t["text"].startswith("动火作业 HW-") for t in home)
    for path in walk["screenshots"]:
        data = Path(path).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000


def test_the_screens_say_it_in_chinese_with_names_and_no_codes(walk: dict) -> None:
    patterns = _english_patterns()
    latin = re.compile(ALLOWED_LATIN)
    raw = [re.compile(p) for p in RAW_CODES]
    for shot, texts in walk["texts"].items():
        for item in texts:
            text = item["text"]
            assert item["font"] == "CJK", (shot, item)
            assert not [p.pattern for p in patterns if p.fullmatch(text)], (shot, text)
            assert not [p.pattern for p in raw if p.search(text)], (shot, text)
            # Latin words left: gas and unit symbols, coordinates, the permit number
            rest = latin.sub("", re.sub(r"HW-\d{8}-[0-9A-F]{16}", "", text))
            words = re.findall(r"[A-Za-z]{2,}", rest)
            assert set(words) <= {"LEL"}, (shot, text)
    seen = " ".join(t["text"] for texts in walk["texts"].values() for t in texts)
    for chinese in (
        "孙涛",
        "没有有效的焊接与热切割作业证",
        "因休息日由二级动火升级",
        "动火作业已暂停",
        "不能缩短",
        "监火已进行 15 分钟，要求 30 分钟",
    ):
        assert chinese in seen, chinese
