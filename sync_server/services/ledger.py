"""The enterprise's ledger as a reviewer reads it (台账): people with their training and
certificates, contractors, detectors, spaces, and the yearly emergency drill and topic
training (MEM13), each flagged when it has expired or is about to."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from permits.reference import EmergencyDrill, TopicTraining, latest_overdue
from sync_server.services import enterprises as enterprise_service
from sync_server.services import reference as ref
from sync_server.services.reference import Kind


def expiry(day: str | None, today: date, warn_days: int) -> str:
    """``expired``, ``expiring`` (within ``warn_days``) or the empty string."""
    if not day:
        return ""
    try:
        d = date.fromisoformat(day[:10])
    except ValueError:
        return ""
    if d < today:
        return "expired"
    if d <= today + timedelta(days=warn_days):
        return "expiring"
    return ""


def drills(data: dict[str, Any], key: str, model: Any, today: date) -> dict[str, Any]:
    """Drills or topic trainings kept in the enterprise record, checked with the core's
    model; the enterprise is overdue with none on record or the latest past its interval."""
    records = []
    invalid = []
    stored = data.get(key)
    for raw in stored if isinstance(stored, list) else []:  # any JSON stored: never a 500
        try:
            records.append(model.model_validate(raw))
        except Exception:
            invalid.append(raw)
    records.sort(key=lambda r: r.held_on, reverse=True)
    return {
        "records": records,
        "invalid": invalid,
        "overdue": latest_overdue(records, today),
        "next_due": records[0].next_due() if records else None,
    }


def yearly(data: dict[str, Any], today: date) -> dict[str, dict[str, Any]]:
    """The emergency drill and the topic training of an enterprise record."""
    return {
        "drills": drills(data, "drills", EmergencyDrill, today),
        "topic": drills(data, "topic_trainings", TopicTraining, today),
    }


def training_due(conn: Connection, enterprise_ids: list[str], today: date) -> list[dict[str, Any]]:
    """Enterprises whose yearly emergency drill or topic training is overdue (MEM13)."""
    due = []
    for eid, data in enterprise_service.details_of(conn, enterprise_ids).items():
        checks = yearly(data, today)
        drill = checks["drills"]["overdue"]
        topic = checks["topic"]["overdue"]
        if drill or topic:
            due.append({"enterprise_id": eid, "drill": drill, "topic": topic})
    return due


def _person_rows(conn: Connection, enterprise_id: str, today: date) -> list[dict[str, Any]]:
    people = {r.item_id: r.data for r in ref.list_items(conn, enterprise_id, Kind.PERSON)}
    training = [r.data for r in ref.list_items(conn, enterprise_id, Kind.TRAINING)]
    certificates = [r.data for r in ref.list_items(conn, enterprise_id, Kind.CERTIFICATE)]
    rows = []
    for pid, pdata in people.items():
        records = [t for t in training if t.get("person_id") == pid] + list(
            pdata.get("training") or []
        )
        latest = max((t.get("valid_until", "") for t in records), default="")
        certs = [c for c in certificates if c.get("person_id") == pid]
        flags = {expiry(latest, today, 30)} if latest else {"expired"}
        flags |= {expiry(c.get("expires_on"), today, 60) for c in certs}
        rows.append(
            {
                "person_id": pid,
                "name": pdata.get("name", pid),
                "roles": pdata.get("roles") or [],
                "employer": (pdata.get("employer") or {}).get("id", ""),
                "training_until": latest,
                "training_flag": expiry(latest, today, 30) if latest else "expired",
                "certificates": [
                    {**c, "flag": expiry(c.get("expires_on"), today, 60)} for c in certs
                ],
                "attention": bool(flags - {""}),
            }
        )
    rows.sort(key=lambda r: (not r["attention"], r["person_id"]))
    return rows


def overview(conn: Connection, enterprise_id: str, today: date) -> dict[str, Any]:
    """The enterprise page's ledger: the caller has checked the enterprise is visible."""
    ent = enterprise_service.get(conn, enterprise_id)
    return {
        "ent": ent,
        "spaces": [r.data for r in ref.list_items(conn, enterprise_id, Kind.SPACE)],
        "people": _person_rows(conn, enterprise_id, today),
        "contractors": [
            {**r.data, "flag": expiry(r.data.get("contract_valid_until"), today, 30)}
            for r in ref.list_items(conn, enterprise_id, Kind.CONTRACTOR)
        ],
        "detectors": [
            {**r.data, "flag": expiry(r.data.get("calibration_due"), today, 30)}
            for r in ref.list_items(conn, enterprise_id, Kind.DETECTOR)
        ],
        **yearly(dict(ent.data or {}), today),
    }
