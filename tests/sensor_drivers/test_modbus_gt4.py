"""modbus-gt4 register images and the declarative vendor maps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits.readings import Channel, StatusFlag, Unit
from sensor_drivers import ConfigError, DriverErrorCode, FrameError
from sensor_drivers.protocols import ChannelValue, modbus_gt4


def test_register_image_layout_is_the_documented_one() -> None:
    regs = modbus_gt4.register_image(
        [ChannelValue(Channel.O2, 20.9, Unit.VOL, frozenset({StatusFlag.WARMUP}), decimals=1)],
        status=0x08,
        firmware=0x0203,
    )
    assert regs[:4] == [0x4754, 0x0203, 0x08, 1]
    assert regs[0x10:0x17] == [1, 1, 1, 209, 0x02, 0x41A7, 0x3333]  # 20.9f = 0x41A73333


channel_values = st.builds(
    ChannelValue,
    channel=st.sampled_from(list(modbus_gt4.GAS_CODE_OF)),
    value=st.none() | st.integers(0, 60000).map(float),
    unit=st.sampled_from(list(modbus_gt4.UNIT_CODE_OF)),
    status=st.sets(st.sampled_from(list(StatusFlag))).map(frozenset),
    decimals=st.integers(0, 3),
)


@given(st.lists(channel_values, min_size=1, max_size=8), st.integers(0, 0x7F))
def test_image_round_trip(values: list[ChannelValue], status: int) -> None:
    values = [
        cv
        if cv.value is None
        else ChannelValue(
            cv.channel,
            cv.value / 10 ** (cv.decimals or 0),
            cv.unit,
            cv.status,
            decimals=cv.decimals,
        )
        for cv in values
    ]
    header, frame = modbus_gt4.decode_image(modbus_gt4.register_image(values, status))
    assert header.channel_count == len(values)
    assert frame.status == modbus_gt4.status_from(status)
    for sent, got in zip(values, frame.values, strict=True):
        assert (got.channel, got.unit, got.status) == (sent.channel, sent.unit, sent.status)
        if sent.value is None:
            assert got.value is None
        else:
            assert got.value == pytest.approx(sent.value)


def test_not_available_channel_gives_no_reading() -> None:
    regs = modbus_gt4.register_image(
        [ChannelValue(Channel.O2, 20.9, Unit.VOL), ChannelValue(Channel.H2S, None, Unit.PPM)]
    )
    _header, frame = modbus_gt4.decode_image(regs)
    assert [r.channel for r in frame.readings("SN")] == [Channel.O2]
    assert frame.unavailable() == [Channel.H2S]


def test_lel_channel_names_its_calibration_gas() -> None:
    regs = modbus_gt4.register_image([ChannelValue(Channel.LEL, 12.0, Unit.LEL)])
    (reading,) = modbus_gt4.decode_image(regs)[1].readings("SN")
    assert reading.gas == "CH4"


@pytest.mark.parametrize(
    ("index", "value", "code"),
    [
        (0, 0x1234, DriverErrorCode.WRONG_DEVICE_TYPE),
        (3, 9, DriverErrorCode.MALFORMED_FRAME),
        (0x10, 99, DriverErrorCode.UNKNOWN_GAS),
        (0x11, 9, DriverErrorCode.UNKNOWN_UNIT),
        (0x12, 4, DriverErrorCode.MALFORMED_FRAME),
    ],
)
def test_bad_registers_raise_typed_errors(index: int, value: int, code: DriverErrorCode) -> None:
    regs = modbus_gt4.register_image([ChannelValue(Channel.CO, 3, Unit.PPM)])
    regs[index] = value
    with pytest.raises(FrameError) as caught:
        modbus_gt4.decode_image(regs)
    assert caught.value.code is code


def test_honeywell_xnx_fault_number_and_flags() -> None:
    vmap = modbus_gt4.vendor_map("honeywell-xnx")
    regs = modbus_gt4.vendor_image(vmap, 12.5, fault_number=1042, flag_names=["alarm_high"])
    state = modbus_gt4.decode_vendor(vmap, regs, Channel.H2S, Unit.PPM)
    assert state.frame.values[0].value == 12.5
    assert state.frame.status == {StatusFlag.FAULT, StatusFlag.ALARM_HIGH}
    warn = modbus_gt4.decode_vendor(
        vmap, modbus_gt4.vendor_image(vmap, 1.0, fault_number=12), Channel.H2S, Unit.PPM
    )
    assert warn.warning and not warn.frame.status


def test_draeger_polytron_value_and_nan_is_not_available() -> None:
    vmap = modbus_gt4.vendor_map("draeger-polytron8000")
    assert (vmap.start, vmap.default_slave) == (506, 126)
    regs = modbus_gt4.vendor_image(vmap, 3.25)
    assert modbus_gt4.decode_vendor(vmap, regs, Channel.CO, Unit.PPM).frame.values[0].value == 3.25
    nan = modbus_gt4.decode_vendor(vmap, modbus_gt4.vendor_image(vmap, None), Channel.CO, Unit.PPM)
    assert nan.frame.readings("SN") == []


def test_unknown_map_is_a_config_error_listing_known_maps() -> None:
    with pytest.raises(ConfigError) as caught:
        modbus_gt4.vendor_map("acme")
    assert "honeywell-xnx" in caught.value.detail


@given(st.lists(st.integers(0, 0xFFFF), max_size=90))
def test_arbitrary_registers_only_give_typed_errors(regs: list[int]) -> None:
    try:
        _header, frame = modbus_gt4.decode_image(regs)
    except FrameError:
        return
    assert regs[0] == modbus_gt4.DEVICE_TYPE
    assert all(cv.value is None or cv.value >= 0 for cv in frame.values)
