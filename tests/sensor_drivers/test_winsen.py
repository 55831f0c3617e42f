"""winsen-uart 9-byte frames: round trips, hunting after garbage, question and answer."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits.readings import Channel, Unit
from sensor_drivers import DriverError, DriverErrorCode, FrameError
from sensor_drivers.protocols import Frame, winsen

H2S = winsen.encode_frame(Channel.H2S, Unit.PPM, 5.7, 100.0, decimals=1)


def test_encoder_matches_the_documented_vector() -> None:
    assert H2S == bytes.fromhex("ff 03 02 01 00 39 03 e8 d6")


def test_query_bytes_are_the_documented_ones() -> None:
    assert winsen.QUERY == bytes.fromhex("ff 01 86 00 00 00 00 00 79")


@given(
    channel=st.sampled_from(list(winsen.GAS_CODE_OF)),
    unit=st.sampled_from(list(winsen.UNIT_CODE_OF)),
    decimals=st.integers(0, 3),
    conc=st.integers(0, 0xFFFF),
    fs=st.integers(0, 0xFFFF),
)
def test_round_trip(channel: Channel, unit: Unit, decimals: int, conc: int, fs: int) -> None:
    scale = 10**decimals
    raw = winsen.encode_frame(channel, unit, conc / scale, fs / scale, decimals)
    (cv,) = winsen.decode_frame(raw).values
    assert (cv.channel, cv.unit) == (channel, unit)
    assert cv.value == pytest.approx(conc / scale)
    assert cv.full_scale == pytest.approx(fs / scale)


def test_ppb_frames_are_reported_in_ppm() -> None:
    raw = winsen.encode_frame(Channel.Cl2, Unit.PPM, 850, 20000, unit_code=winsen.UNIT_PPB)
    (cv,) = winsen.decode_frame(raw).values
    assert (cv.unit, cv.value, cv.full_scale) == (Unit.PPM, 0.85, 20.0)


def test_frame_after_garbage_is_found_by_hunting() -> None:
    decoder = winsen.FrameDecoder()
    garbage = bytes([0xFF, 0x12, 0xFF, 0x00, 0x33, 0xFF, 0xFF, 0x01])
    out = decoder.feed(garbage + H2S + b"\x00\xfe" + H2S)
    got = [m for m in out if isinstance(m, Frame)]
    assert len(got) == 2
    assert all(isinstance(m, Frame) for m in out)  # hunting inside garbage is not an error
    assert decoder.stats.noise_bytes == len(garbage) + 2


def test_frames_split_across_reads_decode() -> None:
    decoder = winsen.FrameDecoder()
    assert decoder.feed(H2S[:4]) == []
    (frame,) = decoder.feed(H2S[4:])
    assert isinstance(frame, Frame)


def test_bad_checksum_where_a_frame_was_due_is_a_typed_error() -> None:
    decoder = winsen.FrameDecoder()
    bad = H2S[:8] + bytes([H2S[8] ^ 1])
    out = decoder.feed(H2S + bad + H2S)
    assert [type(m) for m in out] == [Frame, FrameError, Frame]
    assert isinstance(out[1], FrameError) and out[1].code is DriverErrorCode.BAD_CHECKSUM
    assert decoder.stats.corrupt_frames == 1


def test_a_capture_starting_on_a_bad_frame_reports_it_when_aligned() -> None:
    bad = H2S[:8] + bytes([H2S[8] ^ 1])
    (err,) = winsen.FrameDecoder(aligned_start=True).feed(bad)
    assert isinstance(err, FrameError) and err.code is DriverErrorCode.BAD_CHECKSUM
    assert winsen.FrameDecoder().feed(bad) == []  # a live link joined mid-stream just hunts


def test_unknown_gas_with_a_valid_checksum_is_typed() -> None:
    body = bytes([0xFF, 0x77, 0x02, 0x00, 0x00, 0x01, 0x00, 0x10, 0x00])
    raw = body[:8] + bytes([winsen.checksum(body)])
    with pytest.raises(FrameError) as caught:
        winsen.decode_frame(raw)
    assert caught.value.code is DriverErrorCode.UNKNOWN_GAS


def test_answer_round_trip_and_stream() -> None:
    answer = winsen.encode_answer(0x0123)
    assert answer[:4] == bytes([0xFF, 0x86, 0x01, 0x23])
    assert winsen.decode_answer(answer) == winsen.Answer(0x0123)
    assert winsen.FrameDecoder().feed(answer) == [winsen.Answer(0x0123)]


def test_encoder_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(DriverError) as caught:
        winsen.encode_frame(Channel.CO, Unit.PPM, 70000, 1000)
    assert caught.value.code is DriverErrorCode.INVALID_ARGUMENT


@given(st.binary(max_size=300))
def test_arbitrary_bytes_only_ever_give_typed_errors(data: bytes) -> None:
    decoder = winsen.FrameDecoder()
    for item in decoder.feed(data):
        assert isinstance(item, Frame | winsen.Answer | FrameError)
    try:
        winsen.decode_frame(data[:9])
    except DriverError:
        pass


@given(position=st.integers(0, 8), flip=st.integers(1, 255))
def test_a_corrupted_byte_never_yields_a_reading(position: int, flip: int) -> None:
    bad = bytearray(H2S)
    bad[position] ^= flip
    out = winsen.FrameDecoder().feed(bytes(bad))
    assert not [m for m in out if isinstance(m, Frame)]


@given(
    st.lists(st.binary(max_size=20).map(lambda b: b.replace(b"\xff", b"")), min_size=1, max_size=5)
)
def test_every_frame_between_garbage_without_ff_is_recovered(garbages: list[bytes]) -> None:
    data = b"".join(g + H2S for g in garbages)
    out = winsen.FrameDecoder().feed(data)
    assert len([m for m in out if isinstance(m, Frame)]) == len(garbages)
