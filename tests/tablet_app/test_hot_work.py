"""The hot-work presenters without a window: draft refusals with names, approval by the
level's approver, analysis, fire watch that cannot be shortened, resumption after an
interruption, the alarm suspension and SIMOPS (docs/rules.md, Hot work)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cspermit.demo import molasses_tank as demo
from permits.hot_work.state import HotWorkStatus
from permits.readings import Channel, Reading, Unit
from tablet_app.hot_work_desk import HotWorkDesk
from tablet_app.presenters.hot_work import HotWorkPresenter
from tablet_app.presenters.hot_work_draft import HotWorkDraftPresenter
from tests.tablet_app.world import PINS, World, make_world

RAW = re.compile(r"\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b")


@pytest.fixture
def world(tmp_path: Path) -> World:
    from tablet_app.i18n import set_language

    set_language("zh_CN")
    w = make_world(tmp_path)
    w.sign_in(demo.LEADER)
    return w


def presenters(w: World) -> tuple[HotWorkDraftPresenter, HotWorkPresenter]:
    hot = HotWorkDesk(w.desk)
    return HotWorkDraftPresenter(w.context, w.desk, hot), HotWorkPresenter(
        w.context, w.desk, w.feed, hot
    )


def lel(w: World, value: float, seconds: int = 3, serial: str | None = None) -> None:
    for _ in range(seconds):
        w.clock.advance(seconds=1)
        for channel, v, unit, gas in (
            (Channel.LEL, value, Unit.LEL, "CH4"),
            (Channel.O2, 20.9, Unit.VOL, None),
        ):
            w.feed.add(
                Reading(
                    device_serial=serial or demo.DETECTOR.serial,
                    channel=channel,
                    value=v,
                    unit=unit,
                    received_at=w.clock.now,
                    gas=gas,
                )
            )


def drafted(w: World, draft: HotWorkDraftPresenter, **kw: object) -> str:
    draft.start_new()
    draft.add_fire_point("罐顶人孔", 10, 5, 3)
    draft.toggle_operator(demo.ENTRANT_A)
    draft.set_watcher(demo.GUARDIAN)
    assert draft.draft().ok, draft.view().refusal
    pid = draft.permit_id
    assert pid is not None
    return pid


def approved(w: World) -> tuple[HotWorkDraftPresenter, HotWorkPresenter, str]:
    draft, work = presenters(w)
    pid = drafted(w, draft)
    assert draft.approve(demo.PRINCIPAL).ok, draft.view().refusal
    work.open(pid)
    return draft, work, pid


def text_of(lines: object) -> str:
    return " ".join(str(x) for x in lines)  # type: ignore[attr-defined]


def test_the_level_is_raised_on_a_rest_day_and_the_view_says_why(world: World) -> None:
    draft, _work = presenters(world)
    view = draft.view()
    assert "一级" in view.level and "二级" in view.level and "休息日" in view.level
    assert "安全管理部门" in view.approver


def test_an_operator_without_a_certificate_is_refused_by_name_and_nothing_is_stored(
    world: World,
) -> None:
    draft, _work = presenters(world)
    draft.start_new()
    draft.add_fire_point("罐顶人孔", 10, 5, 3)
    draft.toggle_operator(demo.ELECTRICIAN)  # 孙涛 has no hot-work certificate
    draft.set_watcher(demo.GUARDIAN)
    out = draft.draft()
    assert not out.ok and "HOT_WORK_OPERATOR_NOT_CERTIFIED" in out.codes
    refusal = text_of(m for m, _r in draft.view().refusal)
    assert "孙涛" in refusal and "焊接与热切割作业证" in refusal
    assert not RAW.search(refusal) and "P-SUN" not in refusal
    assert world.store.permit_ids() == []
    people = {p.person_id: p for p in draft.view().people}
    assert "没有有效的焊接与热切割作业证" in people[demo.ELECTRICIAN].text
    assert people[demo.ELECTRICIAN].level.value == "alarm"
    assert "T-3201" in people[demo.ENTRANT_B].text and "2028-01-01" in people[demo.ENTRANT_B].text


def test_the_watcher_cannot_be_an_operator(world: World) -> None:
    draft, _work = presenters(world)
    draft.start_new()
    draft.add_fire_point("罐顶人孔", 10, 5, 3)
    draft.toggle_operator(demo.ENTRANT_A)
    draft.set_watcher(demo.ENTRANT_A)
    out = draft.draft()
    assert "HOT_WORK_WATCHER_IS_OPERATOR" in out.codes
    assert "张伟" in text_of(m for m, _r in draft.view().refusal)


def test_approval_needs_the_levels_approver_in_words(world: World) -> None:
    draft, _work = presenters(world)
    drafted(world, draft)
    out = draft.approve(demo.LEADER)  # 赵强 may not approve
    assert not out.ok
    assert draft.approve(demo.PRINCIPAL).ok


def test_gas_analysis_fire_watch_cannot_be_shortened_and_close(world: World) -> None:
    _draft, work, _pid = approved(world)
    lel(world, 0.0)
    assert work.analyse("FP1").ok, work.view().refusal
    assert work.state().status is HotWorkStatus.GAS_OK
    assert work.start_fire(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok, work.view().refusal
    world.clock.advance(minutes=20)
    assert work.done().ok
    assert work.start_watch(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok
    world.clock.advance(minutes=5)
    assert work.confirm_presence(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok
    view = work.view()
    assert "25:00" in view.watch and "不能缩短" in view.watch and not view.watch_can_end
    world.clock.advance(minutes=24)
    out = work.end_watch(demo.GUARDIAN, PINS[demo.GUARDIAN])
    assert out.codes == ["HOT_WORK_FIRE_WATCH_TOO_SHORT"]
    refusal = text_of(m for m, _r in work.view().refusal)
    assert "29" in refusal and "30" in refusal and not RAW.search(refusal)
    world.clock.advance(minutes=1)
    assert work.view().watch_can_end
    assert work.end_watch(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok
    assert work.close().ok
    assert work.state().status is HotWorkStatus.CLOSED


def test_resume_after_a_long_interruption_needs_a_new_analysis(world: World) -> None:
    _draft, work, _pid = approved(world)
    lel(world, 0.0)
    assert work.analyse("FP1").ok
    assert work.start_fire(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok
    world.clock.advance(minutes=5)  # burning a while
    assert work.interrupt("午休").ok
    world.clock.advance(minutes=45)  # 一级: more than 30 min
    out = work.resume(demo.GUARDIAN, PINS[demo.GUARDIAN])
    # the analysis before the interruption no longer counts (the core says why)
    assert "HOT_WORK_REANALYSIS_NEEDED" in out.codes
    refusal = text_of(m for m, _r in work.view().refusal)
    assert "罐顶人孔" in refusal and not RAW.search(refusal)
    lel(world, 0.0)
    assert work.analyse("FP1").ok
    assert work.resume(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok
    assert work.state().status is HotWorkStatus.ACTIVE


def test_a_flammable_reading_at_the_fire_point_suspends_at_once(world: World) -> None:
    _draft, work, pid = approved(world)
    lel(world, 0.0)
    assert work.analyse("FP1").ok  # the detector is now at the fire point
    assert work.start_fire(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok
    lel(world, 25.0, seconds=1)  # 25 %LEL CH4 = 1.25 %VOL > 0.5
    assert work.alarms.tick() == [pid]
    assert work.state().status is HotWorkStatus.SUSPENDED
    banner = " ".join(work.view().banner)
    assert "动火作业已暂停" in banner and not RAW.search(banner)
    # resuming needs the gas gone and a new passing analysis
    assert "HOT_WORK_ALARM_ACTIVE" in work.resume().codes
    lel(world, 0.0)
    work.alarms.tick()
    assert not work.state().alarms
    assert "HOT_WORK_RESUME_NEEDS_NEW_ANALYSIS" in work.resume().codes
    assert work.analyse("FP1").ok
    assert work.resume().ok


def test_the_view_has_no_raw_codes(world: World) -> None:
    _draft, work, _pid = approved(world)
    view = work.view()
    texts = [view.title, view.status, view.expiry, view.watch, *view.live]
    texts += [t for _p, t, _l in view.points]
    for text in texts:
        assert not RAW.search(text), text


def test_inside_a_confined_space_its_permit_must_be_active_and_its_alarm_suspends(
    world: World,
) -> None:
    from tablet_app.presenters.hot_work_alarm import HotWorkAlarmWatch
    from tests.tablet_app.test_presenters import ready

    atmo, board, _setup = ready(world)
    confined = world.context.permit_id
    assert confined is not None
    world.sign_in(demo.LEADER)
    draft, work = presenters(world)
    draft.start_new(confined)
    draft.add_fire_point("罐内底部焊缝", 10, 5, 0)
    draft.toggle_operator(demo.ENTRANT_A)
    draft.set_watcher(demo.ELECTRICIAN)
    assert draft.draft().ok, draft.view().refusal
    assert "1号糖蜜储罐" in draft.view().link
    assert draft.approve(demo.PRINCIPAL).ok, draft.view().refusal
    work.open(draft.permit_id or "")
    world.air(3)
    assert work.analyse("FP1").ok
    out = work.start_fire(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN])
    assert out.codes == ["HOT_WORK_LINKED_PERMIT_NOT_ACTIVE"]
    refusal = text_of(m for m, _r in work.view().refusal)
    assert "已审批，无人进入" in refusal and not RAW.search(refusal)
    # somebody enters: the confined-space permit is active, the fire may start
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok, board.last.lines()
    assert work.start_fire(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN]).ok, work.view().refusal
    # an H2S alarm in the tank: the hot work is suspended at once
    world.air(5, h2s=9.0)
    assert board.tick()
    watch = HotWorkAlarmWatch.of(world.context, world.desk, world.feed, work.hot)
    assert watch is work.alarms
    assert watch.tick() == [work.permit_id]
    assert work.state().status is HotWorkStatus.SUSPENDED
    lines = watch.board_lines(confined)
    assert lines and "动火作业已暂停" in lines[0]


def test_a_never_conflict_refuses_approval_until_one_permit_moves(
    world: World,
) -> None:
    from datetime import timedelta

    draft, _work = presenters(world)
    drafted(world, draft)
    start = world.clock.now
    painting = {
        "id": "PNT-7",
        "type": "general",
        "window": [start.isoformat(), (start + timedelta(hours=8)).isoformat()],
        "activities": ["painting"],
        "points": [{"x": 12, "y": 5, "z": 3}],
    }
    world.store.set_setting("simops_permits", [painting])
    out = draft.approve(demo.PRINCIPAL)
    assert not out.ok and "PNT-7" in out.error and "不得同时进行" in out.error
    assert not RAW.search(out.error)
    # painting moved to tomorrow: no conflict with it
    painting["window"] = [
        (start + timedelta(days=1)).isoformat(),
        (start + timedelta(days=1, hours=8)).isoformat(),
    ]
    world.store.set_setting("simops_permits", [painting])
    assert draft.approve(demo.PRINCIPAL).ok, draft.view().refusal


def test_a_conditional_conflict_needs_a_coordinator_and_both_approvers(world: World) -> None:
    from tests.tablet_app.test_presenters import ready

    atmo, board, _setup = ready(world)
    confined = world.context.permit_id
    assert confined is not None
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok
    world.sign_in(demo.LEADER)
    draft, work = presenters(world)
    permits = []
    for location in ("罐内底部焊缝", "罐内顶部焊缝"):
        draft.start_new(confined)
        draft.add_fire_point(location, 10, 5, 0)
        draft.toggle_operator(demo.ENTRANT_A)
        draft.set_watcher(demo.ELECTRICIAN)
        assert draft.draft().ok, draft.view().refusal
        # a conditional conflict does not refuse the approval
        assert draft.approve(demo.PRINCIPAL).ok, draft.view().refusal
        permits.append(draft.permit_id or "")
    first, second = permits
    work.open(first)
    world.air(3)
    assert work.analyse("FP1").ok
    out = work.start_fire(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN])
    assert not out.ok and "需要协调" in out.error and second in out.error
    assert [o for o, _t in work.simops_others()] == [second]
    # the coordinator is named, both approvers (王建国, not signed in) give their PIN
    assert not work.acknowledge_simops(second, demo.LEADER, {demo.PRINCIPAL: "0000"}).ok
    assert not work.hot.state(first).acknowledgements  # nothing written on a wrong PIN
    ok = work.acknowledge_simops(second, demo.LEADER, {demo.PRINCIPAL: PINS[demo.PRINCIPAL]})
    assert ok.ok, work.view().refusal
    assert work.simops_others() == []
    assert work.start_fire(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN]).ok, work.view().refusal


def test_typed_values_need_a_second_persons_pin_and_are_flagged_manual(world: World) -> None:
    _draft, work, _pid = approved(world)
    wrong = work.analyse_typed("FP1", {"LEL": 0.0}, countersigner=demo.GUARDIAN, pin="0000")
    assert not wrong.ok and "李明" in wrong.error
    myself = work.analyse_typed("FP1", {"LEL": 0.0}, countersigner=demo.LEADER, pin="1111")
    assert not myself.ok
    # With the analyst's own right PIN, the core's countersign rule refuses, in words.
    myself = work.analyse_typed(
        "FP1", {"LEL": 0.0}, countersigner=demo.LEADER, pin=PINS[demo.LEADER]
    )
    assert not myself.ok and "COUNTERSIGN_SAME_PERSON" in myself.codes, myself
    assert not RAW.search(myself.error or text_of(m for m, _r in work.view().refusal))
    assert not work.state().analyses  # nothing written
    ok = work.analyse_typed(
        "FP1", {"LEL": 0.0}, countersigner=demo.GUARDIAN, pin=PINS[demo.GUARDIAN]
    )
    assert ok.ok, work.view().refusal
    (reading,) = ok.value.payload.readings
    assert "manual" in reading.status
    countersign = ok.value.payload.countersign  # signed in the event, not a flag
    assert countersign is not None and countersign.person_id == demo.GUARDIAN
    assert work.state().status is HotWorkStatus.GAS_OK
    # a typed value over the limit fails the analysis, in words
    high = work.analyse_typed(
        "FP1", {"LEL": 20.0}, countersigner=demo.GUARDIAN, pin=PINS[demo.GUARDIAN]
    )
    assert high.ok and work.state().status is HotWorkStatus.APPROVED
    (point,) = work.view().points
    assert "不合格" in point[1] and "0.5" in point[1] and not RAW.search(point[1])


def test_special_level_needs_continuous_monitoring_before_the_fire(world: World) -> None:
    from permits.hot_work.events import HotWorkLevel

    draft, work = presenters(world)
    draft.start_new()
    draft.set_level(HotWorkLevel.FIRST)  # raised to 特级 on a rest day
    draft.add_fire_point("罐顶人孔", 10, 5, 3)
    draft.toggle_operator(demo.ENTRANT_A)
    draft.set_watcher(demo.GUARDIAN)
    assert draft.draft().ok
    assert "特级动火" in draft.view().level
    # 特级 is approved by the lead in charge of production safety: 王建国 (主要负责人)
    assert draft.approve(demo.PRINCIPAL).ok, draft.view().refusal
    work.open(draft.permit_id or "")
    lel(world, 0.0)
    assert work.analyse("FP1").ok
    assert work.view().actions[0] == "start_monitoring"
    out = work.start_fire(demo.GUARDIAN, PINS[demo.GUARDIAN])
    assert out.codes == ["HOT_WORK_MONITORING_REQUIRED"]
    assert "连续" in text_of(m for m, _r in work.view().refusal)
    assert work.start_monitoring(work.next_point()).ok
    assert "start_monitoring" not in work.view().actions
    assert work.start_fire(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok, work.view().refusal


def test_a_short_interruption_resumes_on_the_same_analysis(world: World) -> None:
    _draft, work, _pid = approved(world)
    lel(world, 0.0)
    assert work.analyse("FP1").ok
    assert work.start_fire(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok
    world.clock.advance(minutes=25)
    assert work.interrupt().ok
    world.clock.advance(minutes=20)  # 一级 allows 30 min; the analysis is 45 min old
    assert work.resume(demo.GUARDIAN, PINS[demo.GUARDIAN]).ok, work.view().refusal


def beside_a_second_permit(world: World) -> tuple[HotWorkPresenter, str]:
    """Hot work linked to one confined-space permit, a second confined-space permit on
    the same tank: the hot work's one conditional conflict is with that second one."""
    from tests.tablet_app.test_presenters import ready

    atmo, board, _setup = ready(world)
    confined = world.context.permit_id
    assert confined is not None
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    world.air(2)
    assert board.enter(demo.ENTRANT_A).ok
    _atmo2, _board2, _setup2 = ready(world)
    second_cs = world.context.permit_id
    assert second_cs is not None and second_cs != confined
    world.sign_in(demo.LEADER)
    draft, work = presenters(world)
    draft.start_new(confined)
    draft.add_fire_point("罐内底部焊缝", 10, 5, 0)
    draft.toggle_operator(demo.ENTRANT_A)
    draft.set_watcher(demo.ELECTRICIAN)
    assert draft.draft().ok, draft.view().refusal
    assert draft.approve(demo.PRINCIPAL).ok, draft.view().refusal
    work.open(draft.permit_id or "")
    world.air(3)
    assert work.analyse("FP1").ok
    out = work.start_fire(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN])
    assert not out.ok and "需要协调" in out.error, out.error
    assert [o for o, _t in work.simops_others()] == [second_cs]
    return work, second_cs


def test_a_conflict_with_an_unlinked_confined_space_permit_is_cleared_in_both_chains(
    world: World,
) -> None:
    """Hot work linked to one confined-space permit shares its space with a second one:
    a conditional conflict that the second permit's approver acknowledges in the
    confined-space chain (``simops_acknowledged``), each approver with their own PIN."""
    work, second_cs = beside_a_second_permit(world)
    # the signed-in leader coordinates; the approver (not signed in) is asked by name
    assert work.begin_simops_ack(second_cs) is None
    prompt = work.view().pin_prompt
    assert "王建国" in prompt and "审批人" in prompt, prompt
    assert work.view().actions == ("simops_pin", "simops_cancel")
    wrong = work.give_pin("0000")
    assert wrong is not None and not wrong.ok
    assert not world.desk.state(second_cs).simops_acknowledgements  # nothing on a wrong PIN
    assert not work.state().acknowledgements
    assert work.begin_simops_ack(second_cs) is None
    done = work.give_pin(PINS[demo.PRINCIPAL])
    assert done is not None and done.ok, work.view().refusal
    acks = world.desk.state(second_cs).simops_acknowledgements
    assert [a.other_permit_id for a in acks] == [work.permit_id]
    assert acks[0].coordinator_id == demo.LEADER
    assert [a.other_permit_id for a in work.state().acknowledgements] == [second_cs]
    assert work.simops_others() == []
    assert work.start_fire(demo.ELECTRICIAN, PINS[demo.ELECTRICIAN]).ok, work.view().refusal


def test_the_window_is_chosen_with_buttons(world: World) -> None:
    from datetime import timedelta

    draft, _work = presenters(world)
    draft.start_new()
    now = world.clock.now
    assert draft.choose_start("in_2h").ok and draft.choose_hours(2).ok
    view = draft.view()
    assert [c for c, _t, on in view.starts if on] == ["in_2h"]
    assert [h for h, _t, on in view.durations if on] == [2.0]
    assert "2 小时" in [t for _h, t, _on in view.durations]
    draft.add_fire_point("罐顶人孔", 10, 5, 3)
    draft.toggle_operator(demo.ENTRANT_A)
    draft.set_watcher(demo.GUARDIAN)
    assert draft.draft().ok, draft.view().refusal
    state = draft.hot.state(draft.permit_id or "")
    assert state.planned_start is not None and state.planned_end is not None
    start = state.planned_start
    assert timedelta(hours=2) <= start - now < timedelta(hours=2, minutes=5)
    assert start.minute % 5 == 0 and start.second == 0
    assert state.planned_end - start == timedelta(hours=2)
    assert draft.view().starts == ()  # a drafted permit's window is the chain's
    # no empty window
    draft.start_new()
    assert not draft.set_window(None, 0).ok


def test_what_the_screens_type_is_parsed_in_the_presenter_and_a_non_number_is_said(
    world: World,
) -> None:
    draft, work, _pid = approved(world)
    bad = draft.add_typed_fire_point("罐顶", "x", "1", "2")  # said, not dropped
    assert not bad.ok and "x" in bad.error and "z" in bad.error
    assert draft.add_typed_fire_point("罐顶", "1,5", "2", "3").ok
    refused = work.analyse_typed_lel("abc", PINS[demo.GUARDIAN])
    assert not refused.ok and "%LEL" in refused.error
    assert not work.state().analyses
    assert work.analyse_typed_lel("0", PINS[demo.GUARDIAN]).ok


def test_an_acknowledgement_one_chain_refuses_is_written_in_neither(world: World) -> None:
    """Both chains' acknowledgements are decided before either is stored: the second
    permit, already closing, refuses; the hot work's chain gets nothing either."""
    from permits.events import ClosingStarted

    work, second_cs = beside_a_second_permit(world)
    world.desk.record(second_cs, ClosingStarted(), actor=demo.LEADER)
    stored = {pid: len(world.store.events_for_permit(pid)) for pid in (work.permit_id, second_cs)}
    assert work.begin_simops_ack(second_cs) is None
    refused = work.give_pin(PINS[demo.PRINCIPAL])
    assert refused is not None and not refused.ok
    assert "NOT_ALLOWED_IN_STATUS" in refused.codes
    assert not work.state().acknowledgements
    assert not world.desk.state(second_cs).simops_acknowledgements
    # nothing in the store of either chain (the hot work's event was decided, not kept)
    assert {pid: len(world.store.events_for_permit(pid)) for pid in stored} == stored


def test_an_unreadable_pull_of_the_other_tablets_permits_refuses_approval(world: World) -> None:
    """Fail closed: permits pulled from the server that cannot be read are not "no
    conflict"; the approval is refused, saying to sync."""
    draft, _work = presenters(world)
    drafted(world, draft)
    world.store.set_setting("simops_permits", [{"id": "X", "type": "no_such_type"}])
    out = draft.approve(demo.PRINCIPAL)
    assert not out.ok and "同步" in out.error, out.error
    world.store.set_setting("simops_permits", [])
    assert draft.approve(demo.PRINCIPAL).ok, draft.view().refusal


def test_a_window_in_a_year_without_a_holiday_calendar_is_written_at_the_raised_level(
    world: World,
) -> None:
    from datetime import datetime, timedelta, timezone

    from permits.hot_work.events import HotWorkLevel

    # 2099 has no calendar installed: the draft is not refused; the level goes up one step
    # and the chain records the year, so a calendar installed later changes nothing.
    draft, _work = presenters(world)
    draft.start_new()
    draft.set_level(HotWorkLevel.SECOND)
    cst = timezone(timedelta(hours=8))
    assert draft.set_window(datetime(2099, 1, 7, 9, tzinfo=cst), 2).ok
    view = draft.view()
    assert "一级" in view.level and "二级" in view.level and "2099" in view.level, view.level
    draft.add_fire_point("罐顶人孔", 10, 5, 3)
    draft.toggle_operator(demo.ENTRANT_A)
    draft.set_watcher(demo.GUARDIAN)
    assert draft.draft().ok, draft.view().refusal
    state = draft.hot.state(draft.permit_id or "")
    assert state.years_without_calendar == (2099,)
    assert state.level is HotWorkLevel.FIRST
    written = draft.view().level
    assert "2099" in written and "起草时" in written, written  # true once it is installed too
