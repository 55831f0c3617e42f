"""Every message the simulator shows has a zh_CN translation, and Chinese is what a
user sees by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from hil_sim.errors import ScenarioError
from hil_sim.scenario import load_scenario, parse_scenario
from permits.i18n import set_language

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "hil_sim").rglob("*.py")), ROOT / "cspermit" / "cli" / "sim.py"]
PO = ROOT / "hil_sim" / "locale" / "zh_CN" / "LC_MESSAGES" / "simulator.po"


def test_every_msgid_has_a_chinese_translation() -> None:
    used = set()
    for path in SOURCES:
        used |= set(re.findall(r'_\("((?:[^"\\]|\\.)*)"\)', path.read_text(encoding="utf-8")))
    with PO.open("rb") as f:
        catalog = {m.id: m.string for m in read_po(f) if m.id}
    assert used, "no messages found: the pattern is wrong"
    missing = sorted(m for m in used if not catalog.get(m))
    assert missing == []


def test_scenario_errors_read_in_chinese() -> None:
    raw = load_scenario("molasses-tank").model_dump(mode="json")
    raw["detectors"][2]["transport"] = "usb"
    set_language("zh_CN")
    with pytest.raises(ScenarioError) as err:
        parse_scenario(raw)
    assert "detectors[2].transport: 应为以下之一：pty, socket, ble" in str(err.value)
    assert "场景文件无效" in str(err.value)
