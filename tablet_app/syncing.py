"""The tablet's side of sync: enrol once, then push what the server has not acknowledged.

Transport and retries are the sync client's (``tablet_app.sync_client``); this
module moves rows between it and the local store. An event is marked acknowledged
only when the server answers accepted or duplicate; a rejected event stays
on the tablet, unacknowledged, for a person to look at.
"""

from __future__ import annotations

from typing import Any

from tablet_app.store import Store


async def enroll_device(store: Store, client: Any, code: str, label: str = "") -> Any:
    """Enrol this tablet's Ed25519 key with a one-time code; keep the device id and token."""
    public_key = store.get_setting("device_public_key")
    if public_key is None:
        raise ValueError("no device key yet: open the app (PermitDesk) once before enrolling")
    enrollment = await client.enroll(code, public_key, label)
    store.set_setting("device_id", enrollment.device_id)
    store.set_setting("device_token", enrollment.token)
    store.set_setting("enterprise_id", enrollment.enterprise_id)
    return enrollment


async def push_pending(store: Store, client: Any) -> dict[str, Any]:
    """Readings chunks first (events name them by hash), then events in chain order."""
    chunk_ids = store.unacked_chunks()
    blobs = [store.chunk(h) for h in chunk_ids]
    uploaded = set(await client.upload_chunks([b for b in blobs if b is not None]))
    for digest in chunk_ids:
        if digest in uploaded:  # the server holds it (stored now or before)
            store.mark_chunk_acked(digest)
    events = store.unacked_events()
    if not events:
        return {"chunks": len(uploaded), "pushed": 0, "accepted": 0, "duplicate": 0, "rejected": []}
    outcome = await client.push_events(events)
    accepted = [r["event_id"] for r in outcome.by_status("accepted")]
    duplicate = [r["event_id"] for r in outcome.by_status("duplicate")]
    store.mark_acked(accepted, "accepted")
    store.mark_acked(duplicate, "duplicate")
    return {
        "chunks": len(uploaded),
        "pushed": len(events),
        "accepted": len(accepted),
        "duplicate": len(duplicate),
        "rejected": [r for r in outcome.results if r["status"] not in ("accepted", "duplicate")],
    }
