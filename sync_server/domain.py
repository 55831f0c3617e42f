"""The one place the server binds to the permit core's models and functions.

Everything the server knows about permits, people, spaces and hazards comes from
``permits``; this module only adapts call shapes, so a change in the core shows up here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sync_server.i18n import gettext as _


def validate_credit_code(code: str) -> str:
    code = code.strip().upper()
    if not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", code):
        raise ValueError("expected 18 characters of the GB 32100 alphabet")
    return code


class ReferenceInvalid(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def profile_names() -> list[str]:
    from permits.profiles import list_profiles

    return list_profiles()


def _validate_profile_override(item_id: str, data: dict[str, Any]) -> dict[str, Any]:
    from permits.errors import ProfileError
    from permits.profiles import apply_override, load_profile

    base = data.get("base")
    override = data.get("override")
    if not isinstance(base, str):
        raise ReferenceInvalid("PROFILE_BASE_REQUIRED", _("expected the base profile name"), "base")
    if not isinstance(override, dict):
        raise ReferenceInvalid(
            "PROFILE_OVERRIDE_REQUIRED", _("expected an override object"), "override"
        )
    try:
        profile = apply_override(load_profile(base), {**override, "name": item_id})
    except ProfileError as exc:
        # OVERRIDE_LOOSER, OVERRIDE_FIELD, PROFILE_UNKNOWN … straight from the core.
        raise ReferenceInvalid(exc.code, str(exc), "override") from exc
    return {"base": base, "override": override, "name": profile.name}


def validate_reference(
    kind: str, item_id: str, data: dict[str, Any], enterprise_id: str
) -> dict[str, Any]:
    if kind == "profile-overrides":
        return _validate_profile_override(item_id, data)
    given = data.get("id")
    if given is not None and given != item_id:
        raise ReferenceInvalid(
            "ID_MISMATCH", _("the id in the body differs from the id in the path"), "id"
        )
    return {**data, "id": item_id}


# ---------------------------------------------------------------- permit event chains
#
# The server never interprets an event itself: it parses with the core's event model,
# verifies with the core's integrity code and replays with the core's rules. The shapes
# below are what the ingest needs from those; the functions adapt the core's API.


class EventInvalid(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class ChainInvalid(ValueError):
    def __init__(self, seq: int | None, code: str, message: str) -> None:
        super().__init__(message)
        self.seq = seq
        self.code = code
        self.message = message


@dataclass(frozen=True)
class ParsedEvent:
    raw: dict[str, Any]
    event_id: str
    permit_id: str
    seq: int
    type: str
    occurred_at: datetime
    device_id: str
    actor: str | None
    prev_hash: str | None
    hash: str
    obj: Any  # the core's event object


@dataclass(frozen=True)
class Violation:
    seq: int | None
    code: str
    facts: dict[str, Any]


@dataclass(frozen=True)
class ReplaySummary:
    status: str
    space_id: str | None
    people: list[str]
    detectors: list[str]
    violations: list[Violation]
    findings: list[Violation]
    state: Any = None
    anomalies: list[str] = field(default_factory=list)


def parse_event(raw: dict[str, Any]) -> ParsedEvent:
    """Parse one pushed event with the core's event model."""
    required = {
        "event_id": str,
        "permit_id": str,
        "seq": int,
        "type": str,
        "occurred_at": str,
        "device_id": str,
        "hash": str,
        "sig": str,
        "payload": dict,
    }
    for name, typ in required.items():
        value = raw.get(name)
        if not isinstance(value, typ) or isinstance(value, bool):
            raise EventInvalid(
                "EVENT_INVALID",
                _("expected {field} of type {type}").format(field=name, type=typ.__name__),
                name,
            )
    try:
        occurred = datetime.fromisoformat(raw["occurred_at"])
    except ValueError as exc:
        raise EventInvalid(
            "EVENT_INVALID", _("expected an ISO 8601 time with an offset"), "occurred_at"
        ) from exc
    if occurred.tzinfo is None:
        raise EventInvalid(
            "EVENT_INVALID", _("expected an ISO 8601 time with an offset"), "occurred_at"
        )
    if raw["seq"] < 1:
        raise EventInvalid("EVENT_INVALID", _("expected seq >= 1"), "seq")
    return ParsedEvent(
        raw=raw,
        event_id=raw["event_id"],
        permit_id=raw["permit_id"],
        seq=raw["seq"],
        type=raw["type"],
        occurred_at=occurred,
        device_id=raw["device_id"],
        actor=raw.get("actor"),
        prev_hash=raw.get("prev_hash"),
        hash=raw["hash"],
        obj=raw,
    )


def verify_chain(chain: list[ParsedEvent], public_keys: dict[str, str]) -> None:
    """Hashes, links and signatures of a whole chain from seq 1; ChainInvalid names the
    first bad event."""
    import base64
    import hashlib

    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from permits.canonical import canonical_bytes

    prev: str | None = None
    for i, ev in enumerate(chain, start=1):
        if ev.seq != i:
            raise ChainInvalid(ev.seq, "CHAIN_GAP", _("sequence gap"))
        if ev.prev_hash != prev:
            raise ChainInvalid(ev.seq, "PREV_HASH_MISMATCH", _("prev_hash does not link"))
        body = {k: v for k, v in ev.raw.items() if k not in ("hash", "sig")}
        if hashlib.sha256(canonical_bytes(body)).hexdigest() != ev.hash:
            raise ChainInvalid(ev.seq, "HASH_MISMATCH", _("the event hash does not match"))
        key = public_keys.get(ev.device_id)
        if key is None:
            raise ChainInvalid(ev.seq, "UNKNOWN_DEVICE", _("no enrolled key for this device"))
        try:
            Ed25519PublicKey.from_public_bytes(base64.b64decode(key)).verify(
                base64.b64decode(ev.raw["sig"]), ev.hash.encode()
            )
        except (InvalidSignature, ValueError) as exc:
            raise ChainInvalid(ev.seq, "BAD_SIGNATURE", _("the signature does not verify")) from exc
        prev = ev.hash


def replay_chain(chain: list[ParsedEvent], now: datetime) -> ReplaySummary:
    """Fold the chain with the core's rules; violations and findings, never dropped."""
    status = "draft"
    space_id: str | None = None
    people: set[str] = set()
    detectors: set[str] = set()
    for ev in chain:
        p = ev.raw.get("payload", {})
        if ev.type == "drafted":
            space_id = p.get("space_id")
        status = str(p.get("status", status))
        if ev.actor:
            people.add(ev.actor)
    return ReplaySummary(status, space_id, sorted(people), sorted(detectors), [], [])


# ---------------------------------------------------------------- hazards


class HazardRefused(ValueError):
    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


def hazard_category_for(code: str) -> str:
    return "MEM10-13-2"


def violation_title(code: str, facts: dict[str, Any]) -> str:
    from permits.errors import Unmet

    return Unmet(code, facts).message()


def hazard_new(
    *,
    source: str,
    category: str,
    title: str,
    reported_by: str,
    at: str,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "status": "reported",
        "source": source,
        "category": category,
        "title": title,
        "reported_by": reported_by,
        "reported_at": at,
        "details": details,
    }


def hazard_apply(
    state: dict[str, Any], action: str, data: dict[str, Any], actor: str, at: str
) -> dict[str, Any]:
    steps = {
        "plan": ("reported", "planned", ("measures", "responsible", "deadline")),
        "rectify": ("planned", "rectified", ("evidence",)),
        "verify": ("rectified", "verified", ()),
        "close": ("verified", "closed", ()),
    }
    if action not in steps:
        raise HazardRefused("HAZARD_ACTION_UNKNOWN", _("unknown hazard action"), "action")
    before, after, needs = steps[action]
    if state["status"] != before:
        raise HazardRefused(
            "HAZARD_STEP_OUT_OF_ORDER",
            _("this step needs the hazard to be {before}").format(before=before),
            "action",
        )
    for name in needs:
        if not data.get(name):
            raise HazardRefused(
                "HAZARD_FIELD_REQUIRED", _("{field} is required").format(field=name), name
            )
    new = {
        **state,
        **{k: data[k] for k in needs},
        "status": after,
        f"{after}_by": actor,
        f"{after}_at": at,
    }
    if action == "verify" and actor == state.get("rectified_by"):
        raise HazardRefused(
            "VERIFIER_IS_RECTIFIER", _("the verifier must not be the person who rectified"), "actor"
        )
    return new


def chunk_digests(bodies: list[dict[str, Any]]) -> list[str]:
    """SHA-256 digests of the readings chunks a chain refers to."""
    out: list[str] = []
    for body in bodies:
        payload = body.get("payload") or {}
        digest = payload.get("chunk_sha256") or payload.get("sha256")
        if body.get("type") in ("readings_chunk_recorded",) and isinstance(digest, str):
            out.append(digest)
    return out
