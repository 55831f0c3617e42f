"""PIN checks on the tablet, offline, against the ledger's Argon2id hash.

The hashing is the core's (``permits.reference``), so a PIN set on the server
verifies here byte for byte.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util

from permits.reference import hash_pin as _hash_pin
from permits.reference import verify_pin as _verify_pin

__all__ = ["hash_pin", "verify_pin"]


def _trim() -> None:
    """Give the Argon2id work area back to the system. Each check allocates its
    memory cost (~19 MiB) and frees it, but glibc keeps freed heap memory: on a
    tablet that was 19 MB held for good after the first sign-in (bench/tablet.py)."""
    with contextlib.suppress(Exception):  # not glibc (Android's bionic, macOS): nothing
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)


def hash_pin(pin: str) -> str:
    try:
        return _hash_pin(pin)
    finally:
        _trim()


def verify_pin(pin: str, pin_hash: str | None) -> bool:
    try:
        return _verify_pin(pin, pin_hash)
    finally:
        _trim()
