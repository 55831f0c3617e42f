"""Settings shared by every test: a quiet, headless, English-or-Chinese-neutral run."""

from __future__ import annotations

import os
import tempfile

# Kivy reads these at import time; set them before any test module imports it.
os.environ.setdefault("KIVY_NO_ARGS", "1")
os.environ.setdefault("KIVY_NO_FILELOG", "1")
os.environ.setdefault("KIVY_NO_CONSOLELOG", "1")
os.environ.setdefault("KIVY_HOME", tempfile.mkdtemp(prefix="cspermit-kivy-"))
os.environ.setdefault("SDL_VIDEODRIVER", "offscreen")
# Offline verification reads the user's trusted server keys; no test may see the real
# ones (a key trusted on a developer's machine would anchor chains it should not).
os.environ["CSPERMIT_TRUST_STORE"] = os.path.join(
    tempfile.mkdtemp(prefix="cspermit-trust-"), "trusted-servers.json"
)


def pytest_addoption(parser):  # type: ignore[no-untyped-def]
    parser.addoption(
        "--hil-port",
        action="store",
        default=None,
        help="serial port or URL of a real detector for tests marked 'hardware'",
    )


def pytest_collection_modifyitems(config, items):  # type: ignore[no-untyped-def]
    import pytest

    if config.getoption("-m") and "hardware" in config.getoption("-m"):
        return
    skip = pytest.mark.skip(
        reason="needs real detector hardware: run with -m hardware --hil-port=PORT"
    )
    for item in items:
        if "hardware" in item.keywords:
            item.add_marker(skip)
