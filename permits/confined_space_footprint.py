"""A confined-space permit seen by the SIMOPS check (:mod:`permits.simops`): its space,
its isolation points and its validity window (docs/rules.md, SIMOPS), and the
acknowledgements its approver signed in its chain (``simops_acknowledged``).

The tablet and the server build the footprint with this one function: an
acknowledgement is bound to the pair's digest, so both must see the same footprint
for an acknowledgement made on a tablet to clear the conflict on the server too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from permits.simops import (
    Acknowledgement,
    Activity,
    Footprint,
    Point,
    WorkType,
    signed_acknowledgements,
)
from permits.state import PermitState

__all__ = ["confined_space_acknowledgements", "confined_space_footprint"]


def confined_space_footprint(
    state: PermitState,
    now: datetime,
    *,
    points: Iterable[tuple[float, float, float]] = (),
    equipment: Iterable[str] = (),
) -> Footprint:
    """From approval (or ``now`` before it) to expiry (or ``now`` plus the validity);
    the site-plan points and the equipment are the caller's (the snapshot has none)."""
    if state.permit_id is None or state.space is None:
        raise ValueError("the confined-space permit has not been drafted")
    start = state.approved_at or now
    end = state.expires_at or start + state.validity
    if end <= start:
        end = start  # an empty window overlaps nothing
    return Footprint(
        permit_id=state.permit_id,
        type=WorkType.CONFINED_SPACE,
        start=start,
        end=end,
        activities=frozenset({Activity.CONFINED_SPACE_ENTRY}),
        points=tuple(Point(*p) for p in points),
        space_id=state.space.space_id,
        equipment=frozenset(equipment),
        isolation_points=frozenset(p.point_id for p in state.space.isolation_points),
        approver=state.approved_by,
    )


def confined_space_acknowledgements(state: PermitState) -> tuple[Acknowledgement, ...]:
    return signed_acknowledgements(state.permit_id, state.simops_acknowledgements)
