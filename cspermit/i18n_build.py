"""Compile the gettext catalogues with Babel. Run by the set-up script; safe to run again.

Each package is one gettext domain named after it. Every ``.po`` file under
``<package>/locale/<lang>/LC_MESSAGES/`` (sub-folders included, so each module
can keep its own catalogue file) is merged into ``<package>.mo`` there.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("permits", "sensor_drivers", "tablet_app", "sync_server", "hil_sim", "cspermit")


def build(root: Path = ROOT) -> list[Path]:
    written = []
    for package in PACKAGES:
        for lc_dir in sorted((root / package).glob("locale/*/LC_MESSAGES")):
            merged = Catalog(locale=lc_dir.parent.name, domain=package)
            for po_path in sorted(lc_dir.rglob("*.po")):
                with po_path.open("rb") as f:
                    for message in read_po(f):
                        # Catalog.__setitem__ wants a Message in Babel >= 2.17;
                        # add() builds one and keeps plural forms and context.
                        if message.id and message.string:
                            merged.add(message.id, message.string, context=message.context)
            mo_path = lc_dir / f"{package}.mo"
            with mo_path.open("wb") as f:
                write_mo(f, merged)
            written.append(mo_path)
    return written


if __name__ == "__main__":
    for path in build():
        print(path)
