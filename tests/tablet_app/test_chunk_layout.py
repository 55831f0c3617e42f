"""The CSRC2 readings-chunk layout: decoding gives back exactly what was recorded (the
value's every bit, the time to the ms, flags, channel keys), whatever the stream does;
old CSRC1 chunks still read; damaged bytes are a ChunkError, never a crash or a guess."""

from __future__ import annotations

import json
import math
import struct
import zlib
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from permits.chunks import MAGIC, MAX_RAW_BYTES, ChunkError, decode_chunk, encode_chunk
from permits.readings import Channel, Reading, StatusFlag, Unit
from tests.tablet_app.csrc1 import encode_csrc1

T0 = datetime(2026, 3, 2, 8, 0, 0, 123456, tzinfo=UTC)

KEYS = [
    (Channel.O2, Unit.VOL, None, None),
    (Channel.LEL, Unit.LEL, "CH4", None),
    (Channel.LEL, Unit.LEL, "C3H8", 2.1),  # the same channel with another gas: another key
    (Channel.H2S, Unit.PPM, None, None),
    (Channel.CO, Unit.PPM, None, None),
]


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


def _canon(r: Reading) -> tuple[object, ...]:
    """Everything a chunk keeps, with the value compared bit for bit (NaN, -0.0)."""
    return (
        r.device_serial,
        r.received_at,
        r.channel,
        r.unit,
        r.gas,
        r.lel_vol,
        _bits(r.value),
        r.status,
    )


def _header(data: bytes) -> dict[str, object]:
    raw = zlib.decompress(data[len(MAGIC) :])
    (hlen,) = struct.unpack_from("<I", raw)
    return dict(json.loads(raw[4 : 4 + hlen]))


def _frames(seconds: int, step_ms: int = 1000, jitter: int = 37) -> list[Reading]:
    out = []
    o2, h2s = 20.9, 0.0
    for s in range(seconds):
        at = T0 + timedelta(milliseconds=s * step_ms + (s * 7919) % jitter)
        o2 = round(20.9 + 0.1 * ((s // 7) % 3 - 1), 1)
        h2s = round(0.1 * (s % 5), 1)
        for key, value in zip(KEYS[:2] + KEYS[3:], (o2, 0.0, h2s, float(s % 3)), strict=False):
            ch, unit, gas, lel = key
            out.append(Reading("GASL-9", ch, value, unit, received_at=at, gas=gas, lel_vol=lel))
    return out


# Values as detectors give them (display resolution, negative offsets included) and as
# they should never come but might: NaN, infinities, -0.0, float noise, huge numbers.
display_values = st.builds(
    lambda n, d: round(n / 10**d, d), st.integers(-(10**6), 10**6), st.integers(0, 3)
)
any_values = st.one_of(
    display_values,
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([-0.0, 0.0, 0.1 + 0.2, 1e300, -1e-300, 2.0**60]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            # ms steps: 0 (same frame), jitter, a gap of minutes, a clock step of a day
            st.one_of(
                st.just(0), st.integers(900, 1100), st.integers(0, 10**6), st.just(86_400_000)
            ),
            st.sampled_from(range(len(KEYS))),
            st.one_of(display_values, display_values, any_values),
            st.frozensets(st.sampled_from(list(StatusFlag))),
        ),
        min_size=1,
        max_size=80,
    )
)
def test_decode_gives_back_exactly_what_was_recorded(rows: list[tuple]) -> None:  # type: ignore[type-arg]
    readings = []
    at = T0
    for step, k, value, flags in rows:
        at += timedelta(milliseconds=step)
        ch, unit, gas, lel = KEYS[k]
        readings.append(
            Reading("D-1", ch, value, unit, status=flags, received_at=at, gas=gas, lel_vol=lel)
        )
    data = encode_chunk(readings)
    back = decode_chunk(data)
    # the same multiset of readings; the chunk returns them in time order
    assert Counter(map(_canon, back)) == Counter(map(_canon, readings))
    assert [r.received_at for r in back] == sorted(r.received_at for r in readings)  # type: ignore[type-var]
    assert encode_chunk(back) == data  # one recording, one hash


def test_one_reading() -> None:
    r = Reading("D-1", Channel.H2S, 3.5, Unit.PPM, received_at=T0)
    assert decode_chunk(encode_chunk([r])) == [r]


def test_realistic_minutes_are_integers_at_display_resolution_and_small() -> None:
    readings = _frames(300)
    data = encode_chunk(readings)
    assert decode_chunk(data) == readings
    h = _header(data)
    assert [k[4] for k in h["keys"]] == [1, 0, 1, 0]  # type: ignore[attr-defined,index]
    assert h["frames"] == [[300, 0b1111]]  # one mask for the whole chunk
    assert h["status"] is False  # no flags: no status column at all
    assert len(data) / len(readings) < 0.6  # CSRC1 took ~1.1 for the same


def test_a_channel_that_joins_mid_chunk_and_flags_that_change() -> None:
    readings = _frames(40)
    for s in range(20, 40):
        at = T0 + timedelta(seconds=s, milliseconds=500)  # its own frame times
        flags = frozenset({StatusFlag.LOW_BATTERY}) if s > 30 else frozenset()
        readings.append(
            Reading("GASL-9", Channel.LEL, 1.5, Unit.LEL, flags, at, gas="C3H8", lel_vol=2.1)
        )
    back = decode_chunk(encode_chunk(readings))
    assert Counter(map(_canon, back)) == Counter(map(_canon, readings))


def test_a_channel_that_is_not_at_a_decimal_resolution_is_kept_as_float64() -> None:
    readings = _frames(10)
    odd = [
        Reading("GASL-9", Channel.CO, v, Unit.PPM, received_at=T0 + timedelta(seconds=i))
        for i, v in enumerate([0.1 + 0.2, math.pi, float("nan"), -0.0, float("inf")])
    ]
    data = encode_chunk(readings + odd)
    assert [k[4] for k in _header(data)["keys"]] == [1, 0, 1, "f8"]  # type: ignore[attr-defined,index]
    back = decode_chunk(data)
    assert Counter(map(_canon, back)) == Counter(map(_canon, readings + odd))


def test_old_csrc1_chunks_still_read() -> None:
    readings = _frames(60)
    assert decode_chunk(encode_csrc1(readings)) == readings


def test_what_a_chunk_cannot_hold_is_refused() -> None:
    with pytest.raises(ChunkError, match="at least one"):
        encode_chunk([])
    with pytest.raises(ChunkError, match="one detector"):
        encode_chunk([*_frames(1), Reading("OTHER", Channel.O2, 20.9, Unit.VOL, received_at=T0)])
    with pytest.raises(ChunkError, match="received_at"):
        encode_chunk([Reading("D", Channel.O2, 20.9, Unit.VOL)])


def _with_payload(payload: bytes) -> bytes:
    return MAGIC + zlib.compress(payload)


def test_damaged_chunks_are_refused_by_name() -> None:
    data = encode_chunk(_frames(60))
    raw = zlib.decompress(data[len(MAGIC) :])
    (hlen,) = struct.unpack_from("<I", raw)
    header = json.loads(raw[4 : 4 + hlen])

    def rebuilt(h: dict[str, object], columns: bytes | None = None) -> bytes:
        text = json.dumps(h).encode()
        cols = raw[4 + hlen :] if columns is None else columns
        return _with_payload(struct.pack("<I", len(text)) + text + cols)

    cases = {
        "truncated": data[:-3],
        "trailing": data + b"x",
        "bad magic": b"CSRC9" + data[5:],
        "columns cut": rebuilt(header, raw[4 + hlen : -1]),
        "columns long": rebuilt(header, raw[4 + hlen :] + b"\x00"),
        "unknown key": rebuilt({**header, "frames": [[60, 0b10000]]}),
        "empty frame": rebuilt({**header, "frames": [[60, 0]]}),
        "a billion frames": rebuilt({**header, "frames": [[10**9, 0b1111]]}),
        "bad dtype": rebuilt({**header, "time": "<f2"}),
        "not json": _with_payload(struct.pack("<I", 3) + b"{x]"),
        "nested": _with_payload(struct.pack("<I", 100_000) + b"[" * 100_000),
        "bomb": MAGIC + zlib.compress(b"\x00" * (MAX_RAW_BYTES + 1), 9),
    }
    for name, bad in cases.items():
        with pytest.raises(ChunkError):
            decode_chunk(bad)
        assert name  # the case names read as the list of refusals


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_flipped_bytes_are_a_chunk_error_or_a_clean_decode(data: st.DataObject) -> None:
    chunk = bytearray(encode_chunk(_frames(20)))
    raw = bytearray(zlib.decompress(bytes(chunk[len(MAGIC) :])))
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    try:
        decode_chunk(_with_payload(bytes(raw)))
    except ChunkError:
        pass
