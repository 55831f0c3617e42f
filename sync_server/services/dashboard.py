"""Read-only queries behind the dashboard and the enterprise list, always within the
reader's tenancy scope (``services.tenancy``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from sync_server.labels import BEIJING
from sync_server.schema import (
    enterprises,
    findings,
    hazard_actions,
    hazards,
    permit_anomalies,
    permits,
)
from sync_server.security import Principal
from sync_server.services import hazards as hazard_service
from sync_server.services.permits import OPEN_NOW
from sync_server.services.tenancy import scope_filter, visible_enterprises
from sync_server.storage import now_iso

ACTIVE = OPEN_NOW  # the tile's link lists the same permits (status=open)
ALARM_CODES = ("ALARM_RAISED", "EVACUATION_ORDERED")


def enterprise_names(conn: Connection, who: Principal) -> dict[str, str]:
    scope = visible_enterprises(conn, who)
    rows = conn.execute(
        sa.select(enterprises.c.enterprise_id, enterprises.c.name)
        .where(scope_filter(enterprises.c.enterprise_id, scope))
        .order_by(enterprises.c.enterprise_id)
    )
    return {r.enterprise_id: r.name for r in rows}


def today_start_utc(now: datetime | None = None) -> datetime:
    local = (now or datetime.now(UTC)).astimezone(BEIJING)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def dashboard(conn: Connection, who: Principal, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    scope = visible_enterprises(conn, who)
    in_scope = scope_filter(permits.c.enterprise_id, scope)

    def count(*conds: Any) -> int:
        q = sa.select(sa.func.count()).select_from(permits).where(in_scope, *conds)
        return int(conn.execute(q).scalar_one())

    # From the indexed member rows, not a LIKE over every permit's anomalies JSON (a
    # scan of the county's permits on each dashboard load). The member rows carry their
    # permit's enterprise and first_at, so the count and the newest alarmed permits are
    # read from the index alone (migration 0010): looking up each alarmed permit's row
    # to count it cost ~60 ms at 1M permits (docs/performance.md).
    alarm_conds = (
        scope_filter(permit_anomalies.c.enterprise_id, scope),
        permit_anomalies.c.code.in_(ALARM_CODES),
    )
    # The newest 10 alarmed permits: the newest 10 rows of each code (one backward range
    # of the code's index each, where one range over both codes sorted all the county's
    # alarm rows), then the permits' rows. A permit has one row per code, so the newest
    # 10 permits are among them.
    # A permit is (enterprise_id, permit_id): ids are unique per enterprise only.
    member = (permit_anomalies.c.enterprise_id, permit_anomalies.c.permit_id)
    newest = [
        sa.select(*member)
        .where(alarm_conds[0], permit_anomalies.c.code == code)
        .order_by(permit_anomalies.c.first_at.desc(), permit_anomalies.c.permit_id.desc())
        .limit(10)
        .subquery()
        for code in ALARM_CODES
    ]
    newest_alarm_rows = sa.union_all(*(sa.select(q.c.enterprise_id, q.c.permit_id) for q in newest))
    # Then those (at most 20) permits' rows, each by its key. One statement with the
    # pairs as a row-value IN (SELECT …) was planned by SQLite as a walk over every
    # permit of the county, testing each against the subquery: 2.6 s at 1M permits.
    pairs = {(r.enterprise_id, r.permit_id) for r in conn.execute(newest_alarm_rows)}
    alarmed = (
        list(
            conn.execute(
                sa.select(permits)
                .where(
                    in_scope,
                    sa.or_(
                        *(
                            sa.and_(permits.c.enterprise_id == e, permits.c.permit_id == p)
                            for e, p in sorted(pairs)
                        )
                    ),
                )
                .order_by(permits.c.first_at.desc(), permits.c.permit_id.desc())
                .limit(10)
            )
        )
        if pairs
        else []
    )
    # COUNT(DISTINCT a, b) is not SQLite's, and counting a DISTINCT subquery scans its
    # result: one key per pair, read from the covering index ("|" is in no id).
    pair = permit_anomalies.c.enterprise_id + "|" + permit_anomalies.c.permit_id
    alarm_count = int(
        conn.execute(sa.select(sa.func.count(sa.distinct(pair))).where(*alarm_conds)).scalar_one()
    )
    active = list(
        conn.execute(
            sa.select(permits)
            .where(in_scope, permits.c.status.in_(ACTIVE))
            .order_by(permits.c.first_at.desc())
            .limit(20)
        )
    )
    h_scope = scope_filter(hazards.c.enterprise_id, scope)
    open_by_ent = {
        r.enterprise_id: int(r.n)
        for r in conn.execute(
            sa.select(hazards.c.enterprise_id, sa.func.count().label("n"))
            .where(h_scope, hazards.c.status != "closed")
            .group_by(hazards.c.enterprise_id)
        )
    }
    overdue = list(
        conn.execute(
            sa.select(hazards)
            .where(
                h_scope,
                hazards.c.status == "planned",
                hazards.c.deadline.is_not(None),
                hazards.c.deadline < now_iso(now),
            )
            .order_by(hazards.c.deadline)
        )
    )
    f_scope = scope_filter(findings.c.enterprise_id, scope)
    finding_count = int(
        conn.execute(sa.select(sa.func.count()).select_from(findings).where(f_scope)).scalar_one()
    )
    latest_findings = list(
        conn.execute(
            sa.select(findings).where(f_scope).order_by(findings.c.created_at.desc()).limit(10)
        )
    )
    return {
        # A draft is not a started job; the findings tile counts the permits the server's
        # checks flagged, the same permits its link lists (``anomaly=true``).
        "today": count(
            permits.c.first_at >= now_iso(today_start_utc(now)), permits.c.status != "draft"
        ),
        "active_count": count(permits.c.status.in_(ACTIVE)),
        "active": active,
        "alarm_count": alarm_count,
        "alarmed": alarmed,
        "open_by_enterprise": open_by_ent,
        "open_total": sum(open_by_ent.values()),
        "overdue": [r for r in overdue if hazard_service.is_overdue(r, now)],
        "finding_count": count(permits.c.has_anomaly.is_(True)),
        "findings_total": finding_count,
        "findings": latest_findings,
        "series": open_hazards_series(conn, who, now),
    }


def open_hazards_series(
    conn: Connection, who: Principal, now: datetime | None = None, days: int = 30
) -> list[dict[str, Any]]:
    """Open major hazards at the end of each of the last ``days`` days (Beijing dates):
    filed by then and not yet closed (销号) by then. 动态清零 drives this line to zero."""
    now = now or datetime.now(UTC)
    scope = visible_enterprises(conn, who)
    filed = {
        r.hazard_id: r.created_at
        for r in conn.execute(
            sa.select(hazards.c.hazard_id, hazards.c.created_at).where(
                scope_filter(hazards.c.enterprise_id, scope)
            )
        )
    }
    closed: dict[str, str] = {}
    for r in conn.execute(
        sa.select(hazard_actions.c.hazard_id, hazard_actions.c.at).where(
            scope_filter(hazard_actions.c.enterprise_id, scope),
            hazard_actions.c.action == "hazard_closed",
        )
    ):
        closed[r.hazard_id] = r.at
    today: date = now.astimezone(BEIJING).date()
    out = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        end = datetime(day.year, day.month, day.day, tzinfo=BEIJING) + timedelta(days=1)
        end_iso = now_iso(min(end, now))
        n = sum(
            1
            for hid, created in filed.items()
            if created < end_iso and not (hid in closed and closed[hid] < end_iso)
        )
        out.append({"date": day.isoformat(), "open": n})
    return out
