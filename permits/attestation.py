"""A server's attestation of an exported chain, and checking a chain against a trust anchor.

An export carries the device keys that signed it, and anyone can replace them: edit an
event, re-hash and re-sign the chain with a new key, put that key in ``devices`` and the
file verifies under its own keys. So a chain is called valid only against keys that come
from outside the file (docs/permit-lifecycle.md, "Verifying an export offline"):

* a **server key** the reader trusts: the export's ``attestation`` is a statement — permit
  id, chain head, every device key that wrote the chain with the enrollment it came from,
  the time of export — signed (Ed25519 over the SHA-256 of its canonical JSON) by the
  server's identity key. The chain is then checked with the attested device keys, never
  the file's ``devices``; or
* **pinned device keys** (``--keys``), which replace the file's own.

Without either, :func:`verify_anchored` reports what it checked and ``NOT_ANCHORED``: the
hashes, links and signatures may all hold, under keys the file brought itself.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from permits.canonical import canonical_bytes, canonical_datetime
from permits.errors import InvalidInput
from permits.i18n import gettext as _
from permits.integrity import (
    PermitExport,
    VerificationResult,
    check_head,
    public_key_from,
    signature_valid,
    verify_chain,
)

__all__ = [
    "ATTESTATION_BAD_SIGNATURE",
    "ATTESTATION_MISMATCH",
    "ATTESTATION_MISSING",
    "DEVICE_NOT_ATTESTED",
    "NOT_ANCHORED",
    "STATEMENT_KIND",
    "Anchor",
    "AttestedDevice",
    "ServerKey",
    "attestation_statement",
    "fingerprint",
    "published_keys",
    "verify_anchored",
]

STATEMENT_KIND = "cspermit-export-attestation/1"

ATTESTATION_MISSING = "ATTESTATION_MISSING"
ATTESTATION_BAD_SIGNATURE = "ATTESTATION_BAD_SIGNATURE"
ATTESTATION_MISMATCH = "ATTESTATION_MISMATCH"
DEVICE_NOT_ATTESTED = "DEVICE_NOT_ATTESTED"
NOT_ANCHORED = "NOT_ANCHORED"


def _raw(public_key_b64: str) -> bytes:
    return base64.b64decode(public_key_b64, validate=True)


def fingerprint(public_key_b64: str) -> str:
    """SHA-256 of the raw 32-byte key, hex in groups of four (what the PDF prints and
    ``cspermit server key`` shows, so a person can compare them by eye)."""
    digest = hashlib.sha256(_raw(public_key_b64)).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def published_keys(text: str) -> list[str]:
    """The base64 public keys ``text`` names: one key, or the JSON that
    ``GET /api/v1/server-key`` answers (its current key and every retired one). What
    a reviewer pastes or saves, read the same way by every command that takes a key."""
    body = text.strip()
    if body.startswith("{"):
        try:
            data = json.loads(body)
            listed = [str(k.get("public_key", "")) for k in data.get("keys", ())]
            keys = listed or [str(data.get("public_key", ""))]
        except (ValueError, AttributeError, TypeError):
            raise InvalidInput("server_key", "the JSON of GET /api/v1/server-key") from None
    else:
        keys = [body]
    for key in keys:
        if not _valid_b64(key):
            raise InvalidInput(
                "server_key", "a base64 Ed25519 public key (32 bytes)", key[:60] or None
            )
    return keys


def _statement_hash(statement: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_bytes(dict(statement))).hexdigest()


class ServerKey:
    """A server's Ed25519 identity key (the private half stays with the server's data)."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self._private = private
        self.public_b64 = base64.b64encode(private.public_key().public_bytes_raw()).decode()

    @classmethod
    def generate(cls) -> ServerKey:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_private_b64(cls, private_b64: str) -> ServerKey:
        return cls(Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_b64)))

    def private_b64(self) -> str:
        return base64.b64encode(self._private.private_bytes_raw()).decode()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_b64)

    def sign_bytes(self, data: bytes) -> str:
        return base64.b64encode(self._private.sign(data)).decode()

    def attest(self, statement: Mapping[str, Any]) -> dict[str, Any]:
        digest = _statement_hash(statement)
        return {
            "statement": dict(statement),
            "server_key": self.public_b64,
            "sig": self.sign_bytes(bytes.fromhex(digest)),
        }


@dataclass(frozen=True)
class AttestedDevice:
    device_id: str
    public_key: str
    enterprise_id: str
    enrolled_at: datetime
    label: str = ""
    revoked_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "device_id": self.device_id,
            "public_key": self.public_key,
            "enterprise_id": self.enterprise_id,
            "enrolled_at": canonical_datetime(self.enrolled_at),
            "label": self.label,
        }
        if self.revoked_at is not None:
            out["revoked_at"] = canonical_datetime(self.revoked_at)
        return out


def attestation_statement(
    *,
    permit_id: str,
    head: tuple[int, str],
    devices: Iterable[AttestedDevice],
    exported_at: datetime,
) -> dict[str, Any]:
    """What a server signs about one export: plain JSON (times as canonical text with
    their offsets), so it travels in ``export.json`` and hashes the same anywhere."""
    return {
        "kind": STATEMENT_KIND,
        "permit_id": permit_id,
        "head": {"seq": head[0], "hash": head[1]},
        "devices": [d.as_json() for d in sorted(devices, key=lambda d: d.device_id)],
        "exported_at": canonical_datetime(exported_at),
    }


@dataclass(frozen=True)
class Anchor:
    """Where trust comes from: server keys (base64) whose attestation is accepted, and/or
    pinned device keys that replace the file's own. Empty means no anchor."""

    server_keys: tuple[str, ...] = ()
    device_keys: Mapping[str, str] | None = None

    @property
    def empty(self) -> bool:
        return not self.server_keys and self.device_keys is None


def _refusal(
    events: Sequence[Any], code: str, message: str, detail: Mapping[str, Any] | None = None
) -> VerificationResult:
    return VerificationResult(
        False, len(events), None, None, code, message, dict(detail or {}), head_hash=None
    )


def _signing_devices(events: Sequence[Any]) -> set[str]:
    return {str(e["device_id"]) for e in events if isinstance(e, Mapping) and "device_id" in e}


def _attested_keys(
    export: PermitExport, attestation: Any, trusted: Sequence[str]
) -> dict[str, str] | VerificationResult:
    """The device keys the trusted server attested for this export, or why not."""
    events = export.events
    if not isinstance(attestation, Mapping):
        return _refusal(
            events,
            ATTESTATION_MISSING,
            _("the export carries no server attestation to check against the server key"),
        )
    statement, sig, signer = (
        attestation.get("statement"),
        attestation.get("sig"),
        attestation.get("server_key"),
    )
    if not (isinstance(statement, Mapping) and isinstance(sig, str) and isinstance(signer, str)):
        raise InvalidInput("attestation", 'an object {"statement", "server_key", "sig"}')
    trusted_raw = {_raw(k) for k in trusted}
    try:
        known_signer = _raw(signer) in trusted_raw
    except ValueError:
        known_signer = False
    if not known_signer:
        return _refusal(
            events,
            ATTESTATION_BAD_SIGNATURE,
            _("the attestation was signed by a server key you do not trust ({fingerprint})").format(
                fingerprint=fingerprint(signer) if _valid_b64(signer) else "?"
            ),
        )
    try:
        digest = _statement_hash(statement)
    except InvalidInput as exc:
        raise InvalidInput("attestation.statement", exc.expected) from None
    if not signature_valid(digest, sig, signer):
        return _refusal(
            events,
            ATTESTATION_BAD_SIGNATURE,
            _("the attestation's signature does not verify: the statement was changed"),
        )
    devices = statement.get("devices")
    keys: dict[str, str] = {}
    for item in devices if isinstance(devices, list) else ():
        if isinstance(item, Mapping):
            keys[str(item.get("device_id"))] = str(item.get("public_key"))
    unattested = sorted(_signing_devices(events) - set(keys))
    if unattested:
        return _refusal(
            events,
            DEVICE_NOT_ATTESTED,
            _("devices wrote this chain that the server did not attest: {devices}").format(
                devices=", ".join(unattested)
            ),
            {"devices": unattested},
        )
    head = statement.get("head")
    if (
        statement.get("kind") != STATEMENT_KIND
        or statement.get("permit_id") != export.permit_id
        or not isinstance(head, Mapping)
        or export.head != (head.get("seq"), head.get("hash"))
    ):
        return _refusal(
            events,
            ATTESTATION_MISMATCH,
            _("the attestation is for another permit or another chain head than this file's"),
            {"attested_head": dict(head) if isinstance(head, Mapping) else None},
        )
    return keys


def _valid_b64(text: str) -> bool:
    try:
        return len(_raw(text)) == 32
    except ValueError:  # binascii.Error is a ValueError
        return False


def verify_anchored(export: PermitExport, anchor: Anchor) -> VerificationResult:
    """Verify ``export`` with keys from outside the file.

    Pinned device keys replace the file's ``devices``; a trusted server key must have
    signed the attestation, which then supplies the device keys and the head. With no
    anchor, the chain is checked under the file's own keys for the report, and the result
    is never valid (``NOT_ANCHORED``).
    """
    events, permit_id = export.events, export.permit_id
    if anchor.empty:
        own = check_head(
            verify_chain(events, export.devices, permit_id=permit_id), events, export.head
        )
        if not own.valid:
            return own
        return VerificationResult(
            False,
            own.count,
            None,
            None,
            NOT_ANCHORED,
            _(
                "hashes, links and signatures hold, but only under the keys inside the file, "
                "which anyone can replace: verify with --server-key or --keys, or add the "
                "server's key with 'cspermit permit trust add'"
            ),
            {
                "keys_from": "file",
                "checked": ["hashes", "links", "sequence", "signatures", "head"],
                "count": own.count,
                "head_hash": own.head_hash,
            },
        )
    keys: dict[str, str] = {}
    if anchor.server_keys:
        attested = _attested_keys(export, export.attestation, anchor.server_keys)
        if isinstance(attested, VerificationResult):
            return attested
        keys.update(attested)
    if anchor.device_keys is not None:
        for device_id, key in anchor.device_keys.items():
            public_key_from(key)  # a pinned key that is no key is unreadable input
            if device_id in keys and _raw(keys[device_id]) != _raw(key):
                return _refusal(
                    events,
                    ATTESTATION_MISMATCH,
                    _("the pinned key of {device} differs from the key the server attested").format(
                        device=device_id
                    ),
                )
            keys[device_id] = key
    return check_head(verify_chain(events, keys, permit_id=permit_id), events, export.head)
