"""Readings on the wire: bytes per channel-value and channel-values/s uploaded.

A job's continuous-monitoring record as the tablet makes it: one detector, four
channels at 1 Hz with the small steps real sensors show at their display resolution,
sealed a span at a time (``tablet_app.chunks.CHUNK_SPAN``, the ``ChunkRecorder``'s) by
``permits.chunks.encode_chunk``, uploaded by the tablet's ``SyncClient.upload_chunks``
to a real uvicorn server on loopback, one sync round per sealed chunk as an online
tablet does. Every byte both ways is counted at the transport (request line, headers
and body; status line, headers and body), and each chunk's ``readings_chunk_recorded``
event in the chain push is counted too (its JSON line, as pushed uncompressed). Target
(issues 6/9): <= 2 bytes per channel-value.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench import Figure


class CountingTransport(httpx.AsyncBaseTransport):
    """The real loopback transport, counting the HTTP/1.1 bytes it carries."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent = 0
        self.received = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.sent += len(f"{request.method} {request.url.raw_path.decode()} HTTP/1.1\r\n")
        self.sent += sum(len(k) + len(v) + 4 for k, v in request.headers.raw) + 2 + len(body)
        response = await self.inner.handle_async_request(request)
        content = await response.aread()
        self.received += 17 + sum(len(k) + len(v) + 4 for k, v in response.headers.raw) + 2
        self.received += len(content)
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


def readings(minutes: int, seed: int = 7, span_minutes: int = 1) -> list[list[Any]]:
    """``minutes`` of one four-gas detector at 1 Hz, one list of readings a span."""
    import numpy as np

    from permits.readings import Channel, Reading, Unit

    rng = np.random.default_rng(seed)
    start = datetime.now(UTC) - timedelta(minutes=minutes)
    o2, h2s, co = 20.9, 0.0, 0.0
    out = []
    chunk: list[Any] = []
    for minute in range(minutes):
        if minute % span_minutes == 0 and chunk:
            out.append(chunk)
            chunk = []
        for s in range(60):
            at = start + timedelta(seconds=minute * 60 + s, milliseconds=int(rng.integers(0, 40)))
            o2 = round(min(21.0, max(20.7, o2 + rng.choice([-0.1, 0, 0, 0, 0.1]))), 1)
            h2s = round(max(0.0, h2s + rng.choice([-0.1, 0, 0, 0, 0.1])), 1)
            co = max(0.0, co + rng.choice([-1, 0, 0, 0, 0, 0, 1]))
            for channel, value, unit, gas in (
                (Channel.O2, o2, Unit.VOL, None),
                (Channel.LEL, 0.0, Unit.LEL, "CH4"),
                (Channel.H2S, h2s, Unit.PPM, None),
                (Channel.CO, co, Unit.PPM, None),
            ):
                chunk.append(
                    Reading(
                        device_serial="GASL-4-0001",
                        channel=channel,
                        value=value,
                        unit=unit,
                        received_at=at,
                        gas=gas,
                    )
                )
    out.append(chunk)
    return out


def _event_bytes() -> float:
    """Mean size of a signed ``readings_chunk_recorded`` event in a push body."""
    from bench.histories import job
    from permits.integrity import DeviceKey

    chain = job("WIRE-1", DeviceKey.generate("dev"), datetime.now(UTC), 10)
    sizes = [
        len(json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode()) + 1
        for e in chain
        if e["type"] == "readings_chunk_recorded"
    ]
    return sum(sizes) / len(sizes)


async def _upload(base: str, token: str, chunks: list[bytes]) -> tuple[float, int, int]:
    from tablet_app.sync_client import SyncClient

    transport = CountingTransport()
    async with SyncClient(base.removesuffix("/api/v1"), token=token, transport=transport) as c:
        t0 = time.perf_counter()
        # one sync round a sealed chunk, as the tablet online does
        for data in chunks:
            await c.upload_chunks([data])
        elapsed = time.perf_counter() - t0
    return elapsed, transport.sent, transport.received


def run(quick: bool) -> list[Figure]:
    from bench.server import enroll, serve
    from permits.chunks import encode_chunk
    from tablet_app.chunks import CHUNK_SPAN

    minutes = 30 if quick else 480
    span = int(CHUNK_SPAN.total_seconds() // 60)
    chunks = [encode_chunk(rs) for rs in readings(minutes, span_minutes=span)]
    values = minutes * 60 * 4
    body = sum(len(c) for c in chunks)
    event = _event_bytes() * len(chunks)
    tmp = Path(tempfile.mkdtemp(prefix="cspermit-bench-"))
    with serve(f"sqlite:///{tmp}/server.db") as (_app, base), httpx.Client(timeout=60) as http:
        _key, device, _admin = enroll(http, base)
        token = device["Authorization"].split()[1]
        elapsed, sent, received = asyncio.run(_upload(base, token, chunks))
    shutil.rmtree(tmp, ignore_errors=True)
    wire = (sent + received + event) / values
    return [
        Figure(
            "readings.chunk_bytes_per_value",
            round(body / values, 3),
            "B/value",
            note=f"{len(chunks)} chunks of {span} min (CSRC2), 4 channels at 1 Hz",
        ),
        Figure(
            "readings.wire_bytes_per_value",
            round(wire, 3),
            "B/value",
            "<= 2",
            wire <= 2,
            note="HTTP both ways (every request of upload_chunks, one round a chunk) and "
            f"each chunk's chain event, over {values} channel-values",
        ),
        Figure("readings.upload_values_per_s", round(values / elapsed), "values/s"),
    ]


if __name__ == "__main__":
    for fig in run(quick=True):
        print(json.dumps(fig.as_dict(), ensure_ascii=False))
