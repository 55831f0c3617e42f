"""Every hot-work and SIMOPS reason code renders a message and a remedy, and every
user-facing string of those modules has a zh_CN translation with the same placeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from permits.errors import Unmet
from permits.hot_work import HotWorkCode, HotWorkFinding

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [
    "permits/simops.py",
    "permits/hot_work/rules.py",
    "permits/hot_work/replay.py",
    "cspermit/cli/simops.py",
]
PO = ROOT / "permits" / "locale" / "zh_CN" / "LC_MESSAGES" / "hot_work.po"


def _msgids() -> list[str]:
    found = []
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


@pytest.mark.parametrize("code", [*HotWorkCode, *HotWorkFinding])
def test_every_code_renders_a_message_and_a_remedy(code: str, english: None) -> None:
    unmet = Unmet(code, {})
    assert unmet.message() and unmet.remedy()


def test_every_string_has_a_zh_cn_translation_with_the_same_placeholders() -> None:
    with PO.open("rb") as f:
        catalogue = {str(m.id): str(m.string) for m in read_po(f) if m.id and m.string}
    placeholders = re.compile(r"\{[a-z_]+\}")
    missing = [m for m in _msgids() if m not in catalogue]
    assert not missing, missing
    for msgid in _msgids():
        assert sorted(placeholders.findall(msgid)) == sorted(
            placeholders.findall(catalogue[msgid])
        ), msgid
