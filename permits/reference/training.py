"""Emergency drills and topic trainings, each due at least yearly (MEM13)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Annotated, Protocol

from pydantic import BaseModel, ConfigDict, Field

from permits.reference.rules import add_months, reference_rules

_Id = Annotated[str, Field(min_length=1)]


class EmergencyDrill(BaseModel):
    """An on-site emergency drill (应急演练) for confined-space work."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    enterprise_id: _Id
    held_on: date
    scenario: _Id
    space_ids: tuple[str, ...] = ()
    participants: tuple[str, ...] = ()
    evaluation: str = ""

    def next_due(self) -> date:
        return add_months(self.held_on, reference_rules().drill.max_interval_months)

    def overdue(self, on_date: date) -> bool:
        return on_date > self.next_due()


class TopicTraining(BaseModel):
    """A confined-space topic training session (专题培训) and who attended."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: _Id
    enterprise_id: _Id
    held_on: date
    topic: _Id = "confined_space"
    trainer: str = ""
    participants: tuple[str, ...] = ()

    def next_due(self) -> date:
        return add_months(self.held_on, reference_rules().training.max_interval_months)

    def overdue(self, on_date: date) -> bool:
        return on_date > self.next_due()


class _Dated(Protocol):
    @property
    def held_on(self) -> date: ...

    def overdue(self, on_date: date) -> bool: ...


def latest_overdue(records: Iterable[_Dated], on_date: date) -> bool:
    """Whether the enterprise is overdue: no record at all, or the latest is overdue."""
    held = [r for r in records if r.held_on <= on_date]
    if not held:
        return True
    return max(held, key=lambda r: r.held_on).overdue(on_date)
