"""Reference data from the server into the local store (``GET /api/v1/sync/reference``).

The server keeps the ledger in the core's reference models (``permits.reference``:
``ConfinedSpace``, ``Person``, ``Detector``, training records and certificates as
their own items); the tablet keeps rows shaped like what a permit records
(``SpaceSnapshot``, ``PersonSnapshot``, ``DetectorIdentity``; contractors, written
delegations and profile overrides as the rows those snapshots are built from, joined
when a permit records them: ``tablet_app.desk``). This module maps
one to the other, applies tombstones, and keeps the cursor, so a pull after days
offline only fetches what changed. Kivy-free.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from tablet_app.store import Store

CURSOR = "reference"
PULLED_AT = "ledger_pulled_at"  # setting: when the last pull completed
DEFAULT_PROFILE = "default_profile"  # setting: the enterprise's default profile name
PUBLIC_CODES = "public_codes"  # setting: public token -> space id (the warning cards' QR)
_AUTHORITY = ("principal", "approver")  # strongest first
# Server kinds the tablet keeps, and the store table of those kept as rows.
_PULLED = frozenset(
    {
        "spaces",
        "people",
        "detectors",
        "training",
        "certificates",
        "contractors",
        "delegations",
        "profile-overrides",
        "default-profile",
    }
)
_TABLE = {
    "spaces": "spaces",
    "people": "people",
    "detectors": "detectors",
    "contractors": "contractors",
    "delegations": "delegations",
    "profile-overrides": "profiles",
}


def space_row(item_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A server ``ConfinedSpace`` as the tablet's space row (a ``SpaceSnapshot`` and more)."""
    return {
        "id": item_id,
        "space_id": item_id,
        "enterprise_id": data.get("enterprise_id"),
        "name": data.get("name", item_id),
        "location": data.get("location", ""),
        "hazards": list(data.get("hazards", ())),
        "required_channels": list(data.get("required_channels", ())),
        "sample_points": list(data.get("sample_points", ())),
        "isolation_points": [
            {
                "point_id": p["id"],
                "description": p.get("description", ""),
                # the event's kind is the energy (pipe, electrical, ...); the method
                # (blind flange, lockout) is chosen when the lock is applied
                "kind": p.get("energy", "other"),
                "hazardous_source": bool(p.get("hazardous_source", False)),
            }
            for p in data.get("isolation_points", ())
        ],
        # the ledger's isolation method per point (the set-up screen offers it)
        "isolation_methods": {p["id"]: p.get("kind") for p in data.get("isolation_points", ())},
        "required_ppe": list(data.get("required_ppe", ())),
        "rescue_items": list(data.get("rescue_equipment", ())),
        "key_supervision": bool(data.get("key_supervision", False)),
        "oxygen_enriched": bool(data.get("oxygen_enriched", False)),
        # The space's own profile, or None for the enterprise's default: resolved when a
        # permit is drafted (tablet_app.desk.PermitDesk.space_snapshot).
        "ledger_profile": data.get("profile"),
    }


def contractor_row(item_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A server ``Contractor`` as the ``ContractorSnapshot`` a person's assignment records."""
    return {
        "id": item_id,
        "contractor_id": item_id,
        "name": data.get("name", item_id),
        "contract_reference": data.get("contract_reference", ""),
        "contract_valid_from": data.get("contract_valid_from"),
        "contract_valid_until": data.get("contract_valid_until"),
        "blacklisted_on": data.get("blacklisted_on"),
        "blacklist_reason": data.get("blacklist_reason", ""),
    }


def delegation_row(item_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    """A server ``Delegation``: the ``DelegationSnapshot`` plus whom it names."""
    return {
        "id": item_id,
        "delegation_id": item_id,
        "delegator": data.get("delegator"),
        "delegate": data.get("delegate"),
        "space_ids": list(data.get("space_ids", ())),
        "valid_from": data.get("valid_from"),
        "valid_until": data.get("valid_until"),
        "document_ref": data.get("document_ref", ""),
    }


def _latest_until(records: list[Mapping[str, Any]]) -> str | None:
    days = [date.fromisoformat(str(r["valid_until"])) for r in records if r.get("valid_until")]
    return max(days).isoformat() if days else None


def person_row(
    item_id: str, data: Mapping[str, Any], previous: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A server ``Person`` as the tablet's person row (a ``PersonSnapshot`` plus the
    PIN hash). Certificates and training pulled as their own items are kept."""
    employer = data.get("employer") or {}
    roles = set(data.get("roles", ()))
    authority = next((a for a in _AUTHORITY if a in roles), "none")
    certificates = [
        {"kind": c["type"], "number": c.get("number", ""), "valid_until": c["expires_on"]}
        for c in data.get("certificates", ())
    ]
    prev = dict(previous or {})
    extra_certs = [c for c in prev.get("pulled_certificates", ())]
    training = list(data.get("training", ())) + list(prev.get("pulled_training", ()))
    return {
        "id": item_id,
        "person_id": item_id,
        "name": data.get("name", item_id),
        "employer_id": employer.get("id") or data.get("enterprise_id") or "-",
        "contractor_id": employer.get("id") if employer.get("kind") == "contractor" else None,
        "training_valid_until": _latest_until(training),
        "certificates": certificates + extra_certs,
        "approval_authority": authority,
        "roles": sorted(roles),
        "pin_hash": data.get("pin_hash"),
        "pulled_certificates": extra_certs,
        "pulled_training": list(prev.get("pulled_training", ())),
        "server_training": list(data.get("training", ())),
        "server_certificates": certificates,
    }


def detector_row(item_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
    bumps = sorted(
        (b for b in data.get("bump_tests", ()) if b.get("passed")), key=lambda b: str(b["at"])
    )
    return {
        "id": item_id,
        "serial": item_id,
        "model": data.get("model", ""),
        "protocol": data.get("protocol", ""),
        "channels": list(data.get("channels", ())),
        "calibration_due": data.get("calibration_due"),
        "last_bump_test": bumps[-1]["at"] if bumps else None,
    }


def _attach(store: Store, data: Mapping[str, Any], kind: str) -> None:
    """A training record or certificate item joins its person's row."""
    person_id = str(data.get("person_id", ""))
    row = store.reference("people", person_id)
    if row is None:
        return  # the person item comes in the same pull or a later one
    if kind == "certificates":
        cert = {
            "kind": data["type"],
            "number": data.get("number", ""),
            "valid_until": data["expires_on"],
        }
        pulled = [c for c in row.get("pulled_certificates", ()) if c["number"] != cert["number"]]
        row["pulled_certificates"] = [*pulled, cert]
        row["certificates"] = list(row.get("server_certificates", ())) + row["pulled_certificates"]
    else:
        record = {"topic": data.get("topic"), "valid_until": data.get("valid_until")}
        pulled = [t for t in row.get("pulled_training", ()) if t != record]
        row["pulled_training"] = [*pulled, record]
        row["training_valid_until"] = _latest_until(
            list(row.get("server_training", ())) + row["pulled_training"]
        )
    store.put_references("people", [row])


def apply_update(store: Store, update: Any, now: datetime | None = None) -> dict[str, int]:
    """Write a :class:`~tablet_app.sync_client.ReferenceUpdate` into the store and keep
    its cursor. Returns how many rows of each kind changed."""
    counts: dict[str, int] = {}
    later: list[tuple[str, Mapping[str, Any]]] = []
    for item in update.items:
        kind, item_id = str(item["kind"]), str(item["item_id"])
        if kind not in _PULLED:
            continue  # a kind this tablet does not know yet (a newer server)
        table = _TABLE.get(kind)
        if item.get("deleted"):
            if table is not None:
                store.delete_reference(table, item_id)
            elif kind == "default-profile":
                store.set_setting(DEFAULT_PROFILE, None)
        elif kind == "contractors":
            store.put_references("contractors", [contractor_row(item_id, item["data"])])
        elif kind == "delegations":
            store.put_references("delegations", [delegation_row(item_id, item["data"])])
        elif kind == "profile-overrides":
            store.put_references("profiles", [{"id": item_id, **item["data"]}])
        elif kind == "default-profile":
            store.set_setting(DEFAULT_PROFILE, item["data"].get("profile"))
        elif kind == "spaces":
            store.put_references("spaces", [space_row(item_id, item["data"])])
        elif kind == "people":
            previous = store.reference("people", item_id)
            store.put_references("people", [person_row(item_id, item["data"], previous)])
        elif kind == "detectors":
            store.put_references("detectors", [detector_row(item_id, item["data"])])
        else:
            later.append((kind, item["data"]))
        counts[kind] = counts.get(kind, 0) + 1
    for kind, data in later:  # after the people they belong to
        _attach(store, data, kind)
    for hazard in update.hazards:
        store.put_references("hazards", [{"id": hazard["hazard_id"], **hazard}])
    counts["hazards"] = len(update.hazards)
    codes = getattr(update, "public_codes", None)
    if codes is not None:  # the full list on every pull: a replaced code drops out
        store.set_setting(PUBLIC_CODES, {c["token"]: c["space_id"] for c in codes})
    if update.enterprise:
        store.set_setting("enterprise", update.enterprise)
        store.set_setting("enterprise_id", update.enterprise["enterprise_id"])
    store.set_cursor(CURSOR, str(update.cursor))
    store.set_setting(PULLED_AT, (now or datetime.now(UTC)).isoformat())
    return counts


async def pull_reference(store: Store, client: Any, now: datetime | None = None) -> dict[str, int]:
    """Pull what changed since the stored cursor and apply it; the ledger is then
    current as of ``now`` (the permit records it: ``Drafted.ledger_as_of``)."""
    cursor = int(store.get_cursor(CURSOR) or 0)
    update = await client.pull_reference(cursor)
    return apply_update(store, update, now)


def space_of_token(store: Store, token: str) -> str | None:
    """The space whose warning card carries ``token``, from the synced ledger; None for a
    token of another enterprise, a replaced card, or one printed since the last pull."""
    codes = store.get_setting(PUBLIC_CODES) or {}
    space_id = codes.get(token) if isinstance(codes, dict) else None
    return str(space_id) if space_id else None


def ledger_pulled_at(store: Store) -> datetime | None:
    """When the ledger was last pulled from the server; None if it never was."""
    value = store.get_setting(PULLED_AT)
    return None if not value else datetime.fromisoformat(str(value))
