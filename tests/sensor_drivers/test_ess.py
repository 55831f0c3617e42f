"""ESS: the SFLOAT codec, its specials, unit conversion and the capability check."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits.readings import Channel
from sensor_drivers import CapabilityError, DriverErrorCode, FrameError
from sensor_drivers.protocols import ess


@pytest.mark.parametrize("special", list(ess.SfloatSpecial))
def test_specials_are_not_available_never_numbers(special: ess.SfloatSpecial) -> None:
    with pytest.raises(FrameError) as caught:
        ess.decode_sfloat(special.value)
    assert caught.value.code is DriverErrorCode.VALUE_NOT_AVAILABLE
    assert caught.value.facts["special"] == special.name


def test_every_16_bit_pattern_decodes_or_is_not_available() -> None:
    numbers = 0
    for raw in range(0x10000):
        try:
            value = ess.decode_sfloat(raw)
        except FrameError as err:
            assert err.code is DriverErrorCode.VALUE_NOT_AVAILABLE
            continue
        assert math.isfinite(value)
        numbers += 1
    assert numbers == 0x10000 - 16 * 5  # five reserved mantissas under every exponent


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (0x0000, 0.0),
        (0x0001, 1.0),
        (0x0FFF, -1.0),
        (0x1001, 10.0),
        (0xF00A, 1.0),
        (0x9198, 4.08e-5),
    ],
)
def test_known_sfloats(raw: int, value: float) -> None:
    assert ess.decode_sfloat(raw) == pytest.approx(value)


def test_nan_and_infinities_encode_to_their_specials() -> None:
    assert ess.encode_sfloat(math.nan) == ess.SfloatSpecial.NAN
    assert ess.encode_sfloat(math.inf) == ess.SfloatSpecial.PLUS_INF
    assert ess.encode_sfloat(-math.inf) == ess.SfloatSpecial.MINUS_INF


@given(
    st.floats(min_value=2.05e-6, max_value=2e10) | st.floats(min_value=-2e10, max_value=-2.05e-6)
)
def test_sfloat_round_trip_within_half_a_step(value: float) -> None:
    # A 12-bit mantissa capped at 2045 keeps at least 205 steps: 0.25 % worst case.
    decoded = ess.decode_sfloat(ess.encode_sfloat(value))
    assert decoded == pytest.approx(value, rel=2.5e-3)


@given(st.floats(min_value=-2.05e-6, max_value=2.05e-6))
def test_tiny_sfloats_are_within_half_of_the_finest_step(value: float) -> None:
    # The exponent stops at -8: below 2e-6 the step is a fixed 1e-8.
    assert ess.decode_sfloat(ess.encode_sfloat(value)) == pytest.approx(value, abs=0.5e-8 + 1e-15)


@given(st.floats(min_value=0.5, max_value=2000))
def test_ppm_round_trip_through_the_characteristic(ppm: float) -> None:
    uuid, data = ess.encode_characteristic(Channel.CO, ppm)
    m = ess.decode_characteristic(uuid, data)
    # Exponent -8 is the finest step: 1e-8 kg/m3 = 0.01 mg/m3, about 0.009 ppm of CO.
    assert m.ppm == pytest.approx(ppm, rel=2.5e-3, abs=0.005)


def test_co2_is_uint16_ppm() -> None:
    uuid, data = ess.encode_characteristic(Channel.CO2, 1200)
    assert data == bytes.fromhex("b0 04")
    assert ess.decode_characteristic(uuid, data).ppm == 1200


def test_short_uuid_forms_are_accepted() -> None:
    for form in ("2bd0", "0x2BD0", "00002BD0-0000-1000-8000-00805F9B34FB"):
        assert ess.decode_characteristic(form, bytes.fromhex("98 91")).channel is Channel.CO


def test_wrong_length_is_malformed() -> None:
    with pytest.raises(FrameError) as caught:
        ess.decode_characteristic("2bd0", b"\x01")
    assert caught.value.code is DriverErrorCode.MALFORMED_FRAME


def test_an_ess_only_device_cannot_cover_o2_or_h2s() -> None:
    assert ess.missing_channels([Channel.O2, Channel.CO, Channel.H2S]) == [Channel.O2, Channel.H2S]
    with pytest.raises(CapabilityError) as caught:
        ess.check_capability([Channel.O2, Channel.H2S, Channel.CO])
    assert caught.value.code is DriverErrorCode.CHANNEL_NOT_SUPPORTED
    assert caught.value.facts["missing"] == ["O2", "H2S"]
    ess.check_capability([Channel.CO, Channel.CH4])  # covered: no error


@given(uuid=st.sampled_from([*ess.CHARACTERISTICS, "2bd0", "1234", ""]), data=st.binary(max_size=4))
def test_arbitrary_characteristic_bytes_only_give_typed_errors(uuid: str, data: bytes) -> None:
    try:
        m = ess.decode_characteristic(uuid, data)
    except FrameError:
        return
    assert math.isfinite(m.ppm) and len(data) == 2
