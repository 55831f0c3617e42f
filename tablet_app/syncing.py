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
    """Attachments and readings chunks first (events name them by hash), then events in
    chain order."""
    attachments = 0
    for digest in store.unacked_attachments():
        data = store.attachment(digest)
        if data is not None and await client.upload_attachment(data) == digest:
            store.mark_attachment_acked(digest)
            attachments += 1
    chunk_ids = store.unacked_chunks()
    blobs = [store.chunk(h) for h in chunk_ids]
    uploaded = set(await client.upload_chunks([b for b in blobs if b is not None]))
    for digest in chunk_ids:
        if digest in uploaded:  # the server holds it (stored now or before)
            store.mark_chunk_acked(digest)
    events = store.unacked_encoded()
    if not events:
        return {
            "attachments": attachments,
            "chunks": len(uploaded),
            "pushed": 0,
            "accepted": 0,
            "duplicate": 0,
            "rejected": [],
        }
    outcome = await client.push_events(events)
    accepted = [r["event_id"] for r in outcome.by_status("accepted")]
    duplicate = [r["event_id"] for r in outcome.by_status("duplicate")]
    store.mark_acked(accepted, "accepted")
    store.mark_acked(duplicate, "duplicate")
    return {
        "attachments": attachments,
        "chunks": len(uploaded),
        "pushed": len(events),
        "accepted": len(accepted),
        "duplicate": len(duplicate),
        "rejected": [r for r in outcome.results if r["status"] not in ("accepted", "duplicate")],
    }


async def push_hazard_reports(store: Store, client: Any) -> dict[str, int]:
    """Hazard reports made on the tablet, with their photo's hash as evidence. A report
    the server refuses stays here with the server's answer, for a person to see."""
    from tablet_app.sync_client import SyncClientError

    sent = waiting = 0
    for report in store.hazard_reports(unacked_only=True):
        try:
            out = await client.report_hazard(report)
        except SyncClientError as exc:
            if exc.status is None:
                raise  # offline: try again later
            store.mark_hazard_report(report["id"], error=f"{exc.code}: {exc}")
            waiting += 1
        else:
            store.mark_hazard_report(report["id"], server_id=str(out["hazard_id"]))
            sent += 1
    return {"sent": sent, "waiting": waiting}


async def sync_all(store: Store, client: Any) -> dict[str, Any]:
    """One full round: push what is waiting, then pull the reference data that changed."""
    from tablet_app.reference_sync import pull_reference

    result = await push_pending(store, client)
    result["reports"] = await push_hazard_reports(store, client)
    result["reference"] = await pull_reference(store, client)
    return result
