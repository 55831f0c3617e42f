"""Every unmet code of the permit rules renders a message and a remedy, and every
user-facing string of the permit modules has a zh_CN translation."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

import permits.hazards
import permits.interlock
import permits.loto
from permits.commands import Code
from permits.errors import Unmet
from permits.hot_work.codes import HotWorkCode
from permits.hot_work.replay import HotWorkFinding
from permits.messages import _MESSAGES

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    "permits/canonical.py",
    "permits/events.py",
    "permits/integrity.py",
    "permits/state.py",
    "permits/loto.py",
    "permits/interlock.py",
    "permits/commands/codes.py",
    "permits/hazards.py",
    "permits/replay.py",
    "cspermit/cli/permit.py",
    "permits/hot_work/codes.py",
    "permits/hot_work/replay.py",
    "permits/simops.py",
    "cspermit/cli/simops.py",
]
LC = ROOT / "permits" / "locale" / "zh_CN" / "LC_MESSAGES"
MODULES = (permits.hazards, permits.interlock, permits.loto)


def _codes() -> list[str]:
    codes: set[str] = {code.value for code in (*Code, *HotWorkCode, *HotWorkFinding)}
    for module in MODULES:
        for name, value in vars(module).items():
            if name.isupper() and isinstance(value, str) and value == name:
                codes.add(value)
    return sorted(codes)


def _msgids() -> list[str]:
    found: list[str] = []
    for path in SOURCES:
        for node in ast.walk(ast.parse((ROOT / path).read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("_", "N_")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.append(node.args[0].value)
    return found


def _catalogue() -> dict[str, str]:
    out: dict[str, str] = {}
    for po in sorted(LC.glob("*.po")):
        with po.open("rb") as f:
            for message in read_po(f):
                if message.id and message.string:
                    out[str(message.id)] = str(message.string)
    return out


@pytest.mark.parametrize("code", _codes())
def test_every_code_has_a_message_and_a_remedy(code: str, english: None) -> None:
    assert code in _MESSAGES, f"{code} is raised but never registered"
    unmet = Unmet(code, {})
    assert unmet.message() and unmet.remedy()


def test_every_string_has_a_zh_cn_translation_with_the_same_placeholders() -> None:
    catalogue = _catalogue()
    placeholder = re.compile(r"\{[^}]*\}")
    missing = [m for m in _msgids() if m not in catalogue]
    assert missing == []
    for msgid in _msgids():
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(catalogue[msgid]))


def test_facts_fill_the_message(english: None) -> None:
    unmet = Unmet("EQUIPMENT_NOT_CONFIRMED", {"item": "SCBA"})
    assert unmet.message() == "the guardian has not confirmed on site: SCBA"
    assert "SCBA" in unmet.remedy()
