"""The hot-work permit (动火安全作业票), the second permit type (docs/rules.md, Hot work).

* ``data``: levels, gas limits, fire-watch time by profile, holiday calendars;
* ``state``: :class:`HotWorkState`, :class:`HotWorkStatus`, the fold;
* ``codes``: :class:`HotWorkCode`, the reason codes with their messages and remedies;
* ``rules``: the rules and the table registered as :data:`HOT_WORK`;
* ``simops``: a hot-work permit's SIMOPS footprint and acknowledgements;
* ``replay``: :class:`HotWorkSession`, :func:`replay_hot_work` and its findings;
* :func:`alarm_concerns`: whether a gas alarm is near a fire point or in the linked
  space, which suspends the hot work at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from permits.hot_work.codes import HotWorkCode
from permits.hot_work.data import effective_level, hot_work_rules, raise_reasons
from permits.hot_work.rules import HOT_WORK, hot_work_duties
from permits.hot_work.state import (
    HotWorkState,
    HotWorkStatus,
    apply_hot_work,
    distance_to_fire_points,
    fold_hot_work,
    judge_analysis,
)

__all__ = [
    "HOT_WORK",
    "HotWorkCode",
    "HotWorkFinding",
    "HotWorkSession",
    "HotWorkState",
    "HotWorkStatus",
    "alarm_concerns",
    "apply_hot_work",
    "effective_level",
    "fold_hot_work",
    "hot_work_duties",
    "hot_work_findings",
    "hot_work_rules",
    "judge_analysis",
    "raise_reasons",
    "replay_hot_work",
]

if TYPE_CHECKING:
    from permits.hot_work.replay import (
        HotWorkFinding,
        HotWorkSession,
        hot_work_findings,
        replay_hot_work,
    )

# The replay half imports permits.replay, which imports permits.commands, which
# registers this package's table: it is loaded on first use, not with the package.
_LAZY = frozenset({"HotWorkFinding", "HotWorkSession", "hot_work_findings", "replay_hot_work"})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from permits.hot_work import replay

        return getattr(replay, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def alarm_concerns(
    state: HotWorkState,
    *,
    position: tuple[float, float, float] | None = None,
    space_id: str | None = None,
) -> bool:
    """A flammable alarm at ``position`` (site plan, metres) or in ``space_id``
    concerns this hot work: within the data's distance of a fire point, or in the
    linked confined space. The tablet then records ``hot_work_alarm_raised``."""
    if space_id is not None and space_id == state.linked_space_id:
        return True
    if position is None:
        return False
    distance = distance_to_fire_points(state, *position)
    return distance is not None and distance <= hot_work_rules().alarm.near_fire_point_m
