"""A hot-work permit seen by the SIMOPS check (:mod:`permits.simops`): its footprint
and the acknowledgements its approver signed in its chain."""

from __future__ import annotations

from collections.abc import Iterable

from permits.hot_work.state import HotWorkState
from permits.simops import (
    Acknowledgement,
    Activity,
    Footprint,
    Point,
    WorkType,
    signed_acknowledgements,
)

__all__ = ["hot_work_acknowledgements", "hot_work_footprint"]


def hot_work_footprint(
    state: HotWorkState,
    *,
    equipment: Iterable[str] = (),
    isolation_points: Iterable[str] = (),
    pipelines: Iterable[str] = (),
) -> Footprint:
    """The planned window, the fire points and the linked space of a drafted permit
    (what the permit does not record, such as equipment, is given by the caller)."""
    if state.permit_id is None or state.planned_start is None or state.planned_end is None:
        raise ValueError("the hot-work permit has not been drafted")
    level = state.level
    return Footprint(
        permit_id=state.permit_id,
        type=WorkType.HOT_WORK,
        start=state.planned_start,
        end=state.planned_end,
        activities=frozenset({Activity.HOT_WORK}),
        points=tuple(Point(f.x, f.y, f.z) for f in state.fire_points.values()),
        level=level.value if level else None,
        space_id=state.linked_space_id,
        equipment=frozenset(equipment),
        isolation_points=frozenset(isolation_points),
        pipelines=frozenset(pipelines),
        approver=state.approved_by,
        linked_permit_id=state.linked_permit_id,
    )


def hot_work_acknowledgements(state: HotWorkState) -> tuple[Acknowledgement, ...]:
    return signed_acknowledgements(state.permit_id, state.acknowledgements)
