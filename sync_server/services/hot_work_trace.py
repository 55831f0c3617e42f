"""A hot-work permit end to end (一键追溯): the trace page and the PDF in the layout of
GB 30871-2022 Table A.1 (动火安全作业票).

Built like the confined-space trace (``services.trace``) on the API's trace
(``services.permits``: tenancy, verification, findings, hazards) and on the core's fold
of the stored chain (``permits.hot_work.state.apply_hot_work``, event by event): the
level, the people, the analyses' verdicts, the approval, the fire watch are read from
``HotWorkState``, never re-folded from payloads (docs/architecture.md). What an event
recorded (a reading's value, a certificate) comes from the event itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from permits.errors import InvalidInput, Unmet
from permits.events import Event, parse_event
from permits.hot_work.events import HotWorkClosed, HotWorkGasAnalysed, HotWorkRole
from permits.hot_work.state import HotWorkState, apply_hot_work
from sync_server.labels import (
    EVENT_TYPES,
    HOT_WORK_AUTHORITIES,
    HOT_WORK_LEVELS,
    HOT_WORK_RAISE_REASONS,
    HOT_WORK_ROLES,
    LEDGER_FIELDS,
    PERMIT_STATUSES,
    SIMOPS_RULES,
    SIMOPS_VERDICTS,
    Gettext,
    label,
    linked_difference,
    local_time,
)
from sync_server.schema import devices, enterprises
from sync_server.services import names as names_service
from sync_server.services import simops as simops_service
from sync_server.services.hot_work_links import LINK_MISMATCH
from sync_server.services.reference import Kind

_ROLE_ORDER = ("work_leader", "operator", "fire_watcher")


def _t(at: datetime | None) -> str:
    return local_time(at) if at is not None else ""


def _parsed(body: dict[str, Any]) -> Event | None:
    try:
        return parse_event(body)
    except InvalidInput:
        return None


def _person(state: HotWorkState, person_id: str | None) -> str:
    if not person_id:
        return ""
    person = state.people.get(person_id)
    return person.name if person else person_id


def _differences(
    finding: dict[str, Any], _: Gettext, spaces: dict[str, str]
) -> list[dict[str, str]]:
    """What a finding found recorded differently, field by field, in words."""
    fields = (finding.get("facts") or {}).get("fields") or []
    if finding["code"] == LINK_MISMATCH:
        return [linked_difference(d, _, spaces) for d in fields]
    return [  # a ledger mismatch (permits.ledger_check): the tablet's fact, the ledger's
        {
            "field": label(LEDGER_FIELDS, str(d.get("field") or ""), _),
            "recorded": str(d.get("recorded") or ""),
            "server": str(d.get("ledger") or ""),
        }
        for d in fields
    ]


def build_from(
    conn: Connection,
    t: dict[str, Any],
    bodies: list[dict[str, Any]],
    _: Gettext,
) -> dict[str, Any]:
    """The view model of a hot-work permit's trace, from the API's trace and the chain."""
    permit = t["permit"]
    events: list[dict[str, Any]] = t["events"]
    ent = conn.execute(
        sa.select(enterprises.c.name).where(enterprises.c.enterprise_id == permit["enterprise_id"])
    ).first()
    spaces = names_service.item_names(conn, permit["enterprise_id"], Kind.SPACE)
    labels = {
        r.device_id: r.label
        for r in conn.execute(
            sa.select(devices.c.device_id, devices.c.label).where(
                devices.c.enterprise_id == permit["enterprise_id"]
            )
        )
    }
    findings_by_seq: dict[int, list[str]] = {}
    for f in t["findings"]:
        findings_by_seq.setdefault(f["seq"], []).append(f["code"])

    state = HotWorkState()
    timeline = []
    analyses = []
    closed_by = ""
    for e, body in zip(events, bodies, strict=True):
        event = _parsed(body)
        before = state
        state = apply_hot_work(state, event) if event is not None else state
        p = event.payload if event is not None else None
        if isinstance(p, HotWorkGasAnalysed):
            verdict = next((a for a in state.analyses if a.seq == e["seq"]), None)
            point = state.fire_points.get(p.fire_point_id)
            analyses.append(
                {
                    "seq": e["seq"],
                    "at": _t(p.sampled_at),
                    "point": f"{point.location} ({p.fire_point_id})" if point else p.fire_point_id,
                    "readings": "; ".join(f"{r.channel} {r.value:g} {r.unit}" for r in p.readings),
                    # the analyst, and for typed values the second person who countersigned
                    "by": _person(state, p.analysed_by)
                    + (f" / {_person(state, p.countersign.person_id)}" if p.countersign else ""),
                    "detector": p.detector.serial,
                    "acceptable": verdict is not None and verdict.acceptable,
                    # In words, the core's message for each unmet fact (the code beside it).
                    "reasons": [Unmet(str(r.get("code", "")), r).message() for r in verdict.reasons]
                    if verdict is not None
                    else [],
                }
            )
        if isinstance(p, HotWorkClosed):
            closed_by = _person(state, p.signoff.person_id)
        raw = e["payload"] or {}
        signoff = raw.get("signoff") or raw.get("watcher") or {}
        timeline.append(
            {
                "seq": e["seq"],
                "at": local_time(e["occurred_at"]),
                "received_at": local_time(e["received_at"]),
                "type": e["type"],
                "label": label(EVENT_TYPES, e["type"], _),
                "actor": _person(state, e["actor"]),
                "device": labels.get(e["device_id"], e["device_id"]),
                "device_id": e["device_id"],
                # The shared timeline's details: who signed, and the status it led to.
                "summary": " → ".join(
                    x
                    for x in (
                        _person(state, signoff.get("person_id")),
                        label(PERMIT_STATUSES, state.status.value, _)
                        if state.status != before.status
                        else "",
                    )
                    if x
                ),
                "alarm": e["type"] == "hot_work_alarm_raised",
                "hash": e["hash"],
                "clock_flag": e["clock_flag"],
                "findings": findings_by_seq.get(e["seq"], []),
            }
        )

    def with_role(role: str) -> list[dict[str, Any]]:
        ids = sorted(state.with_role(HotWorkRole(role)))
        return [
            {
                "person_id": pid,
                "name": state.people[pid].name if pid in state.people else pid,
                "certificates": [
                    f"{c.kind} {c.number} → {c.valid_until.isoformat()}"
                    for c in (state.people[pid].certificates if pid in state.people else ())
                ],
            }
            for pid in ids
        ]

    level = state.level
    measures = []
    if any(a["acceptable"] for a in analyses):
        measures.append(_("gas analysis at the fire point passed before the fire"))
    if state.monitoring_detector:
        measures.append(
            _("continuous monitoring by detector {serial}").format(serial=state.monitoring_detector)
        )
    if state.fire_watchers:
        measures.append(_("a fire watcher who is not an operator"))
    simops = simops_service.of_permit(conn, permit["enterprise_id"], permit["permit_id"])
    return {
        "permit_type": "hot_work",
        "permit": permit,
        "status_label": label(PERMIT_STATUSES, permit["status"], _),
        "enterprise_name": ent.name if ent else permit["enterprise_id"],
        "level": label(HOT_WORK_LEVELS, level.value, _) if level else "",
        "base_level": label(HOT_WORK_LEVELS, state.base_level.value, _) if state.base_level else "",
        "raised_because": [label(HOT_WORK_RAISE_REASONS, r, _) for r in state.raised_because],
        "fire_points": [
            {
                "point_id": fp.point_id,
                "location": fp.location,
                "xyz": f"{fp.x:g}, {fp.y:g}, {fp.z:g}",
            }
            for fp in state.fire_points.values()
        ],
        "method": state.method,
        "work": state.work_description,
        "planned": f"{_t(state.planned_start)} – {_t(state.planned_end)}",
        "roles": {role: with_role(role) for role in _ROLE_ORDER},
        "role_labels": {role: label(HOT_WORK_ROLES, role, _) for role in _ROLE_ORDER},
        "analyses": analyses,
        "linked": {"permit_id": state.linked_permit_id, "space_id": state.linked_space_id}
        if state.linked_permit_id
        else None,
        "simops": [
            {
                **c,
                "verdict_label": label(SIMOPS_VERDICTS, c["verdict"], _),
                "rules": [label(SIMOPS_RULES, r, _) for r in c["rules"]],
            }
            for c in simops
        ],
        "measures": measures,
        "approval": {
            "by": _person(state, state.approved_by),
            "authority": label(HOT_WORK_AUTHORITIES, state.approver_authority, _)
            if state.approver_authority
            else "",
            "at": _t(state.approved_at),
            "expires_at": _t(state.expires_at),
        },
        "completion": {
            "done_at": _t(state.work_done_at),
            "watch_started_at": _t(state.watch_started_at),
            "watch_confirmed_at": [_t(x) for x in state.watch_confirmed_at],
            "watch_ended_at": _t(state.watch_ended_at),
            "closed_by": closed_by,
        },
        "timeline": timeline,
        "verification": t["verification"],
        "findings": [{**f, "differences": _differences(f, _, spaces)} for f in t["findings"]],
        "hazards": t["hazards"],
        "conflicts": t["conflicts"],
        "notes": t["notes"],
        "head_hash": events[-1]["hash"] if events else "",
        "first_at": local_time(events[0]["occurred_at"]) if events else "",
        "last_at": local_time(events[-1]["occurred_at"]) if events else "",
    }
