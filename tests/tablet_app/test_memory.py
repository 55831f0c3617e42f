"""PIN checks through tablet_app.pins (which gives Argon2id's work area back to the
system, tablet_app/memory.py; the memory itself is bench/tablet.py's figure)."""

from __future__ import annotations

from tablet_app.memory import release_freed
from tablet_app.pins import hash_pin, verify_pin


def test_a_pin_check_still_verifies_and_refuses() -> None:
    encoded = hash_pin("3333")
    assert verify_pin("3333", encoded) and not verify_pin("0000", encoded)
    assert not verify_pin("3333", None)
    release_freed()  # safe to call any time, on any libc
