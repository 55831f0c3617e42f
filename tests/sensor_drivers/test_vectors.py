"""Every shared vector decodes to its stated values; every invalid one raises a typed error."""

from __future__ import annotations

from typing import Any

import pytest

from permits.readings import Channel, Unit, flags_from_byte
from sensor_drivers import DriverErrorCode, FrameError
from sensor_drivers.protocols import Frame, ess, gasl, winsen

from .vectors import ids, load

GASL = load("gasl")
WINSEN = load("winsen-uart")
ESS = load("ess")

REASONS = {"checksum": DriverErrorCode.BAD_CHECKSUM, "NaN": DriverErrorCode.VALUE_NOT_AVAILABLE}


@pytest.mark.parametrize("vector", GASL, ids=ids(GASL))
def test_gasl_vector(vector: dict[str, Any]) -> None:
    line = vector["line"].encode("ascii")
    if not vector["valid"]:
        with pytest.raises(FrameError) as caught:
            gasl.decode_line(line)
        assert caught.value.code is REASONS[vector["why"]]
        return
    frame = gasl.decode_line(line)
    assert isinstance(frame, Frame)
    assert frame.seq == vector["seq"]
    assert frame.battery == vector["battery"]
    assert frame.status == flags_from_byte(vector["status"])
    got = [(cv.channel.value, cv.value, cv.unit.value) for cv in frame.values]
    assert got == [(r["channel"], r["value"], r["unit"]) for r in vector["readings"]]


@pytest.mark.parametrize("vector", GASL, ids=ids(GASL))
def test_gasl_stream_decoder_agrees_with_line_decoder(vector: dict[str, Any]) -> None:
    decoder = gasl.LineDecoder()
    out = decoder.feed(b"\x00noise" + vector["line"].encode("ascii"))
    assert len(out) == 1
    if vector["valid"]:
        assert isinstance(out[0], Frame) and decoder.stats.frames == 1
    else:
        assert isinstance(out[0], FrameError) and decoder.stats.corrupt_frames == 1


@pytest.mark.parametrize("vector", WINSEN, ids=ids(WINSEN))
def test_winsen_vector(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    if not vector["valid"]:
        with pytest.raises(FrameError) as caught:
            winsen.decode_frame(raw)
        assert caught.value.code is REASONS[vector["why"]]
        return
    (cv,) = winsen.decode_frame(raw).values
    assert cv.channel == Channel(vector["channel"])
    assert cv.unit == Unit(vector["unit"])
    assert cv.value == pytest.approx(vector["value"])
    assert cv.full_scale == pytest.approx(vector["full_scale"])


@pytest.mark.parametrize("vector", ESS, ids=ids(ESS))
def test_ess_vector(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    if not vector["valid"]:
        with pytest.raises(FrameError) as caught:
            ess.decode_characteristic(vector["uuid"], raw)
        assert caught.value.code is REASONS[vector["why"]]
        return
    m = ess.decode_characteristic(vector["uuid"], raw)
    assert m.channel == Channel(vector["channel"])
    if "kg_m3" in vector:
        assert m.kg_m3 == pytest.approx(vector["kg_m3"])
        assert m.ppm == pytest.approx(vector["ppm_approx"], abs=0.01)
    else:
        assert m.ppm == vector["ppm"]
