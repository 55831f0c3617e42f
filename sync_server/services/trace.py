"""One permit end to end (一键追溯), arranged for people: the trace page and the PDF.

Built on the API's trace (``services.permits.trace_data``: tenancy, chain verification,
findings, hazards) plus the readings chunks and device labels, folded here into what a
reviewer asks: who was there, in which role; what was isolated; what the gas did and
what the limits were; who was inside when an alarm went off; is the record intact.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.labels import (
    EVENT_TYPES,
    ISOLATION_METHODS,
    PERMIT_STATUSES,
    ROLES,
    Gettext,
    label,
    local_time,
    parse_time,
)
from sync_server.schema import devices, enterprises
from sync_server.security import Principal
from sync_server.services import readings as readings_mod
from sync_server.services.permits import trace_data

# Limits drawn on each channel's chart: the ones a reviewer compares the trend with.
_CHART_LIMIT_CODES = {"O2_LOW", "O2_HIGH", "FLAMMABLE_HIGH", "TOXIC_HIGH"}


def _ms(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


def _limits(channel: str, unit: str, profile_name: str) -> list[dict[str, Any]]:
    from permits.atmosphere import entry_limits
    from permits.profiles import load_profile
    from permits.readings import Channel, Unit

    try:
        profile = load_profile(profile_name)
    except Exception:  # an unknown profile name in an old permit: fall back to the default
        profile = load_profile()
    try:
        limits = entry_limits(
            Channel(channel), Unit(unit), profile, gas="CH4" if channel == "LEL" else None
        )
    except ValueError:
        return []
    if channel not in ("O2", "LEL") and any(lim.code == "TOXIC_HIGH" for lim in limits):
        # A toxic gas's flammable limit (thousands of ppm) would flatten the chart.
        limits = [lim for lim in limits if lim.code == "TOXIC_HIGH"]
    return [
        {"code": lim.code, "value": round(lim.limit, 3), "falling": lim.falling}
        for lim in limits
        if lim.code in _CHART_LIMIT_CODES
    ]


# A chart line needs no more points than the screen has pixels; an eight-hour job at one
# reading a second has ~29,000 per gas.
MAX_CHART_POINTS = 2000


def decimate(points: list[list[Any]], limit: int = MAX_CHART_POINTS) -> list[list[Any]]:
    """At most ``limit`` points, keeping each bucket's lowest and highest reading in time
    order, so a short peak (or an oxygen dip) is never smoothed away."""
    if len(points) <= limit:
        return points
    buckets = limit // 2
    size = len(points) / buckets
    out: list[list[Any]] = []
    for b in range(buckets):
        chunk = points[int(b * size) : int((b + 1) * size)]
        if not chunk:
            continue
        low = min(chunk, key=lambda p: p[1])
        high = max(chunk, key=lambda p: p[1])
        out.extend(sorted({id(low): low, id(high): high}.values(), key=lambda p: p[0]))
    return out


def _name(people: dict[str, dict[str, Any]], person_id: str | None) -> str:
    if not person_id:
        return ""
    person = people.get(person_id)
    return f"{person['name']} ({person_id})" if person else person_id


def _signer(payload: dict[str, Any]) -> str | None:
    person = (payload.get("signoff") or {}).get("person_id")
    return str(person) if person else None


def _summary(
    kind: str, payload: dict[str, Any], people: dict[str, dict[str, Any]], _: Gettext
) -> str:
    p = payload or {}
    who = _signer(p)
    if kind == "drafted":
        space = p.get("space") or {}
        where = f"{space.get('name', '')} ({space.get('space_id', '')})"
        return f"{where}: {p.get('work_description', '')}"
    if kind == "role_assigned":
        person = p.get("person") or {}
        role = label(ROLES, p.get("role"), _)
        return f"{role}: {person.get('name', '')} ({person.get('person_id', '')})"
    if kind == "hazard_identified":
        return f"{p.get('hazard', '')}; {_('controls')}: {', '.join(p.get('controls') or [])}"
    if kind in ("isolation_applied", "isolation_verified", "isolation_removed"):
        by = p.get("applied_by") or p.get("verified_by") or p.get("removed_by")
        method = label(ISOLATION_METHODS, p.get("method"), _)
        return (
            f"{p.get('point_id', '')} {method} {_('lock')} {p.get('lock_id', '')} "
            f"— {_name(people, by)}"
        ).replace("  ", " ")
    if kind in ("ventilation_started",):
        return str(p.get("equipment", ""))
    if kind == "equipment_confirmed":
        return f"{', '.join(p.get('items') or [])} — {_name(people, p.get('confirmed_by'))}"
    if kind == "atmosphere_test_recorded":
        test = p.get("test") or {}
        det = p.get("detector") or {}
        return (
            f"{_('detector')} {det.get('serial', '')}, "
            f"{len(test.get('samples') or [])} {_('sample points')} — "
            f"{_name(people, p.get('tested_by'))}"
        )
    if kind in ("entrant_entered", "entrant_exited"):
        return _name(people, p.get("entrant_id"))
    if kind == "readings_chunk_recorded":
        return (
            f"{p.get('detector_serial', '')} {local_time(p.get('start'))} – "
            f"{local_time(p.get('end'))}, {p.get('values', '')} {_('values')}"
        )
    if kind == "alarm_raised":
        return (
            f"{p.get('channel', '')} {p.get('value', '')} {p.get('unit', '')} "
            f"({_('limit')} {p.get('limit', '')}) {_('at point')} {p.get('point', '')}"
        )
    if kind == "alarm_cleared":
        return str(p.get("alarm_id", ""))
    if kind in ("evacuation_ordered", "cancelled", "suspended"):
        return str(p.get("reason", ""))
    if kind == "briefing_signed":
        return f"{_name(people, who)} — {_('briefed by')} {_name(people, p.get('briefed_by'))}"
    if who:
        return _name(people, who)
    return ""


def _device_labels(conn: Connection, enterprise_id: str) -> dict[str, str]:
    rows = conn.execute(
        sa.select(devices.c.device_id, devices.c.label).where(
            devices.c.enterprise_id == enterprise_id
        )
    )
    return {r.device_id: r.label for r in rows}


def build(conn: Connection, who: Principal, permit_id: str, _: Gettext) -> dict[str, Any]:
    """The trace view model; another tenant's or an unknown permit raises NotFound."""
    t = trace_data(conn, who, permit_id)
    permit = t["permit"]
    events: list[dict[str, Any]] = t["events"]
    ent = conn.execute(
        sa.select(enterprises.c.name).where(enterprises.c.enterprise_id == permit["enterprise_id"])
    ).first()
    device_labels = _device_labels(conn, permit["enterprise_id"])

    people: dict[str, dict[str, Any]] = {}
    space: dict[str, Any] = {}
    work = ""
    hazards_identified: list[str] = []
    for e in events:
        p = e["payload"] or {}
        if e["type"] == "drafted":
            space = dict(p.get("space") or {})
            work = str(p.get("work_description", ""))
        elif e["type"] == "role_assigned":
            person = p.get("person") or {}
            pid = person.get("person_id")
            if pid:
                entry = people.setdefault(pid, {"name": person.get("name", pid), "roles": []})
                entry["roles"].append(p.get("role"))
        elif e["type"] == "hazard_identified":
            hazards_identified.append(str(p.get("hazard", "")))

    findings_by_seq: dict[int, list[str]] = {}
    for f in t["findings"]:
        findings_by_seq.setdefault(f["seq"], []).append(f["code"])

    inside: list[str] = []
    guardian: str | None = None
    timeline = []
    alarms: list[dict[str, Any]] = []
    isolations: dict[str, dict[str, Any]] = {}
    tests = []
    alarm_markers: dict[str, list[dict[str, Any]]] = {}
    first_at = parse_time(events[0]["occurred_at"]) if events else None
    for e in events:
        p = e["payload"] or {}
        kind = e["type"]
        at = parse_time(e["occurred_at"])
        if kind == "entrant_entered" and p.get("entrant_id") not in inside:
            inside.append(p["entrant_id"])
        elif kind == "entrant_exited" and p.get("entrant_id") in inside:
            inside.remove(p["entrant_id"])
        elif kind in ("guardian_on_duty", "guardian_handover"):
            guardian = _signer(p) or p.get("to_person") or guardian
        elif kind == "guardian_left":
            guardian = None
        elif kind in ("isolation_applied", "isolation_verified", "isolation_removed"):
            rec = isolations.setdefault(
                p.get("lock_id", p.get("point_id", "")),
                {"point_id": p.get("point_id"), "lock_id": p.get("lock_id")},
            )
            if kind == "isolation_applied":
                rec.update(
                    method=label(ISOLATION_METHODS, p.get("method"), _),
                    tag_id=p.get("tag_id"),
                    applied_by=_name(people, p.get("applied_by")),
                    applied_at=local_time(at),
                )
            elif kind == "isolation_verified":
                rec.update(
                    verified_by=_name(people, p.get("verified_by")), verified_at=local_time(at)
                )
            else:
                rec.update(removed_by=_name(people, p.get("removed_by")), removed_at=local_time(at))
        elif kind == "atmosphere_test_recorded":
            test = p.get("test") or {}
            det = p.get("detector") or {}
            for sample in test.get("samples") or []:
                tests.append(
                    {
                        "seq": e["seq"],
                        "at": local_time(sample.get("taken_at") or at),
                        "at_ms": _ms(parse_time(sample.get("taken_at")) or at),
                        "point": sample.get("point", ""),
                        "detector": det.get("serial", ""),
                        "by": _name(people, p.get("tested_by")),
                        "readings": [
                            {
                                "channel": r.get("channel"),
                                "value": r.get("value"),
                                "unit": r.get("unit"),
                            }
                            for r in sample.get("readings") or []
                        ],
                    }
                )
        elif kind == "alarm_raised":
            alarm = {
                "seq": e["seq"],
                "alarm_id": p.get("alarm_id"),
                "at": local_time(at),
                "channel": p.get("channel"),
                "value": p.get("value"),
                "limit": p.get("limit"),
                "unit": p.get("unit"),
                "point": p.get("point"),
                "inside": [_name(people, x) for x in inside],
                "guardian": _name(people, guardian),
                "device": device_labels.get(e["device_id"], e["device_id"]),
                "cleared_at": "",
                "evacuation_at": "",
                "exits": [],
            }
            alarms.append(alarm)
            if p.get("channel"):
                alarm_markers.setdefault(str(p["channel"]), []).append(
                    {
                        "x": _ms(at),
                        "y": p.get("value"),
                        "label": f"{_('Alarm')} {alarm['alarm_id']}",
                    }
                )
        elif kind == "alarm_cleared":
            for a in alarms:
                if a["alarm_id"] == p.get("alarm_id") and not a["cleared_at"]:
                    a["cleared_at"] = local_time(at)
        if kind == "evacuation_ordered":
            for a in alarms:
                if not a["evacuation_at"]:
                    a["evacuation_at"] = local_time(at)
        if kind == "entrant_exited":
            for a in alarms:
                if not a["cleared_at"]:
                    a["exits"].append(f"{_name(people, p.get('entrant_id'))} {local_time(at)}")
        timeline.append(
            {
                "seq": e["seq"],
                "at": local_time(at),
                "at_iso": e["occurred_at"],
                "elapsed_min": round((at - first_at).total_seconds() / 60, 1)
                if at and first_at
                else None,
                "received_at": local_time(e["received_at"]),
                "type": kind,
                "label": label(EVENT_TYPES, kind, _),
                "actor": _name(people, e["actor"]),
                "device": device_labels.get(e["device_id"], ""),
                "device_id": e["device_id"],
                "summary": _summary(kind, p, people, _),
                "hash": e["hash"],
                "clock_flag": e["clock_flag"],
                "findings": findings_by_seq.get(e["seq"], []),
                "alarm": kind in ("alarm_raised", "evacuation_ordered"),
                "signoff": {
                    "person": _name(people, (p.get("signoff") or {}).get("person_id")),
                    "meaning": (p.get("signoff") or {}).get("meaning", ""),
                    "pin_verified": bool((p.get("signoff") or {}).get("pin_verified")),
                }
                if p.get("signoff")
                else None,
            }
        )

    digests = sorted(
        {e["payload"]["sha256"] for e in events if e["type"] == "readings_chunk_recorded"}
    )
    points, unreadable = readings_mod.load_points(conn, permit["enterprise_id"], digests)
    profile_name = str(space.get("profile") or "cn-gongmao")
    channels: dict[str, dict[str, Any]] = {}
    for pt in points:
        ch = channels.setdefault(
            pt.channel,
            {"channel": pt.channel, "unit": pt.unit, "points": [], "tests": [], "alarms": []},
        )
        ch["points"].append([_ms(pt.at), pt.value])
    for test in tests:
        for r in test["readings"]:
            ch = channels.setdefault(
                str(r["channel"]),
                {
                    "channel": r["channel"],
                    "unit": r["unit"],
                    "points": [],
                    "tests": [],
                    "alarms": [],
                },
            )
            ch["tests"].append([test["at_ms"], r["value"]])
    for channel, markers in alarm_markers.items():
        if channel in channels:
            channels[channel]["alarms"].extend(markers)
    raw_points: dict[str, dict[str, Any]] = {}
    for ch in channels.values():
        ch["limits"] = _limits(str(ch["channel"]), str(ch["unit"]), profile_name)
        raw_points[str(ch["channel"])] = {"unit": ch["unit"], "points": ch["points"]}
        ch["n"] = len(ch["points"])
        ch["points"] = decimate(ch["points"])
    order = {"O2": 0, "LEL": 1, "H2S": 2, "CO": 3}
    chart = sorted(channels.values(), key=lambda c: (order.get(str(c["channel"]), 9), c["channel"]))

    return {
        "permit": permit,
        "status_label": label(PERMIT_STATUSES, permit["status"], _),
        "enterprise_name": ent.name if ent else permit["enterprise_id"],
        "space": space,
        "work": work,
        "hazards_identified": hazards_identified,
        "people": [
            {
                "person_id": pid,
                "name": info["name"],
                "roles": [label(ROLES, r, _) for r in info["roles"]],
                "role_codes": info["roles"],
            }
            for pid, info in people.items()
        ],
        "timeline": timeline,
        "alarms": alarms,
        "isolations": list(isolations.values()),
        "tests": tests,
        "chart": chart,
        "readings_summary": readings_mod.summarise(points),
        # Every continuous reading by gas (the chart's lines are decimated; the PDF's
        # table is not).
        "raw_points": {c: raw_points[c] for c in [str(ch["channel"]) for ch in chart]},
        "readings": {**t["readings"], "unreadable": unreadable, "points": len(points)},
        "verification": t["verification"],
        "findings": t["findings"],
        "hazards": t["hazards"],
        "conflicts": t["conflicts"],
        "notes": t["notes"],
        "head_hash": events[-1]["hash"] if events else "",
        "devices": sorted(
            {(e["device_id"], device_labels.get(e["device_id"], "")) for e in events}
        ),
        "first_at": local_time(events[0]["occurred_at"]) if events else "",
        "last_at": local_time(events[-1]["occurred_at"]) if events else "",
    }
