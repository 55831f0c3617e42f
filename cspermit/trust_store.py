"""The server keys a user trusts for offline verification (``cspermit permit trust``).

A JSON file, ``$CSPERMIT_TRUST_STORE`` or ``~/.config/cspermit/trusted-servers.json``:
``{"servers": [{"name", "public_key", "fingerprint", "added_at"}]}``. A reviewer adds the
county server's key once (its fingerprint read from a channel they trust: the bureau's
letter, the server's console); ``cspermit permit verify`` then checks every export's
attestation against these keys without ``--server-key``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from permits.attestation import fingerprint, published_keys
from permits.errors import InvalidInput


class TrustStoreError(ValueError):
    """A key or a store file that cannot be used; the message says which and why."""


def store_path() -> Path:
    env = os.environ.get("CSPERMIT_TRUST_STORE")
    return Path(env) if env else Path.home() / ".config" / "cspermit" / "trusted-servers.json"


def parse_key(text: str) -> list[str]:
    """Public keys from a base64 key, or from a file holding one or the JSON that
    ``GET /api/v1/server-key`` answers (the current key and every retired one)."""
    candidate, where = text.strip(), "--server-key"
    path = Path(candidate)
    if len(candidate) != 44 and path.is_file():
        candidate, where = path.read_text(encoding="utf-8"), str(path)
    try:
        return published_keys(candidate)
    except InvalidInput as exc:
        raise TrustStoreError(
            f"{where}: expected {exc.expected}, a file with one, or the "
            "JSON of GET /api/v1/server-key"
        ) from None


def _checked(key: str, where: str) -> str:
    try:
        return published_keys(key)[0]
    except InvalidInput:
        raise TrustStoreError(f"{where}: a stored key is not a base64 Ed25519 public key") from None


def load(path: Path | None = None) -> list[dict[str, Any]]:
    path = path or store_path()
    if not path.exists():
        return []
    try:
        servers = json.loads(path.read_text(encoding="utf-8"))["servers"]
        if not isinstance(servers, list):
            raise TypeError("servers is not a list")
        for s in servers:
            _checked(str(s["public_key"]), str(path))
        return servers
    except (ValueError, KeyError, TypeError) as exc:
        raise TrustStoreError(f"{path}: not a trust store ({exc})") from None


def _save(servers: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"servers": servers}, ensure_ascii=False, indent=2) + "\n")
    tmp.chmod(0o600)
    tmp.replace(path)


def add(key: str, name: str, path: Path | None = None) -> list[dict[str, Any]]:
    path = path or store_path()
    servers = load(path)
    added = []
    for public_key in parse_key(key):
        if any(s["public_key"] == public_key for s in servers):
            continue
        entry = {
            "name": name,
            "public_key": public_key,
            "fingerprint": fingerprint(public_key),
            "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        servers.append(entry)
        added.append(entry)
    _save(servers, path)
    return added


def remove(what: str, path: Path | None = None) -> int:
    """Drop the entries whose name, key or fingerprint (spaces optional) is ``what``."""
    path = path or store_path()
    servers = load(path)
    wanted = what.replace(" ", "")
    keep = [
        s
        for s in servers
        if wanted not in (s["name"], s["public_key"], s["fingerprint"].replace(" ", ""))
    ]
    _save(keep, path)
    return len(servers) - len(keep)
