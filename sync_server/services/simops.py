"""Server-wide SIMOPS (交叉作业): the core's check (``permits.simops``) across every open
permit of an enterprise, whichever tablet wrote it (docs/rules.md, Simultaneous
operations; docs/server.md).

Each permit's footprint is taken from the core's fold when it is pushed and kept on its
``permits`` row (migration 0005): a hot-work permit's from
``permits.hot_work.simops.hot_work_footprint``, a confined-space permit's from
``permits.confined_space_footprint`` (its space and its isolation points, over its
validity once approved), with the acknowledgements each chain carries. On every push that
changes a footprint the enterprise's open footprints are checked again, and the
conflicts still standing (``permits.simops.unresolved``) replace the enterprise's rows
of ``simops_conflicts``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from permits.confined_space_footprint import (
    confined_space_acknowledgements,
    confined_space_footprint,
)
from permits.hot_work.simops import hot_work_acknowledgements, hot_work_footprint
from permits.hot_work.state import HOT_WORK_TERMINAL, HotWorkState, HotWorkStatus
from permits.simops import Acknowledgement, Activity, Footprint, Point, WorkType, unresolved
from permits.state import TERMINAL, PermitState
from sync_server.errors import Forbidden
from sync_server.i18n import gettext as _
from sync_server.schema import permits, simops_conflicts
from sync_server.security import Principal, Role
from sync_server.services.tenancy import require_visible, scope_filter, visible_enterprises
from sync_server.storage import now_iso

# The statuses of a permit that takes part in no conflict (its row keeps no footprint).
CLOSED_STATUSES = sorted(
    {s.value for s in TERMINAL} | {s.value for s in HOT_WORK_TERMINAL} | {HotWorkStatus.EXPIRED}
)


def footprint_of(state: Any, now: datetime) -> dict[str, Any] | None:
    """The footprint (and the acknowledgements) to keep on the permit's row, as JSON;
    None for a closed permit or one that has not declared enough yet."""
    if isinstance(state, HotWorkState):
        status = state.status_at(now)
        if (
            status in HOT_WORK_TERMINAL
            or status is HotWorkStatus.EXPIRED
            or not state.planned_start
        ):
            return None
        footprint = hot_work_footprint(state)
        acks = [a.__dict__ for a in hot_work_acknowledgements(state)]

    elif isinstance(state, PermitState):
        # Once approved, over its validity; the core's footprint, the one the tablet
        # builds, so the digests its acknowledgements are bound to agree.
        if state.status_at(now) in TERMINAL or state.approved_at is None:
            return None
        footprint = confined_space_footprint(state, now)
        acks = [a.__dict__ for a in confined_space_acknowledgements(state)]
    else:
        return None
    data = footprint.as_json()
    data["window"] = [footprint.start.isoformat(), footprint.end.isoformat()]
    out: dict[str, Any] = {"footprint": data, "acknowledgements": acks}
    if footprint.linked_permit_id:
        out["linked_permit_id"] = footprint.linked_permit_id
    return out


def _footprint(data: dict[str, Any], linked_permit_id: str | None) -> Footprint:
    start, end = (datetime.fromisoformat(t) for t in data["window"])
    return Footprint(
        permit_id=data["id"],
        type=WorkType(data["type"]),
        start=start,
        end=end,
        activities=frozenset(Activity(a) for a in data["activities"]),
        points=tuple(Point(*p) for p in data["points"]),
        level=data.get("level"),
        space_id=data.get("space_id"),
        equipment=frozenset(data.get("equipment") or ()),
        isolation_points=frozenset(data.get("isolation_points") or ()),
        pipelines=frozenset(data.get("pipelines") or ()),
        approver=data.get("approver"),
        linked_permit_id=linked_permit_id,
    )


def refresh(conn: Connection, enterprise_id: str, now: datetime) -> None:
    """Check the enterprise's open permits against each other and keep what stands."""
    rows = conn.execute(
        sa.select(permits.c.footprint).where(
            permits.c.enterprise_id == enterprise_id,
            permits.c.footprint.is_not(None),
            permits.c.status.not_in(CLOSED_STATUSES),
        )
    )
    kept = [r.footprint for r in rows if r.footprint]
    # The link kept beside the footprint: a hot job and its linked confined-space permit
    # are one job, never a conflict (the core's permits.simops.one_job, as on the tablet).
    footprints = [_footprint(k["footprint"], k.get("linked_permit_id")) for k in kept]
    acks = [Acknowledgement(**a) for k in kept for a in k.get("acknowledgements") or ()]
    found = unresolved(footprints, acks)
    conn.execute(simops_conflicts.delete().where(simops_conflicts.c.enterprise_id == enterprise_id))
    if found:
        at = now_iso(now)
        conn.execute(
            simops_conflicts.insert(),
            [
                {
                    "enterprise_id": enterprise_id,
                    "permit_a": c.permits[0],
                    "permit_b": c.permits[1],
                    "verdict": c.verdict.value,
                    "rules": list(c.rules),
                    "distance_m": None if c.distance_m is None else round(c.distance_m, 3),
                    "found_at": at,
                }
                for c in found
            ],
        )


def _types(conn: Connection, rows: Sequence[Any]) -> dict[tuple[str, str], str]:
    # A conflict's two permits are its enterprise's (ids are unique per enterprise).
    keys = {(r.enterprise_id, p) for r in rows for p in (r.permit_a, r.permit_b)}
    if not keys:
        return {}
    found = conn.execute(
        sa.select(permits.c.enterprise_id, permits.c.permit_id, permits.c.permit_type).where(
            sa.tuple_(permits.c.enterprise_id, permits.c.permit_id).in_(sorted(keys))
        )
    )
    return {(r.enterprise_id, r.permit_id): r.permit_type for r in found}


def _listed(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """The rows, each with its two permits' types (the pages name them)."""
    types = _types(conn, rows)
    return [
        {
            **_out(r),
            "types": [types.get((r.enterprise_id, p), "") for p in (r.permit_a, r.permit_b)],
        }
        for r in rows
    ]


def _out(row: Any) -> dict[str, Any]:
    return {
        "enterprise_id": row.enterprise_id,
        "permits": [row.permit_a, row.permit_b],
        "verdict": row.verdict,
        "rules": list(row.rules),
        "distance_m": row.distance_m,
        "found_at": row.found_at,
    }


def standing(conn: Connection, enterprise_id: str) -> list[dict[str, Any]]:
    """The enterprise's standing conflicts, for its own tablets' reference pull."""
    rows = conn.execute(
        sa.select(simops_conflicts)
        .where(simops_conflicts.c.enterprise_id == enterprise_id)
        .order_by(simops_conflicts.c.permit_a, simops_conflicts.c.permit_b)
    ).all()
    return _listed(conn, rows)


def of_enterprise(conn: Connection, who: Principal, enterprise_id: str) -> list[dict[str, Any]]:
    """The enterprise's standing SIMOPS conflicts (another tenant's: NotFound). Its
    tablets read them too; the provincial feed does not."""
    require_visible(conn, who, enterprise_id)
    if who.role is Role.AGGREGATOR:
        raise Forbidden(_("this account's role may not do this"), code="ROLE_FORBIDDEN")
    return standing(conn, enterprise_id)


def visible(conn: Connection, who: Principal) -> list[dict[str, Any]]:
    """Every standing conflict of the enterprises ``who`` may read (the bureau's page)."""
    scope = visible_enterprises(conn, who)
    rows = conn.execute(
        sa.select(simops_conflicts)
        .where(scope_filter(simops_conflicts.c.enterprise_id, scope))
        .order_by(
            simops_conflicts.c.enterprise_id,
            simops_conflicts.c.permit_a,
            simops_conflicts.c.permit_b,
        )
    ).all()
    return _listed(conn, rows)


def of_permit(conn: Connection, enterprise_id: str, permit_id: str) -> list[dict[str, Any]]:
    """The standing conflicts one permit is part of (its trace)."""
    rows = conn.execute(
        sa.select(simops_conflicts).where(
            simops_conflicts.c.enterprise_id == enterprise_id,
            sa.or_(
                simops_conflicts.c.permit_a == permit_id, simops_conflicts.c.permit_b == permit_id
            ),
        )
    )
    return [_out(r) for r in rows]
