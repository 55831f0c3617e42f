"""Every message the domain core shows a person has a zh_CN translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]


def test_every_core_message_has_a_chinese_translation() -> None:
    translated: set[str] = set()
    for po in (ROOT / "permits" / "locale" / "zh_CN" / "LC_MESSAGES").glob("*.po"):
        with po.open("rb") as f:
            translated |= {m.id for m in read_po(f) if m.id and m.string}
    used = {
        (str(path.relative_to(ROOT)), msg)
        for path in sorted((ROOT / "permits").rglob("*.py"))
        for _, msg, _, _ in extract_from_file("python", str(path), keywords={"_": None, "N_": None})
        if isinstance(msg, str)
    }
    assert len(used) > 100  # the extractor found the core's messages
    assert not {u for u in used if u[1] not in translated}
