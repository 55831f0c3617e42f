"""Lockout-tagout: which isolations count, and who may take a lock off."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from permits.events import IsolationKind, IsolationMethod, IsolationPointTemplate, RemovalException
from permits.loto import point_unmet, removal_unmet
from permits.state import IsolationRecord

AT = datetime(2026, 11, 28, 8, tzinfo=timezone(timedelta(hours=8)))
PIPE = IsolationPointTemplate(point_id="IP-1", kind=IsolationKind.PIPE, hazardous_source=True)


def _lock(
    method: IsolationMethod, lock: str = "L-1", verified_by: str | None = "P-2"
) -> IsolationRecord:
    return IsolationRecord(
        point_id="IP-1",
        lock_id=lock,
        tag_id="T",
        method=method,
        applied_by="P-1",
        applied_at=AT,
        verified_by=verified_by,
    )


def test_no_lock_is_not_applied() -> None:
    assert [u.code for u in point_unmet(PIPE, [])] == ["ISOLATION_NOT_APPLIED"]


def test_blind_flange_verified_by_a_second_person_isolates_a_hazardous_pipe() -> None:
    assert point_unmet(PIPE, [_lock(IsolationMethod.BLIND_FLANGE)]) == []
    assert point_unmet(PIPE, [_lock(IsolationMethod.PIPE_SECTION_REMOVED)]) == []


def test_valve_or_water_seal_alone_is_refused_on_a_hazardous_pipe() -> None:
    for method in (IsolationMethod.CLOSED_VALVE, IsolationMethod.WATER_SEAL):
        assert [u.code for u in point_unmet(PIPE, [_lock(method)])] == ["ISOLATION_INADEQUATE"]
    both = [_lock(IsolationMethod.CLOSED_VALVE), _lock(IsolationMethod.BLIND_FLANGE, "L-2")]
    assert point_unmet(PIPE, both) == []


def test_valve_is_enough_on_a_pipe_without_a_hazardous_source() -> None:
    water = PIPE.model_copy(update={"hazardous_source": False})
    assert point_unmet(water, [_lock(IsolationMethod.CLOSED_VALVE)]) == []


def test_unverified_or_self_verified_lock_is_named() -> None:
    unverified = point_unmet(PIPE, [_lock(IsolationMethod.BLIND_FLANGE, verified_by=None)])
    assert [u.code for u in unverified] == ["ISOLATION_NOT_VERIFIED", "ISOLATION_INADEQUATE"]
    self_checked = point_unmet(PIPE, [_lock(IsolationMethod.BLIND_FLANGE, verified_by="P-1")])
    assert "ISOLATION_NOT_VERIFIED" in [u.code for u in self_checked]


def test_removal_by_owner_or_complete_exception() -> None:
    assert removal_unmet("P-1", "L-1", "P-1", None) == []
    assert [u.code for u in removal_unmet("P-1", "L-1", "P-9", None)] == ["LOCK_REMOVER_NOT_OWNER"]
    partial = RemovalException(
        verified_absent=True, contact_attempted=True, to_be_informed=False, authorised_by="P-0"
    )
    unmet = removal_unmet("P-1", "L-1", "P-9", partial)
    assert [u.code for u in unmet] == ["REMOVAL_EXCEPTION_INCOMPLETE"]
    assert unmet[0].facts["missing"] == "to_be_informed"
    full = partial.model_copy(update={"to_be_informed": True})
    assert removal_unmet("P-1", "L-1", "P-9", full) == []
