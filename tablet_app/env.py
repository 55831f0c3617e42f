"""Kivy reads its settings from the environment when first imported: set them first."""

from __future__ import annotations

import os


def prepare_environment(*, headless: bool = False, kivy_home: str | None = None) -> None:
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our CLI owns the arguments
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_CLIPBOARD", "dummy")  # no xclip/xsel on a tablet or CI
    if kivy_home:
        os.environ.setdefault("KIVY_HOME", kivy_home)
    if headless:
        os.environ["SDL_VIDEODRIVER"] = "offscreen"
        os.environ.setdefault("KIVY_LOG_LEVEL", "warning")
