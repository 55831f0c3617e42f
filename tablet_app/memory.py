"""Give memory the app has freed back to the system (glibc's ``malloc_trim``).

CPython and the libraries under it free their buffers to glibc's heap, which keeps
them: a redraw a second and the Argon2id work area of each PIN check (~19 MiB) left
the app's resident memory 20-40 MB above what it uses (bench/tablet.py,
``tablet.app_rss_over_empty_window``). On a tablet that memory belongs to the other
apps. Elsewhere (Android's bionic, macOS) this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from functools import cache
from typing import Any

# How often the running app trims: a trim takes about 3 ms here.
TRIM_EVERY_S = 10.0


@cache
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_freed() -> None:
    libc = _libc()
    if libc is not None:
        with contextlib.suppress(Exception):
            libc.malloc_trim(0)
