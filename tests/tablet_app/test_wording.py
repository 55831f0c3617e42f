"""One unit per gas and the sensor's resolution on every screen; trend text that says
what it means; names, not ids (issue 18; docs/tablet.md, Rules the screens keep)."""

from __future__ import annotations

from cspermit.demo import molasses_tank as demo
from permits.atmosphere import Reason
from permits.errors import Unmet
from permits.readings import Channel, Reading, Unit
from permits.units import mg_m3_to_ppm
from tablet_app.presenters.wording import Wording, number, point_name, resolution

from .test_presenters import PINS, ready
from .world import World


def _h2s_ppm(value: float = 7.94) -> Reading:
    return Reading(
        device_serial="D1",
        channel=Channel.H2S,
        value=value,
        unit=Unit.PPM,
        received_at=demo.START,
    )


def test_numbers_are_rounded_to_the_channels_resolution() -> None:
    assert resolution("H2S", "ppm") == 0.1 and resolution("CO", "ppm") == 1
    assert number(7.94, "H2S", "ppm") == "7.9"
    assert number(0.0, "H2S", "ppm") == "0.0"
    assert number(-0.01, "H2S", "ppm") == "0.0"  # never "-0.0"
    assert number(20.86, "O2", "%VOL") == "20.9"
    assert number(3.6, "CO", "ppm") == "4"
    assert number(float("nan"), "CO", "ppm") == "--"


def test_a_mg_m3_limit_is_shown_in_the_tiles_ppm(in_english: None) -> None:
    wording = Wording(lambda ch: _h2s_ppm() if ch is Channel.H2S else None)
    line = wording.reason(Reason("TOXIC_HIGH", "bottom", "H2S", 11.1924, 10.0, "mg/m3"))
    # 10 mg/m3 of H2S (34.08 g/mol) at the core's 24.055 L/mol is 7.06 ppm
    assert round(mg_m3_to_ppm(10.0, 34.08), 2) == 7.06
    assert "7.9 ppm" in line and "7.1 ppm" in line and "mg/m3" not in line
    # the same gas on a screen with no live reading: the channel's default unit
    assert "ppm" in Wording().value("H2S", 38.9607, "mg/m3")
    assert Wording().value("H2S", 38.9607, "mg/m3") == "27.5 ppm"


def test_a_refusal_names_people_and_reasons_not_ids_and_codes(in_chinese: None) -> None:
    wording = Wording(person_name=lambda pid: {"P-ZHANG": "张伟"}.get(pid, pid))
    briefed = wording.unmet(Unmet("ENTRANT_NOT_BRIEFED", {"person": "P-ZHANG"}))
    assert "张伟" in briefed.message() and "P-ZHANG" not in briefed.message()
    failed = wording.unmet(
        Unmet("ATMOSPHERE_TEST_FAILED", {"test_seq": 17, "reasons": "TOXIC_HIGH, O2_LOW"})
    )
    assert "TOXIC_HIGH" not in failed.message() and "有毒气体超标" in failed.message()


def test_the_standard_sample_points_in_chinese(in_chinese: None) -> None:
    assert [point_name(p) for p in ("top", "middle", "bottom")] == ["上部", "中部", "下部"]
    assert point_name("人孔下 1 m") == "人孔下 1 m"  # the ledger's own name otherwise


def test_trend_text_only_while_rising_below_the_limit(tablet: World) -> None:
    atmo, board, _setup = ready(tablet)
    assert atmo.confirm_readings(demo.ENTRANT_A, PINS[demo.ENTRANT_A]).ok
    assert board.enter(demo.ENTRANT_A).ok
    # H2S climbing 0.02 ppm/s from 2 ppm: the 7.06-ppm limit is some minutes away
    for i in range(120):
        tablet.air(1, h2s=2.0 + 0.02 * i)
    board.tick()
    view = board.view()
    trend = [w for w in view.warnings if "H2S" in w]
    assert trend and trend[0].startswith("H2S rising, alarm in about ")
    assert trend[0].endswith(" min") and "(or" not in trend[0]
    tile = next(t for t in view.tiles if t.channel == "H2S")
    assert tile.note.startswith("alarm in about ") and tile.note.endswith(" min")
    # past the limit: an alarm, and no trend anywhere for H2S
    for i in range(60):
        tablet.air(1, h2s=4.4 + 0.1 * i)
    board.tick()
    view = board.view()
    tile = next(t for t in view.tiles if t.channel == "H2S")
    assert tile.note == "ALARM"
    assert not [w for w in view.warnings if "alarm in about" in w and "H2S" in w]
    # the banner says the gas, the point and the time, never an alarm id
    assert any(line.startswith("H2S alarm at bottom, ") for line in view.banner)
    assert not any("TOXIC_HIGH" in line for line in view.banner)
    # every H2S value and limit on the board in the tile's ppm
    assert all("mg/m3" not in line for line in (*view.banner, *view.warnings))


def test_seconds_below_a_minute_minutes_above(in_english: None) -> None:
    assert Wording.time_to_alarm(14.2) == "14 s"
    assert Wording.time_to_alarm(59.4) == "59 s"
    assert Wording.time_to_alarm(240) == "4 min"
    assert Wording().trend("O2", 300, rising=False) == "O2 falling, alarm in about 5 min"


def test_the_sparkline_is_the_last_15_minutes_with_the_limit(tablet: World) -> None:
    _atmo, board, _setup = ready(tablet)
    for i in range(1200):  # 20 min at 1 Hz; the line keeps the last 15
        tablet.air(1, h2s=0.005 * i)
    board.tick()
    tile = next(t for t in board.view().tiles if t.channel == "H2S")
    xs, ys = tile.spark.points[0::2], tile.spark.points[1::2]
    assert 2 <= len(xs) <= 180  # bucketed, not one point per reading
    assert min(xs) < 0.02 and max(xs) > 0.98 and all(0 <= y <= 1 for y in ys)
    assert ys[-1] > ys[0]  # rising
    (limit,) = tile.spark.limits
    # the toxic limit (7.06 ppm), not the flammable one, sets the scale: in view, above
    assert max(ys) < limit <= 1.0
    assert tile.spark.alarms == ()  # no alarm yet


def test_a_hot_works_own_status_is_not_said_as_a_confined_space_permits(
    in_chinese: None,
) -> None:
    """The hot-work screens word a linked confined-space permit's status their way
    ("已批准，无人进入"); the hot work's own status in the status table's refusal is the
    core's word for it, not that."""
    from permits.hot_work.codes import HotWorkCode
    from tablet_app.presenters.hot_work_words import HotWorkWording

    wording = HotWorkWording(lambda pid: pid)
    own = wording.unmet(
        Unmet(
            "NOT_ALLOWED_IN_STATUS",
            {"action": "hot_work_fire_started", "status": "approved", "allowed": "gas_ok"},
        )
    )
    assert own.message() == "作业票为“已审批”时不能记录“开始动火”", own.message()
    linked = wording.unmet(
        Unmet(
            HotWorkCode.HOT_WORK_LINKED_PERMIT_NOT_ACTIVE, {"permit": "CS-1", "status": "approved"}
        )
    )
    assert "无人进入" in linked.message(), linked.message()
