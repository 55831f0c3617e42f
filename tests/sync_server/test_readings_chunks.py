"""Readings chunks on the server: the trace's reader (the shared codec in
``permits.chunks``, turned into chart points) reads both tablet layouts exactly as the
tablet does; damaged chunks are unreadable, never guessed at; and the tablet uploads a fresh
chunk with one PUT, asking which chunks the server holds only for a backlog."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from permits.chunks import MAX_RAW_BYTES, decode_chunk, encode_chunk
from permits.readings import Channel, Reading, StatusFlag, Unit
from sync_server.services import readings as server_reader
from tablet_app.sync_client import HAVE_CHECK_ABOVE_BYTES, SyncClient
from tests.sync_server.chains import enroll_tablet
from tests.sync_server.conftest import World
from tests.tablet_app.csrc1 import encode_csrc1

T0 = datetime(2026, 11, 28, 6, 0, 0, 250000, tzinfo=UTC)


def _job(seconds: int, serial: str = "GASL-4-0001") -> list[Reading]:
    out = []
    for s in range(seconds):
        at = T0 + timedelta(milliseconds=1000 * s + (s * 31) % 40)
        flags = frozenset({StatusFlag.LOW_BATTERY}) if s > seconds - 5 else frozenset()
        for ch, v, u, gas in (
            (Channel.O2, round(20.9 - 0.1 * (s % 3), 1), Unit.VOL, None),
            (Channel.LEL, 0.0, Unit.LEL, "CH4"),
            (Channel.H2S, round(0.1 * (s % 7), 1), Unit.PPM, None),
            (Channel.CO, float(s % 4), Unit.PPM, None),
        ):
            out.append(Reading(serial, ch, v, u, flags, received_at=at, gas=gas))
    if seconds > 10:  # odd values: kept as float64, still exact
        out.append(Reading(serial, Channel.CO, 0.1 + 0.2, Unit.PPM, received_at=T0))
    return out


def _as_points(rs: list[Reading]) -> list[tuple[Any, ...]]:
    return [(r.received_at, r.channel.value, r.value, r.unit.value, r.device_serial) for r in rs]


@pytest.mark.parametrize("layout", [encode_chunk, encode_csrc1], ids=["CSRC2", "CSRC1"])
def test_the_server_reads_what_the_tablet_reads(layout: Any) -> None:
    data = layout(_job(300))
    points = server_reader.decode(data)
    assert [(p.at, p.channel, p.value, p.unit, p.serial) for p in points] == _as_points(
        decode_chunk(data)
    )


def test_csrc2_keeps_the_exact_values() -> None:
    sent = _job(120)
    points = server_reader.decode(encode_chunk(sent))
    assert sorted((p.at, p.channel, p.value) for p in points) == sorted(
        (r.received_at, r.channel.value, r.value)
        for r in sent  # type: ignore[misc]
    )


def test_damaged_chunks_are_unreadable() -> None:
    data = encode_chunk(_job(30))
    for bad in (
        data[:-2],
        data + b"\x00",
        b"CSRC2" + zlib.compress(struct.pack("<I", 2) + b"{}"),
        _claiming(data, 10**9),
        b"CSRC2" + zlib.compress(b"\x00" * (MAX_RAW_BYTES + 1), 9),
    ):
        with pytest.raises(server_reader.ChunkUnreadable):
            server_reader.decode(bad)


def _claiming(data: bytes, frames: int) -> bytes:
    """The chunk with a header that claims ``frames`` frames of every channel."""
    raw = zlib.decompress(data[5:])
    (hlen,) = struct.unpack_from("<I", raw)
    header = json.loads(raw[4 : 4 + hlen])
    header["frames"] = [[frames, 0b1111]]
    text = json.dumps(header).encode()
    return b"CSRC2" + zlib.compress(struct.pack("<I", len(text)) + text + raw[4 + hlen :])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_flipped_bytes_are_unreadable_or_a_clean_decode(data: st.DataObject) -> None:
    raw = bytearray(zlib.decompress(encode_chunk(_job(20))[5:]))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        server_reader.decode(b"CSRC2" + zlib.compress(bytes(raw)))
    except server_reader.ChunkUnreadable:
        pass


class Recording(httpx.AsyncBaseTransport):
    def __init__(self, app: Any) -> None:
        self.inner = httpx.ASGITransport(app=app)
        self.calls: list[tuple[str, str, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        self.calls.append((request.method, request.url.path, response.status_code))
        return response


def test_a_fresh_chunk_is_one_put_and_a_backlog_is_asked_about_first(
    world: World, app: Any
) -> None:
    tablet = enroll_tablet(world.client, world.h("a-admin"))
    fresh = encode_chunk(_job(300))
    backlog = [encode_chunk(_job(300, serial=f"GASL-{i}")) for i in range(20)]
    assert len(fresh) < HAVE_CHECK_ABOVE_BYTES < sum(map(len, backlog))

    async def scenario() -> list[list[tuple[str, str, int]]]:
        rounds = []
        for chunks in ([fresh], [fresh], backlog[:3], backlog):
            transport = Recording(app)
            async with SyncClient(
                "http://localhost", token=tablet.token, transport=transport
            ) as client:
                digests = await client.upload_chunks(chunks)
            assert digests == [hashlib.sha256(c).hexdigest() for c in chunks]
            rounds.append(transport.calls)
        return rounds

    first, again, three, everything = asyncio.run(scenario())
    assert [(m, s) for m, _p, s in first] == [("PUT", 201)]  # no have-check for one chunk
    assert [(m, s) for m, _p, s in again] == [("PUT", 200)]  # held already: idempotent
    assert [m for m, _p, _s in three] == ["PUT"] * 3
    # the backlog: asked first, then only the 17 the server lacks are sent
    assert next((m, p.rsplit("/", 1)[-1]) for m, p, _s in everything) == ("POST", "have")
    assert [s for m, _p, s in everything if m == "PUT"] == [201] * 17
    for data in [fresh, *backlog]:
        digest = hashlib.sha256(data).hexdigest()
        r = world.client.get(f"/api/v1/sync/chunks/{digest}", headers=tablet.headers)
        assert r.status_code == 200 and r.content == data  # stored by its content address
