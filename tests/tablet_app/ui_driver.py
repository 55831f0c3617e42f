"""Drive the real app headless in this process and print one JSON line.

Run by ``test_screens.py`` in a subprocess: Kivy keeps one window per process,
so each UI run gets a fresh interpreter. Usage: ``python ui_driver.py OUT_DIR``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import tempfile
from pathlib import Path

from tablet_app.env import prepare_environment

prepare_environment(headless=True, kivy_home=tempfile.mkdtemp(prefix="cspermit-kivy-"))


def visible_texts(widget):  # type: ignore[no-untyped-def]
    from kivy.uix.label import Label
    from kivy.uix.textinput import TextInput

    out = []
    for w in widget.walk(restrict=True):
        if isinstance(w, Label | TextInput) and w.text and w.opacity > 0:
            out.append({"text": w.text, "font": w.font_name, "cls": type(w).__name__})
    return out


async def script(app, out: Path):  # type: ignore[no-untyped-def]
    report: dict[str, object] = {"font_path": str(app.font_path), "screens": {}}

    async def frame() -> None:
        await asyncio.sleep(0.05)

    async def shot(name: str) -> None:
        await frame()
        screen = app.current_screen
        path = out / f"{name}.png"
        screen.export_to_png(str(path))
        report["screens"][name] = {"png": str(path), "texts": visible_texts(screen)}

    for name in [n for n, _ in __import__("tablet_app.screens.registry").screens.registry.SCREENS]:
        app.go(name)
        await shot(f"zh_{name}")
    app.switch_language("en")
    for name in [n for n, _ in __import__("tablet_app.screens.registry").screens.registry.SCREENS]:
        app.go(name)
        await shot(f"en_{name}")
    app.switch_language("zh_CN")
    return report


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    from tablet_app.app import run_async
    from tablet_app.context import AppContext
    from tablet_app.store import Store

    store = Store(out / "tablet.db")
    context = AppContext(store=store)
    report = asyncio.run(run_async(context, lambda app: script(app, out)))
    store.close()
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
