"""Passwords (argon2id), opaque bearer tokens, and who is calling (``Principal``)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Role(StrEnum):
    # Creates enterprises and accounts; runs the server. Reads everything, never pushes.
    OPERATOR = "operator"
    # Keeps one enterprise's ledger, people, detectors, devices; follows its hazards.
    ENTERPRISE_ADMIN = "enterprise_admin"
    # Reads every enterprise in the jurisdiction; writes only hazard findings and notes.
    BUREAU_REVIEWER = "bureau_reviewer"
    # A provincial aggregator: the read-only feed of its jurisdiction, nothing else.
    AGGREGATOR = "aggregator"
    # An enrolled tablet: pushes events and blobs for its enterprise, pulls reference data.
    DEVICE = "device"


@dataclass(frozen=True)
class Principal:
    role: Role
    subject_id: str  # account id or device id
    name: str
    enterprise_id: str | None = None
    jurisdiction: str | None = None
    # What pages show for the person (the account's display name); ``name`` stays the
    # username, the identity the audit log records.
    display_name: str = ""

    @property
    def shown_name(self) -> str:
        return self.display_name or self.name

    @property
    def is_device(self) -> bool:
        return self.role is Role.DEVICE

    def sees_all_enterprises(self) -> bool:
        return self.role is Role.OPERATOR


class Passwords:
    def __init__(self, time_cost: int, memory_cost_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib)
        # Verified against when the username is unknown, so timing does not reveal it.
        self._dummy = self._hasher.hash(secrets.token_hex(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and bool(stored_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_enrollment_code() -> str:
    # Short enough to type on a tablet, long enough (about 50 bits) for a one-time code.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def normalise_code(code: str) -> str:
    return code.strip().upper().replace(" ", "")
