"""gasl lines: encoder/decoder round trips, resynchronisation, counters, INFO."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from permits.readings import Channel, StatusFlag, Unit
from sensor_drivers import DriverError, DriverErrorCode, FrameError
from sensor_drivers.protocols import ChannelValue, Frame, gasl

O2 = ChannelValue(Channel.O2, 20.9, Unit.VOL, decimals=1)
H2S = ChannelValue(Channel.H2S, 12.5, Unit.PPM, decimals=1)


def line(seq: int, *values: ChannelValue, status: int = 0) -> bytes:
    return gasl.encode_line(seq, seq * 1000, values or (O2, H2S), 80, status)


def frames(out: list[object]) -> list[Frame]:
    return [m for m in out if isinstance(m, Frame)]


def test_encoder_reproduces_the_documented_checksum() -> None:
    vector = b"$GASL,1,1000,O2:20.9:%VOL,LEL:0:%LEL,H2S:0.0:ppm,CO:3:ppm,BAT:90,ST:00*45\r\n"
    values = (
        ChannelValue(Channel.O2, 20.9, Unit.VOL, decimals=1),
        ChannelValue(Channel.LEL, 0, Unit.LEL, decimals=0),
        ChannelValue(Channel.H2S, 0, Unit.PPM, decimals=1),
        ChannelValue(Channel.CO, 3, Unit.PPM, decimals=0),
    )
    assert gasl.encode_line(1, 1000, values, 90, 0) == vector


channel_values = st.builds(
    ChannelValue,
    channel=st.sampled_from(list(Channel)),
    value=st.integers(-9999, 999999).map(lambda n: n / 10),
    unit=st.sampled_from(list(Unit)),
    decimals=st.just(1),
)


@given(
    seq=st.integers(0, 65535),
    uptime=st.integers(0, 2**32),
    values=st.lists(channel_values, min_size=1, max_size=6),
    battery=st.integers(0, 100),
    status=st.integers(0, 0x7F),
)
def test_encode_decode_round_trip(
    seq: int, uptime: int, values: list[ChannelValue], battery: int, status: int
) -> None:
    frame = gasl.decode_line(gasl.encode_line(seq, uptime, values, battery, status))
    assert isinstance(frame, Frame)
    assert (frame.seq, frame.device_time_ms, frame.battery) == (seq, uptime, battery)
    assert [(cv.channel, cv.value, cv.unit) for cv in frame.values] == [
        (cv.channel, cv.value, cv.unit) for cv in values
    ]
    assert frame.status == gasl.status_from(status)


def test_noise_before_dollar_is_skipped_and_counted() -> None:
    decoder = gasl.LineDecoder()
    out = decoder.feed(b"\xff\x00garbage" + line(1) + b"zz" + line(2))
    assert [f.seq for f in frames(out)] == [1, 2]
    assert decoder.stats.noise_bytes == 9 + 2
    assert decoder.stats.corrupt_frames == 0


def test_line_split_into_ble_sized_chunks_is_reassembled() -> None:
    decoder = gasl.LineDecoder()
    data = line(5) + line(6)
    out: list[object] = []
    for i in range(0, len(data), 20):
        out += decoder.feed(data[i : i + 20])
    assert [f.seq for f in frames(out)] == [5, 6]


def test_bad_checksum_is_dropped_whole_and_counted() -> None:
    good = line(1)
    bad = good.replace(b"20.9", b"21.9")
    decoder = gasl.LineDecoder()
    out = decoder.feed(bad + line(2))
    assert [f.seq for f in frames(out)] == [2]
    errors = [m for m in out if isinstance(m, FrameError)]
    assert [e.code for e in errors] == [DriverErrorCode.BAD_CHECKSUM]
    assert decoder.stats.corrupt_frames == 1


def test_lowercase_checksum_is_rejected() -> None:
    raw = b"$GASL,2,2000,O2:19.8:%VOL,LEL:4:%LEL,H2S:12.5:ppm,CO:41:ppm,BAT:90,ST:10*4b\r\n"
    with pytest.raises(FrameError) as caught:
        gasl.decode_line(raw)
    assert caught.value.code is DriverErrorCode.MALFORMED_FRAME


def test_line_cut_short_by_a_new_line_is_dropped() -> None:
    decoder = gasl.LineDecoder()
    out = decoder.feed(line(1)[:30] + line(2))
    assert [f.seq for f in frames(out)] == [2]
    assert decoder.stats.dropped_lines == 1


def test_overlong_line_is_dropped_and_the_next_line_still_decodes() -> None:
    decoder = gasl.LineDecoder()
    out = decoder.feed(b"$GASL," + b"9" * 300 + b"\r\n" + line(3))
    assert [f.seq for f in frames(out)] == [3]
    assert decoder.stats.dropped_lines == 1
    assert any(isinstance(m, FrameError) and m.code is DriverErrorCode.FRAME_TOO_LONG for m in out)


def test_encoder_refuses_a_line_over_160_bytes() -> None:
    many = [ChannelValue(Channel.CO, 123456.7, Unit.PPM, decimals=1)] * 12
    with pytest.raises(DriverError) as caught:
        gasl.encode_line(1, 1, many, 50)
    assert caught.value.code is DriverErrorCode.INVALID_ARGUMENT


def test_sequence_gaps_are_counted_across_the_65535_wrap() -> None:
    decoder = gasl.LineDecoder()
    decoder.feed(line(65534) + line(65535) + line(0))  # wrap: no gap
    assert decoder.stats.seq_gaps == 0
    decoder.feed(line(3))  # 1 and 2 lost
    assert (decoder.stats.seq_gaps, decoder.stats.missing_frames) == (1, 2)
    # A jump of more than half the sequence space reads as a restart, not 65531 lost lines.
    decoder.feed(line(65535))
    assert (decoder.stats.seq_gaps, decoder.stats.restarts) == (1, 1)
    decoder.feed(line(2))  # 0 and 1 lost across the wrap
    assert (decoder.stats.seq_gaps, decoder.stats.missing_frames) == (2, 4)


def test_device_reboot_is_a_restart_not_65000_lost_lines() -> None:
    decoder = gasl.LineDecoder()
    decoder.feed(line(500) + line(0))
    assert decoder.stats.restarts == 1
    assert decoder.stats.missing_frames == 0


def test_info_command_and_reply_round_trip() -> None:
    cmd = gasl.encode_command("INFO")
    assert cmd.startswith(b"$CMD,INFO*") and cmd.endswith(b"\r\n")
    assert gasl.decode_line(cmd) == gasl.Command("INFO")
    info = gasl.DeviceInfo(
        "SN123", "GX-4", "2.1.0", date(2027, 1, 31), datetime(2026, 11, 28, 7, 30, tzinfo=UTC)
    )
    assert gasl.decode_line(gasl.encode_info(info)) == info


def test_status_flags_map_to_names() -> None:
    frame = gasl.decode_line(line(1, status=0x18))
    assert isinstance(frame, Frame)
    assert frame.status == {StatusFlag.LOW_BATTERY, StatusFlag.ALARM_LOW}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("GASL,1,1,XX:1:ppm,BAT:1,ST:00", DriverErrorCode.UNKNOWN_GAS),
        ("GASL,1,1,CO:1:ppb,BAT:1,ST:00", DriverErrorCode.UNKNOWN_UNIT),
        ("GASL,1,1,CO:nan:ppm,BAT:1,ST:00", DriverErrorCode.MALFORMED_FRAME),
        ("GASL,1,1,CO:1:ppm,ST:00", DriverErrorCode.MALFORMED_FRAME),
        ("GASL,70000,1,CO:1:ppm,BAT:1,ST:00", DriverErrorCode.MALFORMED_FRAME),
        ("NOPE,1", DriverErrorCode.MALFORMED_FRAME),
    ],
)
def test_malformed_lines_raise_typed_errors(text: str, code: DriverErrorCode) -> None:
    body = text.encode()
    raw = b"$" + body + b"*" + f"{gasl.checksum(body):02X}".encode() + b"\r\n"
    with pytest.raises(FrameError) as caught:
        gasl.decode_line(raw)
    assert caught.value.code is code


@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_ever_give_typed_errors(data: bytes) -> None:
    decoder = gasl.LineDecoder()
    try:
        decoder.feed(data)
        gasl.decode_line(data)
    except DriverError:
        pass


@given(position=st.integers(0, 200), replacement=st.integers(0, 255))
def test_a_corrupted_byte_never_yields_a_frame(position: int, replacement: int) -> None:
    good = bytearray(line(7))
    position %= len(good)
    if good[position] == replacement:
        return
    good[position] = replacement
    decoder = gasl.LineDecoder()
    assert frames(decoder.feed(bytes(good))) == []
