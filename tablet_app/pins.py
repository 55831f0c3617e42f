"""PIN checks on the tablet, offline, against the ledger's Argon2id hash.

The hashing is the core's (``permits.reference``), so a PIN set on the server
verifies here byte for byte.
"""

from __future__ import annotations

from permits.reference import hash_pin, verify_pin

__all__ = ["hash_pin", "verify_pin"]
