"""One permit end to end (一键追溯), arranged for people: the trace page and the PDF.

Built on the API's trace (``services.permits``: tenancy, chain verification, findings,
hazards) plus the readings chunks and device labels, arranged here into what a reviewer
asks: who was there, in which role; what was isolated; what the gas did and what the
limits were; who was inside when an alarm went off; is the record intact. The story is
the core's fold of the stored chain (``permits.timeline``), never a second fold of the
payloads (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from permits.atmosphere import entry_limits
from permits.events import (
    AlarmRaised,
    AtmosphereTestRecorded,
    IsolationApplied,
    IsolationRemoved,
    IsolationVerified,
)
from permits.profiles import load_profile
from permits.readings import Channel, Unit
from permits.state import PermitState
from permits.timeline import Step, steps_of_json
from sync_server.labels import (
    CERTIFICATE_TYPES,
    EQUIPMENT,
    EVENT_TYPES,
    ISOLATION_METHODS,
    LEDGER_FIELDS,
    PERMIT_STATUSES,
    ROLES,
    SAMPLE_POINTS,
    Gettext,
    label,
    labels,
    local_time,
    parse_time,
)
from sync_server.schema import devices, enterprises
from sync_server.security import Principal
from sync_server.services import hot_work_trace, permit_lookup
from sync_server.services import names as names_service
from sync_server.services import readings as readings_mod
from sync_server.services.permits import trace_and_chain

# Limits drawn on each channel's chart: the ones a reviewer compares the trend with.
_CHART_LIMIT_CODES = {"O2_LOW", "O2_HIGH", "FLAMMABLE_HIGH", "TOXIC_HIGH"}


def _ms(at: datetime | None) -> int | None:
    return None if at is None else int(at.timestamp() * 1000)


def _limits(channel: str, unit: str, profile_name: str) -> list[dict[str, Any]]:
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
    return str(person["name"]) if person else person_id


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
        where = space.get("name") or space.get("space_id", "")
        return f"{where}: {p.get('work_description', '')}"
    if kind == "role_assigned":
        person = p.get("person") or {}
        role = label(ROLES, p.get("role"), _)
        return f"{role}: {person.get('name') or person.get('person_id', '')}"
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
        items = labels(EQUIPMENT, p.get("items") or [], _)
        return f"{items} — {_name(people, p.get('confirmed_by'))}"
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
            f"({_('limit')} {p.get('limit', '')}) {_('at point')} "
            f"{label(SAMPLE_POINTS, p.get('point', ''), _)}"
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


def _shown(value: Any, _: Gettext) -> str:
    """A snapshot value of the ledger cross-check as a reader reads it."""
    if value is None or value == []:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return "、".join(_shown(v, _) for v in value)
    if isinstance(value, dict):
        if "kind" in value and "valid_until" in value:  # a certificate
            kind = label(CERTIFICATE_TYPES, value["kind"], _)
            return f"{kind} {value.get('number', '')} → {value['valid_until']}"
        if "contractor_id" in value:  # a contractor snapshot
            if value.get("registered") is False:
                return _("{contractor}: not a registered contractor").format(
                    contractor=value["contractor_id"]
                )
            return _("{name}: contract {start} – {end}; blacklisted {since}").format(
                name=value.get("name") or value["contractor_id"],
                start=value.get("contract_valid_from") or "—",
                end=value.get("contract_valid_until") or "—",
                since=value.get("blacklisted_on") or "—",
            )
        if "delegation_id" in value:  # a written delegation
            return _("{document}: {start} – {end}").format(
                document=value.get("document_ref") or value["delegation_id"],
                start=value.get("valid_from") or "—",
                end=value.get("valid_until") or "—",
            )
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    text = str(value)
    return local_time(text) if "T" in text and len(text) > 18 else text


def ledger_checks(
    found: list[dict[str, Any]], events: list[dict[str, Any]], _: Gettext
) -> dict[str, list[dict[str, Any]]]:
    """The ledger cross-check side by side: per disagreement, what the tablet recorded and
    what the server's ledger said at the event's time; and what the core's rules would
    have refused on the ledger's facts (docs/server.md)."""
    kinds = {e["seq"]: e["type"] for e in events}
    rows = []
    refusals = []
    for f in found:
        facts = f.get("facts") or {}
        if str(f["code"]).startswith("LEDGER_MISMATCH_"):
            subject = facts.get("name") or facts.get("subject", "")
            if facts.get("name") and facts.get("subject") != facts.get("name"):
                subject = f"{facts['name']} ({facts.get('subject', '')})"
            for item in facts.get("fields") or []:
                unknown = not item.get("field")
                rows.append(
                    {
                        "seq": f["seq"],
                        "event": label(EVENT_TYPES, kinds.get(f["seq"], ""), _),
                        "code": f["code"],
                        "subject": subject,
                        "field": label(LEDGER_FIELDS, item.get("field", ""), _),
                        "recorded": _("yes") if unknown else _shown(item.get("recorded"), _),
                        "ledger": _("not in the ledger")
                        if unknown
                        else _shown(item.get("ledger"), _),
                    }
                )
        elif facts.get("basis") == "ledger":
            refusals.append(
                {
                    "seq": f["seq"],
                    "event": label(EVENT_TYPES, kinds.get(f["seq"], ""), _),
                    "code": f["code"],
                    "message": facts.get("message", ""),
                    "hazard_id": f.get("hazard_id"),
                }
            )
    drafted = next((e for e in events if e["type"] == "drafted"), None)
    as_of = ((drafted or {}).get("payload") or {}).get("ledger_as_of")
    return {
        "mismatches": rows,
        "refusals": refusals,
        # When the tablet last pulled its ledger copy (a current tablet records it).
        "ledger_as_of": local_time(as_of) if as_of else "",
    }


def _device_labels(conn: Connection, enterprise_id: str) -> dict[str, str]:
    rows = conn.execute(
        sa.select(devices.c.device_id, devices.c.label).where(
            devices.c.enterprise_id == enterprise_id
        )
    )
    return {r.device_id: r.label for r in rows}


def _samples(payload: AtmosphereTestRecorded) -> list[dict[str, Any]]:
    """The sample points of a recorded test, as the device recorded them."""
    test = payload.test
    document = test if isinstance(test, Mapping) else test.model_dump(mode="json")
    return list(document.get("samples") or [])


def _people(history: list[Step]) -> dict[str, dict[str, Any]]:
    """Everyone given a role, in the order of their first role, with their roles in the
    order they were assigned (the fold's roster)."""
    people: dict[str, dict[str, Any]] = {}
    for step in history:
        for role, ids in step.after.roles.items():
            for pid in sorted(ids - step.before.roles.get(role, frozenset())):
                entry = people.setdefault(pid, {"name": step.after.people[pid].name, "roles": []})
                entry["roles"].append(role.value)
    return people


def build(
    conn: Connection,
    who: Principal,
    permit_id: str,
    _: Gettext,
    enterprise_id: str | None = None,
) -> dict[str, Any]:
    """The trace view model; another tenant's or an unknown permit raises NotFound, an
    id several of a bureau reviewer's enterprises hold without ``enterprise_id`` a
    Conflict (``permit_lookup``). ``links`` is the query the page's and the PDF's own
    links to this permit carry for ``who``.

    Who was inside when, the guardian on duty, the isolations, the tests and the alarms
    come from the core's fold (``permits.timeline``), event by event; the recorded
    facts of an event (an alarm's reading, a test's samples) from the event itself."""
    t, bodies = trace_and_chain(conn, who, permit_id, enterprise_id)
    links = permit_lookup.enterprise_query(who, t["permit"]["enterprise_id"])
    if t["permit"].get("permit_type") == "hot_work":
        # The second permit type has its own story (GB 30871 Table A.1).
        return {**hot_work_trace.build_from(conn, t, bodies, _), "links": links}
    permit = t["permit"]
    events: list[dict[str, Any]] = t["events"]
    ent = conn.execute(
        sa.select(enterprises.c.name).where(enterprises.c.enterprise_id == permit["enterprise_id"])
    ).first()
    device_labels = _device_labels(conn, permit["enterprise_id"])
    history = list(steps_of_json(bodies))
    final = history[-1].after if history else PermitState()
    people = _people(history)
    # Who acted before any role was theirs (a draft) is named from the ledger, not by id.
    ledger = names_service.person_names(conn, permit["enterprise_id"])
    named = {**{pid: {"name": name} for pid, name in ledger.items()}, **people}
    space: dict[str, Any] = final.space.model_dump(mode="json") if final.space else {}

    findings_by_seq: dict[int, list[str]] = {}
    for f in t["findings"]:
        findings_by_seq.setdefault(f["seq"], []).append(f["code"])

    inside: list[str] = []  # the fold's set, in the order they went in
    timeline = []
    alarms: list[dict[str, Any]] = []
    isolations: dict[str, dict[str, Any]] = {}
    tests = []
    alarm_markers: dict[str, list[dict[str, Any]]] = {}
    first_at = parse_time(events[0]["occurred_at"]) if events else None
    for e, step in zip(events, history, strict=True):
        raw = e["payload"] or {}
        kind = e["type"]
        at = parse_time(e["occurred_at"])
        p = step.event.payload if step.event is not None else None
        inside = [x for x in inside if x not in step.came_out] + sorted(step.went_in)
        if isinstance(p, IsolationApplied | IsolationVerified | IsolationRemoved):
            held = step.before.isolations.get(p.lock_id)
            record = step.after.isolations.get(p.lock_id)
            shown = record or held
            if shown is not None:
                row = isolations.setdefault(
                    p.lock_id, {"point_id": shown.point_id, "lock_id": shown.lock_id}
                )
                if isinstance(p, IsolationApplied) and record is not None:
                    row.update(
                        method=label(ISOLATION_METHODS, record.method.value, _),
                        tag_id=record.tag_id,
                        applied_by=_name(named, record.applied_by),
                        applied_at=local_time(record.applied_at),
                    )
                elif isinstance(p, IsolationVerified) and record and record.verified_at:
                    row.update(
                        verified_by=_name(named, record.verified_by),
                        verified_at=local_time(record.verified_at),
                    )
                elif isinstance(p, IsolationRemoved) and held is not None and record is None:
                    row.update(removed_by=_name(named, p.removed_by), removed_at=local_time(at))
        elif isinstance(p, AtmosphereTestRecorded):
            recorded = step.after.test_by_seq(e["seq"])
            for sample in _samples(p) if recorded is not None else []:
                tests.append(
                    {
                        "seq": e["seq"],
                        "at": local_time(sample.get("taken_at") or at),
                        "at_ms": _ms(parse_time(sample.get("taken_at")) or at),
                        "point": sample.get("point", ""),
                        "detector": recorded.detector_serial,
                        "by": _name(named, recorded.tested_by),
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
        elif isinstance(p, AlarmRaised) and (raised := step.after.alarms.get(p.alarm_id)):
            # The reading as the device recorded it; who was there from the fold.
            alarm = {
                "seq": raised.seq,
                "alarm_id": raised.alarm_id,
                "at": local_time(raised.raised_at),
                "channel": raw.get("channel"),
                "value": raw.get("value"),
                "limit": raw.get("limit"),
                "unit": raw.get("unit"),
                "point": raw.get("point"),
                "inside": [_name(named, x) for x in inside],
                "guardian": _name(named, step.after.guardian),
                "device": device_labels.get(e["device_id"], e["device_id"]),
                "cleared_at": "",
                "evacuation_at": "",
                "exits": [],
            }
            alarms.append(alarm)
            if raised.channel:
                alarm_markers.setdefault(raised.channel, []).append(
                    {
                        "x": _ms(raised.raised_at),
                        "y": raw.get("value"),
                        "label": f"{_('Alarm')} {alarm['alarm_id']}",
                    }
                )
        cleared = step.before.alarms.keys() - step.after.alarms.keys()
        for a in alarms:
            if a["alarm_id"] in cleared and not a["cleared_at"]:
                a["cleared_at"] = local_time(at)
        if kind == "evacuation_ordered":
            for a in alarms:
                if not a["evacuation_at"]:
                    a["evacuation_at"] = local_time(at)
        for person in sorted(step.came_out):
            for a in alarms:
                if not a["cleared_at"]:
                    a["exits"].append(f"{_name(named, person)} {local_time(at)}")
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
                "actor": _name(named, e["actor"]),
                "device": device_labels.get(e["device_id"], ""),
                "device_id": e["device_id"],
                "summary": _summary(kind, raw, named, _),
                "hash": e["hash"],
                "clock_flag": e["clock_flag"],
                "findings": findings_by_seq.get(e["seq"], []),
                "alarm": kind in ("alarm_raised", "evacuation_ordered"),
                "signoff": {
                    "person": _name(named, (raw.get("signoff") or {}).get("person_id")),
                    "meaning": (raw.get("signoff") or {}).get("meaning", ""),
                    "pin_verified": bool((raw.get("signoff") or {}).get("pin_verified")),
                }
                if raw.get("signoff")
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
        "links": links,
        "status_label": label(PERMIT_STATUSES, permit["status"], _),
        "enterprise_name": ent.name if ent else permit["enterprise_id"],
        "space": space,
        "work": final.work_description,
        "hazards_identified": list(final.permit_hazards),
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
        "ledger_checks": ledger_checks(t["findings"], events, _),
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
