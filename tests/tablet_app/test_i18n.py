"""Every string the tablet shows has a zh_CN translation, and the app defaults to Chinese."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2] / "tablet_app"
# Every catalogue file of the domain, as cspermit.i18n_build merges them.
CATALOGUES = ROOT / "locale" / "zh_CN" / "LC_MESSAGES"
# _("..."), N_("..."), tr._("...") with adjacent string literals joined.
CALL = re.compile(r'(?<![A-Za-z0-9])(?:tr\._|N_|_)\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)\)')
LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def msgids() -> dict[str, str]:
    found: dict[str, str] = {}
    for path in sorted([*ROOT.rglob("*.py"), *ROOT.rglob("*.kv")]):
        if path.name == "sync_client.py":  # helper E's module, its own catalogue
            continue
        text = path.read_text("utf-8")
        if path.suffix == ".py":
            # docstrings mention _() in prose; only code counts
            text = re.sub(r'"""[\s\S]*?"""', "", text)
        for match in CALL.finditer(text):
            msgid = "".join(LITERAL.findall(match.group(1))).replace('\\"', '"')
            found.setdefault(msgid, str(path.relative_to(ROOT)))
    return found


def test_every_msgid_has_a_chinese_translation() -> None:
    translated: dict[str, str] = {}
    for po in sorted(CATALOGUES.rglob("*.po")):
        with po.open("rb") as f:
            translated.update({m.id: m.string for m in read_po(f) if m.id and m.string})
    ids = msgids()
    assert len(ids) > 100  # the extractor found the screens' strings
    missing = {msgid: where for msgid, where in ids.items() if msgid not in translated}
    assert not missing


def test_placeholders_survive_translation() -> None:
    for po in sorted(CATALOGUES.rglob("*.po")):
        with po.open("rb") as f:
            for m in read_po(f):
                if m.id and m.string:
                    assert set(re.findall(r"\{[^}]*\}", str(m.id))) == set(
                        re.findall(r"\{[^}]*\}", str(m.string))
                    ), m.id
