"""The hot-work permit (动火安全作业票), the second permit type (docs/rules.md, Hot work).

* ``events``: its payloads (registered with :func:`permits.events.register_payloads`);
* ``data``: levels, gas limits, fire-watch time by profile, holiday calendars;
* ``state``: :class:`HotWorkState`, :class:`HotWorkStatus`, the fold, and
  :func:`alarm_concerns` (a gas alarm near a fire point or in the linked space, which
  suspends the hot work at once);
* ``codes``: :class:`HotWorkCode`, the reason codes with their messages and remedies;
* ``rules``: the rules and the table registered as :data:`HOT_WORK`;
* ``simops``: a hot-work permit's SIMOPS footprint and acknowledgements;
* ``replay``: :class:`HotWorkSession`, :func:`replay_hot_work` and its findings.

The names below load their module on first use: :mod:`permits.events` imports
``permits.hot_work.events`` to register the payloads, and must not pull in the rules,
the commands and the replay with it.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from permits.hot_work.codes import HotWorkCode
    from permits.hot_work.data import effective_level, hot_work_rules, raise_reasons
    from permits.hot_work.replay import (
        HotWorkFinding,
        HotWorkSession,
        hot_work_findings,
        replay_hot_work,
    )
    from permits.hot_work.rules import HOT_WORK, hot_work_duties
    from permits.hot_work.state import (
        HotWorkState,
        HotWorkStatus,
        alarm_concerns,
        apply_hot_work,
        fold_hot_work,
        judge_analysis,
    )

_WHERE = {
    "HotWorkCode": "codes",
    "effective_level": "data",
    "hot_work_rules": "data",
    "raise_reasons": "data",
    "HotWorkFinding": "replay",
    "HotWorkSession": "replay",
    "hot_work_findings": "replay",
    "replay_hot_work": "replay",
    "HOT_WORK": "rules",
    "hot_work_duties": "rules",
    "HotWorkState": "state",
    "HotWorkStatus": "state",
    "alarm_concerns": "state",
    "apply_hot_work": "state",
    "fold_hot_work": "state",
    "judge_analysis": "state",
}
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


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"permits.hot_work.{module}"), name)
