"""Android entry point (buildozer ``source.main``): the app on the device's private storage."""

from __future__ import annotations

import os
from pathlib import Path

from tablet_app.env import prepare_environment

prepare_environment()

from tablet_app.app import run  # noqa: E402


def main() -> None:
    # ANDROID_PRIVATE is set by python-for-android; elsewhere use the home folder.
    base = Path(os.environ.get("ANDROID_PRIVATE", Path.home() / ".cspermit"))
    run(base / "tablet.db", server_url=os.environ.get("CSPERMIT_SERVER"))


if __name__ == "__main__":
    main()
