"""Find and register the CJK font every widget uses (the default font has no Chinese)."""

from __future__ import annotations

import os
from pathlib import Path

from tablet_app.theme import FONT_NAME

# First hit wins. An Android build bundles its own OFL font under fonts/ (see
# android/buildozer.spec); Debian and most Linux tablets have one of the others.
CANDIDATES = (
    Path(__file__).parent / "fonts" / "NotoSansSC-Regular.ttf",
    Path(__file__).parent / "fonts" / "wqy-microhei.ttc",
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
)


class FontMissing(RuntimeError):
    """No CJK font: the app would draw boxes instead of Chinese, so it refuses to start."""


def find_cjk_font() -> Path:
    override = os.environ.get("CSPERMIT_CJK_FONT")
    candidates = (Path(override),) if override else CANDIDATES
    for path in candidates:
        if path.is_file():
            return path
    raise FontMissing(
        "no CJK font found; install fonts-wqy-microhei or set CSPERMIT_CJK_FONT to a "
        ".ttf/.ttc file (tried: " + ", ".join(str(p) for p in candidates) + ")"
    )


def register_cjk_font() -> Path:
    from kivy.core.text import LabelBase

    path = find_cjk_font()
    LabelBase.register(name=FONT_NAME, fn_regular=str(path))
    return path
