"""SIMOPS (交叉作业): the pair rules at their boundaries, the check's properties, and
clearing a conditional conflict (docs/rules.md, Simultaneous operations)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from permits.errors import InvalidInput
from permits.simops import (
    Acknowledgement,
    Activity,
    Footprint,
    Point,
    Verdict,
    WorkType,
    conflicts,
    is_cleared,
    isolation_removal_blockers,
    pair_digest,
    parse_plan,
    simops_rules,
    unresolved,
)

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 12, 2, 8, 0, tzinfo=CST)


def fp(
    pid: str,
    *activities: Activity,
    kind: WorkType = WorkType.GENERAL,
    at: tuple[float, float, float] = (0, 0, 0),
    start: datetime = T0,
    hours: float = 4,
    **extra: object,
) -> Footprint:
    return Footprint(
        permit_id=pid,
        type=kind,
        start=start,
        end=start + timedelta(hours=hours),
        activities=frozenset(activities),
        points=(Point(*at),),
        **extra,  # type: ignore[arg-type]
    )


HOT = Activity.HOT_WORK

# One row per distance rule: (rule id, the other activity, N metres).
DISTANCE_RULES = [
    ("hot_work_near_flammable_gas_venting", Activity.FLAMMABLE_GAS_VENTING, 30),
    ("hot_work_near_flammable_liquid_transfer", Activity.FLAMMABLE_LIQUID_TRANSFER, 15),
    ("hot_work_near_painting", Activity.PAINTING, 10),
    ("hot_work_near_solvent_cleaning", Activity.SOLVENT_CLEANING, 10),
    ("hot_work_near_dust_sweeping", Activity.DUST_SWEEPING, 10),
    ("hot_work_near_blind_plate", Activity.BLIND_PLATE, 30),
]


def test_the_table_has_every_rule_of_the_data_with_a_source() -> None:
    rules = simops_rules().rules
    assert {r.rule_id for r in rules} >= {rid for rid, _, _ in DISTANCE_RULES}
    assert all(r.source.startswith("GB30871") for r in rules)


@pytest.mark.parametrize(("rule_id", "other", "metres"), DISTANCE_RULES)
def test_a_distance_rule_includes_its_distance_and_stops_just_past_it(
    rule_id: str, other: Activity, metres: float
) -> None:
    hot = fp("HW", HOT, kind=WorkType.HOT_WORK)
    at_n = fp("B", other, at=(0, metres, 0))
    found = conflicts([hot, at_n])
    assert [(c.permits, c.verdict, c.rules) for c in found] == [
        (("B", "HW"), Verdict.NEVER, (rule_id,))
    ]
    assert found[0].as_dict()["distance_m"] == metres
    past = fp("B", other, at=(0, 0, metres + 0.01))
    assert conflicts([hot, past]) == []


def test_the_type_implies_its_activity() -> None:
    # A hot-work permit is hot work even if the plan forgot to list the activity.
    hot = fp("HW", kind=WorkType.HOT_WORK)
    plate = fp("BP", kind=WorkType.BLIND_PLATE, at=(30, 0, 0))
    assert [c.rules for c in conflicts([hot, plate])] == [("hot_work_near_blind_plate",)]


def test_two_blind_plates_on_one_pipeline_never_and_on_two_pipelines_fine() -> None:
    one = fp("BP-1", kind=WorkType.BLIND_PLATE, pipelines=frozenset({"L-101"}))
    two = fp("BP-2", kind=WorkType.BLIND_PLATE, at=(500, 0, 0), pipelines=frozenset({"L-101"}))
    assert [(c.verdict, c.rules) for c in conflicts([one, two])] == [
        (Verdict.NEVER, ("blind_plates_on_one_pipeline",))
    ]
    other_line = replace(two, pipelines=frozenset({"L-102"}))
    assert conflicts([one, other_line]) == []


def test_hot_work_and_painting_in_one_space_is_never_at_any_distance() -> None:
    hot = fp("HW", HOT, at=(0, 0, 0), space_id="TANK-3")
    paint = fp("PT", Activity.PAINTING, at=(0, 80, 0), space_id="TANK-3")
    [conflict] = conflicts([hot, paint])
    assert conflict.verdict is Verdict.NEVER
    # The strongest verdict, and every rule that applies (the space is shared too).
    assert conflict.rules == (
        "hot_work_and_painting_in_one_space",
        "shared_space_equipment_or_isolation",
    )
    assert conflicts([hot, replace(paint, space_id="TANK-4")]) == []


@pytest.mark.parametrize(
    "shared",
    [
        {"space_id": "TANK-3"},
        {"equipment": frozenset({"P-201"})},
        {"isolation_points": frozenset({"V-7"})},
    ],
    ids=["space", "equipment", "isolation-point"],
)
def test_a_shared_space_equipment_or_isolation_point_is_conditional(
    shared: dict[str, object],
) -> None:
    first = fp("A", Activity.LIFTING, **shared)
    second = fp("B", Activity.EXCAVATION, at=(400, 0, 0), **shared)
    assert [(c.verdict, c.rules) for c in conflicts([first, second])] == [
        (Verdict.CONDITIONAL, ("shared_space_equipment_or_isolation",))
    ]


def test_windows_are_half_open() -> None:
    hot = fp("HW", HOT, hours=2)  # 08:00-10:00
    paint = fp("PT", Activity.PAINTING, start=T0 + timedelta(hours=2))  # from 10:00
    assert conflicts([hot, paint]) == []
    overlapping = replace(paint, start=paint.start - timedelta(seconds=1))
    assert len(conflicts([hot, overlapping])) == 1


def test_a_hot_job_and_its_linked_confined_space_permit_are_one_job() -> None:
    confined = fp("CS-1", kind=WorkType.CONFINED_SPACE, space_id="TANK-3")
    second_crew = fp("CS-2", kind=WorkType.CONFINED_SPACE, space_id="TANK-3")
    hot = fp("HW-1", HOT, kind=WorkType.HOT_WORK, space_id="TANK-3", linked_permit_id="CS-1")
    # Never paired with its own permit, whichever comes first; still with the other crew's.
    assert [c.permits for c in conflicts([hot, confined, second_crew])] == [
        ("CS-1", "CS-2"),
        ("CS-2", "HW-1"),
    ]
    assert conflicts([confined, hot]) == conflicts([hot, confined]) == []
    assert [c.permits for c in unresolved([hot, confined])] == []
    # Unlinked, the same two permits are two operations to coordinate.
    [conflict] = conflicts([replace(hot, linked_permit_id=None), confined])
    assert conflict.verdict is Verdict.CONDITIONAL
    # The link is not what an acknowledgement is bound to.
    assert pair_digest(hot, second_crew) == pair_digest(
        replace(hot, linked_permit_id=None), second_crew
    )


# ------------------------------------------------------------ properties

ACTIVITIES = st.frozensets(st.sampled_from(list(Activity)), max_size=3)
COORD = st.integers(min_value=-40, max_value=40).map(float)


@st.composite
def footprints(draw: st.DrawFn, pid: str) -> Footprint:
    start = T0 + timedelta(minutes=draw(st.integers(min_value=0, max_value=600)))
    return Footprint(
        permit_id=pid,
        type=draw(st.sampled_from(list(WorkType))),
        start=start,
        end=start + timedelta(minutes=draw(st.integers(min_value=1, max_value=600))),
        activities=draw(ACTIVITIES),
        points=tuple(
            Point(draw(COORD), draw(COORD), draw(COORD))
            for _ in range(draw(st.integers(min_value=1, max_value=3)))
        ),
        space_id=draw(st.sampled_from([None, "TANK-1", "TANK-2"])),
        equipment=draw(st.frozensets(st.sampled_from(["P-1", "P-2"]), max_size=1)),
        isolation_points=draw(st.frozensets(st.sampled_from(["V-1", "V-2"]), max_size=1)),
        pipelines=draw(st.frozensets(st.sampled_from(["L-1", "L-2"]), max_size=1)),
    )


def _plan(draw: st.DrawFn, n: int) -> list[Footprint]:
    return [draw(footprints(f"P{i}")) for i in range(n)]


plans = st.integers(min_value=2, max_value=5).flatmap(
    lambda n: st.composite(lambda draw: _plan(draw, n))()
)


@settings(max_examples=150)
@given(footprints("A"), footprints("B"))
def test_the_check_is_symmetric(a: Footprint, b: Footprint) -> None:
    assert conflicts([a, b]) == conflicts([b, a])


@settings(max_examples=150)
@given(plans, st.data())
def test_moving_a_window_apart_removes_every_conflict_of_that_permit(
    plan: list[Footprint], data: st.DataObject
) -> None:
    i = data.draw(st.integers(min_value=0, max_value=len(plan) - 1))
    latest_end = max(f.end for f in plan)
    moved = replace(plan[i], start=latest_end, end=latest_end + (plan[i].end - plan[i].start))
    others = [*plan[:i], moved, *plan[i + 1 :]]
    assert all(moved.permit_id not in c.permits for c in conflicts(others))


@settings(max_examples=150)
@given(plans, footprints("NEW"))
def test_adding_a_permit_never_removes_a_conflict_between_two_others(
    plan: list[Footprint], new: Footprint
) -> None:
    before = conflicts(plan)
    after = [c for c in conflicts([*plan, new]) if "NEW" not in c.permits]
    assert after == before


# ------------------------------------------------------------ clearing


def _acks(a: Footprint, b: Footprint, coordinator: str = "P-COORD") -> list[Acknowledgement]:
    digest = pair_digest(a, b)
    return [
        Acknowledgement(a.permit_id, b.permit_id, str(a.approver), coordinator, digest),
        Acknowledgement(b.permit_id, a.permit_id, str(b.approver), coordinator, digest),
    ]


def test_a_conditional_conflict_clears_only_with_a_coordinator_and_every_approver() -> None:
    a = fp("A", Activity.LIFTING, space_id="TANK-3", approver="P-WANG")
    b = fp("B", Activity.EXCAVATION, space_id="TANK-3", approver="P-LI")
    [conflict] = conflicts([a, b])
    both = _acks(a, b)
    assert unresolved([a, b], both) == []
    assert unresolved([a, b], both[:1]) == [conflict]  # one approver only
    assert unresolved([a, b], _acks(a, b, coordinator="")) == [conflict]
    mixed = [both[0], _acks(a, b, coordinator="P-OTHER")[1]]
    assert unresolved([a, b], mixed) == [conflict]
    # Somebody who is not the permit's approver cannot acknowledge for it.
    forged = [both[0], replace(both[1], approver_id="P-ZHAO")]
    assert not is_cleared(conflict, {"A": a, "B": b}, forged)


def test_any_change_to_a_footprint_puts_the_conflict_back() -> None:
    a = fp("A", Activity.LIFTING, space_id="TANK-3", approver="P-WANG")
    b = fp("B", Activity.EXCAVATION, space_id="TANK-3", approver="P-LI")
    acks = _acks(a, b)
    widened = replace(b, end=b.end + timedelta(minutes=30))
    assert [c.permits for c in unresolved([a, widened], acks)] == [("A", "B")]


def test_a_never_conflict_cannot_be_acknowledged_away() -> None:
    hot = fp("HW", HOT, approver="P-WANG")
    paint = fp("PT", Activity.PAINTING, at=(5, 0, 0), approver="P-LI")
    assert [c.verdict for c in unresolved([hot, paint], _acks(hot, paint))] == [Verdict.NEVER]


def test_a_shared_isolation_point_stays_while_another_open_permit_depends_on_it() -> None:
    a = fp("A", isolation_points=frozenset({"V-7"}))
    b = fp("B", isolation_points=frozenset({"V-7", "V-8"}))
    assert isolation_removal_blockers("V-7", "A", [a, b]) == ["B"]
    assert isolation_removal_blockers("V-7", "A", [a]) == []
    assert isolation_removal_blockers("V-8", "B", [a, b]) == []


# ------------------------------------------------------------ the plan


def _raw(**changes: object) -> dict[str, object]:
    permit: dict[str, object] = {
        "id": "HW-1",
        "type": "hot_work",
        "window": ["2026-12-02T08:00:00+08:00", "2026-12-02T12:00:00+08:00"],
        "activities": ["hot_work"],
        "points": [{"x": 0, "y": 0, "z": 0}],
    }
    permit.update(changes)
    return {"profile": "cn-gb30871-2022", "permits": [permit]}


def test_a_plan_reads_back_its_footprints() -> None:
    plan = parse_plan(_raw(space_id="TANK-3", equipment=["P-1"], level="一级"))
    [footprint] = plan.footprints
    assert footprint.space_id == "TANK-3" and footprint.equipment == {"P-1"}
    assert footprint.start.utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"window": ["2026-12-02T12:00:00+08:00", "2026-12-02T08:00:00+08:00"]},
            "permits[0].window",
        ),
        ({"window": ["2026-12-02T08:00:00", "2026-12-02T12:00:00+08:00"]}, "permits[0].window[0]"),
        ({"activities": ["welding"]}, "permits[0].activities[0]"),
        ({"type": "welding"}, "permits[0].type"),
        ({"points": [{"x": 0, "y": 0}]}, "permits[0].points[0].z"),
        ({"points": []}, "permits[0].points"),
        ({"colour": "red"}, "permits[0].colour"),
    ],
)
def test_an_invalid_plan_names_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_plan(_raw(**changes))
    assert caught.value.field == field


def test_a_duplicate_id_and_an_unknown_profile_are_refused() -> None:
    raw = _raw()
    permits = raw["permits"]
    assert isinstance(permits, list)
    raw["permits"] = [*permits, *permits]
    with pytest.raises(InvalidInput) as caught:
        parse_plan(raw)
    assert caught.value.field == "permits[1].id"
    with pytest.raises(InvalidInput) as unknown:
        parse_plan({**_raw(), "profile": "cn-nowhere"})
    assert unknown.value.field == "profile"
