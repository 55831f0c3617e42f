"""The audible alarm's logic without a window: what sounds, acknowledge, the 30-s
mute during an evacuation, re-arm (docs/tablet.md, The audible alarm)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from cspermit.demo import molasses_tank as demo
from tablet_app.presenters.alarm import MUTE_MAX, AlarmBell, Conditions, Pattern

from .test_presenters import ready
from .world import PINS, World


def test_the_loudest_condition_sounds_and_each_has_its_own_pattern() -> None:
    bell = AlarmBell()
    now = demo.START
    assert bell.update(Conditions()) is Pattern.NONE and bell.sounding(now) is Pattern.NONE
    bell.update(Conditions.of(warning={"TREND_TO_ALARM:H2S"}))
    assert bell.sounding(now) is Pattern.WARNING
    bell.update(Conditions.of(warning={"TREND_TO_ALARM:H2S"}, stale={"stale"}))
    assert bell.sounding(now) is Pattern.STALE
    bell.update(Conditions.of(evacuate={"TOXIC_HIGH:H2S"}, stale={"stale"}, evacuation_on=True))
    assert bell.sounding(now) is Pattern.EVACUATE


def test_an_evacuation_is_muted_for_30_s_at_most_and_sounds_again() -> None:
    bell = AlarmBell()
    now = demo.START
    on = Conditions.of(evacuate={"TOXIC_HIGH:H2S", "evacuating"}, evacuation_on=True)
    bell.update(on)
    bell.acknowledge(now)
    assert bell.sounding(now + timedelta(seconds=29)) is Pattern.NONE
    assert bell.muted_for(now) == 30
    assert bell.sounding(now + MUTE_MAX) is Pattern.EVACUATE  # nobody can silence it longer
    bell.mute(now, seconds=600)  # asked for 10 min: 30 s
    assert bell.muted_until == now + MUTE_MAX
    # ticks keep coming while muted: the mute is not lost, and not extended
    bell.update(on)
    assert bell.sounding(now + timedelta(seconds=10)) is Pattern.NONE
    assert bell.sounding(now + timedelta(seconds=31)) is Pattern.EVACUATE


def test_a_warning_is_quiet_once_acknowledged_and_re_arms_when_it_comes_back() -> None:
    bell = AlarmBell()
    now = demo.START
    trend = Conditions.of(warning={"TREND_TO_ALARM:H2S"})
    bell.update(trend)
    bell.acknowledge(now)
    bell.update(trend)
    assert bell.sounding(now + timedelta(hours=1)) is Pattern.NONE  # acknowledged: quiet
    # a new warning sounds although the first is acknowledged
    bell.update(Conditions.of(warning={"TREND_TO_ALARM:H2S", "LOW_BATTERY:None"}))
    assert bell.sounding(now) is Pattern.WARNING
    bell.acknowledge(now)
    # the trend clears, then comes back: re-armed
    bell.update(Conditions.of(warning={"LOW_BATTERY:None"}))
    bell.update(Conditions.of(warning={"LOW_BATTERY:None", "TREND_TO_ALARM:H2S"}))
    assert bell.sounding(now) is Pattern.WARNING


def test_once_everyone_is_out_an_acknowledged_alarm_stays_quiet() -> None:
    bell = AlarmBell()
    now = demo.START
    bell.update(Conditions.of(evacuate={"alarm:A1"}, evacuation_on=True))
    bell.acknowledge(now)
    bell.update(Conditions.of(evacuate={"alarm:A1"}, evacuation_on=False))
    assert bell.sounding(now + timedelta(minutes=5)) is Pattern.NONE
    # a new alarm on the suspended permit sounds
    bell.update(Conditions.of(evacuate={"alarm:A1", "alarm:A2"}))
    assert bell.sounding(now) is Pattern.EVACUATE


def test_the_board_drives_the_bell_alarm_mute_re_arm_acknowledge(tablet: World) -> None:
    atmo, board, _setup = ready(tablet)
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    tablet.air(2)
    now = tablet.clock
    assert board.enter(demo.ENTRANT_A).ok
    board.tick()
    assert board.bell.sounding(now()) is Pattern.NONE and board.view().sound_text == ""
    # H2S past the limit: alarm recorded, the evacuation pattern sounds, on the board
    tablet.air(5, h2s=9.0)
    assert board.tick()
    view = board.view()
    assert view.sound is Pattern.EVACUATE and view.sound_text == "EVACUATION ALARM sounding"
    # the guardian acknowledges: 30 s of silence while the entrant is still inside
    board.acknowledge()
    view = board.view()
    assert view.sound is Pattern.NONE and "30 s" in view.sound_text
    tablet.air(31, h2s=9.0)
    board.tick()
    assert board.view().sound is Pattern.EVACUATE  # sounds again: the evacuation is on
    # everyone out; acknowledged, the recorded alarm stays quiet on the suspended permit
    assert board.exit(demo.ENTRANT_A).ok
    board.tick()
    board.acknowledge()
    tablet.air(60, h2s=9.0)
    board.tick()
    assert board.view().sound is Pattern.NONE
    # the air clears, the alarm is cleared: nothing sounds; then the stream goes stale
    tablet.air(30, h2s=0.0)
    assert board.clear_alarms().ok, board.last.lines()
    board.tick()
    assert board.bell.sounding(now()) is Pattern.NONE
    tablet.clock.advance(minutes=1)
    board.tick()
    assert board.bell.pattern_now is not Pattern.NONE  # lost monitoring: an alarm again


def test_a_draft_permit_with_bad_air_does_not_sound(tablet: World) -> None:
    # before monitoring, with nobody inside, the pre-entry test judges the air
    from tablet_app.presenters.board import BoardPresenter

    from .test_presenters import set_up

    set_up(tablet)
    board = BoardPresenter(tablet.context, tablet.desk, tablet.feed)
    tablet.air(5, h2s=30.0)
    view = board.view()
    assert view.banner and view.sound is Pattern.NONE


def test_going_to_the_background_never_silences_it() -> None:
    # Nothing but the guardian's touch changes what sounds: the bell has no pause input,
    # and the app's on_pause keeps the app (its judge and audio) running. Read from the
    # source: importing the app would open a Kivy window in this process.
    import ast

    from tablet_app.presenters import alarm

    assert not any("pause" in name or "background" in name for name in dir(alarm.AlarmBell))
    source = (Path(alarm.__file__).parents[1] / "app.py").read_text("utf-8")
    on_pause = next(
        node
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef) and node.name == "on_pause"
    )
    (returned,) = [n for n in ast.walk(on_pause) if isinstance(n, ast.Return)]
    assert isinstance(returned.value, ast.Constant) and returned.value.value is True
    assert "stop" not in ast.unparse(on_pause)
