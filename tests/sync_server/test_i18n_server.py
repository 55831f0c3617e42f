"""Every user-facing string of the server and the sync client has a zh_CN translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]

CATALOGUES = {
    "sync_server/locale/zh_CN/LC_MESSAGES/sync_server.po": sorted(
        (ROOT / "sync_server").rglob("*.py")
    ),
    "tablet_app/locale/zh_CN/LC_MESSAGES/sync_client.po": [ROOT / "tablet_app/sync_client.py"],
}


def test_every_message_has_a_chinese_translation() -> None:
    for po, sources in CATALOGUES.items():
        # Every .po beside it is merged into the same domain (cspermit.i18n_build).
        translated = set()
        for sibling in (ROOT / po).parent.glob("*.po"):
            with sibling.open("rb") as f:
                translated |= {m.id for m in read_po(f) if m.id and m.string}
        used = {
            msg
            for path in sources
            for _, msg, _, _ in extract_from_file("python", str(path), keywords={"_": None})
            if isinstance(msg, str)
        }
        assert not used - translated, f"{po}: untranslated {sorted(used - translated)}"
