"""What makes an edited backup refuse to restore: the server's signature over the backup,
checked against a key the operator brings, and the identity key's private half sealed
under a passphrase (docs/server.md, "Backups that cannot be edited").

An archive that carried the private key in the clear could be edited and re-signed by
anyone holding it, so a signature alone would prove nothing. The private key therefore
travels only sealed (scrypt + AES-GCM) under the operator's backup passphrase, or not at
all: a server restored without it keeps its old public keys (retired, so exports attested
before still verify) and makes a new identity key on its first start.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from permits.attestation import ServerKey, fingerprint, published_keys
from permits.errors import InvalidInput
from permits.integrity import signature_valid
from sync_server.errors import Unprocessable
from sync_server.i18n import gettext as _

# scrypt's interactive-login cost is too cheap for a file an attacker can take away;
# 2**15 x 8 costs ~32 MiB and ~0.1 s here, once per backup or restore.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _kdf(passphrase: str, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P).derive(
        passphrase.encode("utf-8")
    )


def seal_private_key(private_b64: str, passphrase: str, key_id: str) -> dict[str, Any]:
    salt, nonce = os.urandom(16), os.urandom(12)
    ct = AESGCM(_kdf(passphrase, salt)).encrypt(nonce, private_b64.encode(), key_id.encode())
    return {
        "$sealed": {
            "kdf": "scrypt",
            "n": _SCRYPT_N,
            "r": _SCRYPT_R,
            "p": _SCRYPT_P,
            "salt": _b64(salt),
            "nonce": _b64(nonce),
            "ct": _b64(ct),
        }
    }


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"$sealed"}


def open_private_key(value: dict[str, Any], passphrase: str, key_id: str) -> str:
    box = value["$sealed"]
    try:
        key = Scrypt(
            salt=base64.b64decode(box["salt"]),
            length=32,
            n=int(box["n"]),
            r=int(box["r"]),
            p=int(box["p"]),
        ).derive(passphrase.encode("utf-8"))
        plain = AESGCM(key).decrypt(
            base64.b64decode(box["nonce"]), base64.b64decode(box["ct"]), key_id.encode()
        )
    except (InvalidTag, KeyError, ValueError, TypeError):
        raise Unprocessable(
            _("the backup passphrase does not open the server key in this backup"),
            code="BACKUP_PASSPHRASE",
            field="passphrase",
        ) from None
    return plain.decode()


def signature_record(digest: str, key: ServerKey) -> dict[str, Any]:
    """The trailer of an archive, or the content of a native backup's ``.sig`` file."""
    return {
        "t": "$signature",
        "sha256": digest,
        "server_key": key.public_b64,
        "fingerprint": key.fingerprint,
        "sig": key.sign_bytes(bytes.fromhex(digest)),
    }


def expected_keys(server_key: str | None) -> set[str]:
    """The fingerprints (hex, no spaces) the operator accepts as the backup's signer: a
    base64 key, a fingerprint, or a file holding either or the JSON of GET /server-key."""
    if not server_key:
        raise Unprocessable(
            _(
                "a backup is restored only against the server's key: give --server-key "
                "(the public key or fingerprint that 'cspermit server key' showed on the "
                "server that wrote it, or its GET /api/v1/server-key answer)"
            ),
            code="BACKUP_KEY_NEEDED",
            field="server_key",
        )
    text = server_key.strip()
    path = Path(text)
    if len(text) < 100 and path.is_file():
        text = path.read_text(encoding="utf-8").strip()
    compact = text.replace(" ", "").lower()
    if len(compact) == 64 and all(c in "0123456789abcdef" for c in compact):
        return {compact}  # a fingerprint as `cspermit server key` prints it
    try:
        return {fingerprint(k).replace(" ", "") for k in published_keys(text)}
    except InvalidInput:
        raise Unprocessable(
            _("--server-key: expected a base64 public key, a fingerprint or a key file"),
            code="BACKUP_KEY_INVALID",
            field="server_key",
        ) from None


def check_signature(digest: str, record: Any, accepted: set[str]) -> None:
    """Refuse a backup whose content, signature or signer is not what was accepted."""
    if not isinstance(record, dict) or record.get("t") != "$signature":
        raise Unprocessable(
            _(
                "the backup carries no server signature: it is truncated or was not written "
                "by cspermit server backup"
            ),
            code="BACKUP_UNSIGNED",
            field="file",
        )
    signer = str(record.get("server_key", ""))
    try:
        signer_fp = fingerprint(signer).replace(" ", "")
    except ValueError:
        signer_fp = ""
    if signer_fp not in accepted:
        raise Unprocessable(
            _("the backup was signed by another server's key ({fingerprint})").format(
                fingerprint=fingerprint(signer) if signer_fp else "?"
            ),
            code="BACKUP_FOREIGN",
            field="file",
        )
    if record.get("sha256") != digest or not signature_valid(
        digest, str(record.get("sig", "")), signer
    ):
        raise Unprocessable(
            _(
                "the backup was changed after it was written: its content does not match "
                "the server's signature"
            ),
            code="BACKUP_TAMPERED",
            field="file",
        )


def file_digest(path: Any) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
