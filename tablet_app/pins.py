"""PIN checks on the tablet, offline, against the ledger's Argon2id hash.

The hashing is the core's (``permits.reference``), so a PIN set on the server
verifies here byte for byte.
"""

from __future__ import annotations

from permits.reference import hash_pin as _hash_pin
from permits.reference import verify_pin as _verify_pin
from tablet_app.memory import release_freed

__all__ = ["hash_pin", "verify_pin"]

# Each check allocates Argon2id's memory cost (~19 MiB) and frees it; without a trim
# glibc kept it for good after the first sign-in (tablet_app/memory.py).
_trim = release_freed


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
