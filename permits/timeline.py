"""A permit's history as the core folds it: every event with the state before and after.

Views that tell a permit's story (the server's trace page and PDF, the tablet's history)
read who was inside, the guardian on duty, the isolations in place, the tests and the
active alarms from these states, never from a second hand-written fold over payloads
(docs/architecture.md). An event that does not parse is kept in its place with the state
unchanged, so a damaged record still shows every event it holds.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from permits.errors import InvalidInput
from permits.events import Event, parse_event
from permits.state import PermitState, apply

__all__ = ["Step", "steps", "steps_of_json"]


@dataclass(frozen=True)
class Step:
    """One event and the permit's state around it; ``event`` is None when the stored
    form did not parse (the state then carries over)."""

    event: Event | None
    before: PermitState
    after: PermitState

    @property
    def went_in(self) -> frozenset[str]:
        """Entrants inside after this event and not before it."""
        return self.after.inside - self.before.inside

    @property
    def came_out(self) -> frozenset[str]:
        """Entrants inside before this event and not after it."""
        return self.before.inside - self.after.inside


def steps(events: Iterable[Event | None], state: PermitState | None = None) -> Iterator[Step]:
    """The fold (``permits.state.apply``) one event at a time."""
    current = state or PermitState()
    for event in events:
        after = current if event is None else apply(current, event)
        yield Step(event, current, after)
        current = after


def _parsed(data: Mapping[str, Any]) -> Event | None:
    try:
        return parse_event(data)
    except InvalidInput:
        return None


def steps_of_json(bodies: Iterable[Mapping[str, Any]]) -> Iterator[Step]:
    """:func:`steps` over events in their JSON form (a stored or exported chain)."""
    return steps(_parsed(body) for body in bodies)
