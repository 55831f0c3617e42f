"""The permit-type seam: what a kind of permit declares so the commands can run it.

A :class:`PermitType` is data: its name, its statuses, the status a permit has
before its first event, the event that opens it, and ONE table
``event type -> Step(allowed statuses, rule)``. :func:`permits.commands.check`
finds the type that owns an event's type (:func:`permit_type_of`), runs the
checks every permit shares (right permit, next sequence number, a status the
event is allowed in) and then the type's own rule.

Confined space (:mod:`permits.commands.confined_space`) is the first type
registered. A second type (hot work: its own events, statuses and rules, linked
to a confined-space permit that must be active) is a new module that builds its
own table from its own rule functions and calls :func:`register_permit_type`,
plus one import in the facade (``permits/commands/__init__.py``); its event
types and payloads are added to :mod:`permits.events` and its fold next to
:mod:`permits.state`. Nothing in the confined-space rules changes: an event type
belongs to exactly one permit type, and registering a type that claims an event
type already owned is refused.

A rule sees only its own permit's state, so a link to another permit (hot work
needs an active confined-space permit) is judged on a snapshot the command
carries, the way payloads already carry people and spaces: a chain still replays
with no outside lookup, and the server can compare the snapshot with the linked
chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from permits.errors import Unmet
from permits.events import EventType

__all__ = [
    "FoldedPermit",
    "PermitType",
    "Rule",
    "Step",
    "permit_type_of",
    "permit_types",
    "register_permit_type",
]


class FoldedPermit(Protocol):
    """What the shared checks read from any permit type's folded state."""

    @property
    def permit_id(self) -> str | None: ...

    @property
    def seq(self) -> int: ...

    @property
    def status(self) -> StrEnum: ...

    def status_at(self, at: datetime) -> StrEnum: ...


# A rule gets the state just before the event, the event's payload (of the class its
# event type names: permits.events.Event checks that) and the instant it is judged at,
# and returns every condition the event does not meet (empty: allowed).
Rule = Callable[[Any, Any, datetime], list[Unmet]]


@dataclass(frozen=True)
class Step:
    """One row of a permit type's table: where an event may be recorded, and its rule."""

    allowed: frozenset[StrEnum]
    rule: Rule
    # The status compared with ``allowed``: the one at the event's instant (expiry
    # included), or the folded one for an event whose rule reads the clock itself.
    status_at_instant: bool = True


@dataclass(frozen=True, eq=False)  # one object per type: compared and hashed by identity
class PermitType:
    name: str
    statuses: frozenset[StrEnum]
    initial: StrEnum  # the status before the permit's first event
    opening: EventType  # the event that creates a permit of this type
    table: Mapping[EventType, Step]

    def __post_init__(self) -> None:
        if self.opening not in self.table:
            raise ValueError(f"{self.name}: the opening event {self.opening} has no step")
        for event_type, step in self.table.items():
            if not step.allowed <= self.statuses:
                raise ValueError(f"{self.name}: {event_type} allowed in unknown statuses")
        if self.table[self.opening].allowed != frozenset({self.initial}):
            raise ValueError(f"{self.name}: the opening event is allowed only before any event")

    def step(self, event_type: EventType) -> Step:
        return self.table[event_type]


_BY_EVENT: dict[EventType, PermitType] = {}
_TYPES: dict[str, PermitType] = {}


def register_permit_type(permit_type: PermitType) -> PermitType:
    """Make ``permit_type`` the owner of its event types (each has exactly one owner)."""
    if permit_type.name in _TYPES:
        raise ValueError(f"permit type {permit_type.name} is already registered")
    taken = sorted(t.value for t in permit_type.table if t in _BY_EVENT)
    if taken:
        raise ValueError(f"{permit_type.name}: event types already owned: {', '.join(taken)}")
    _TYPES[permit_type.name] = permit_type
    for event_type in permit_type.table:
        _BY_EVENT[event_type] = permit_type
    return permit_type


def permit_type_of(event_type: EventType) -> PermitType:
    """The registered permit type whose table holds ``event_type``."""
    return _BY_EVENT[event_type]


def permit_types() -> tuple[PermitType, ...]:
    return tuple(_TYPES.values())
