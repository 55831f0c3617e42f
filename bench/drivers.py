"""Driver figures: parser throughput and pty latency (frame written → reading yielded).

``run(quick)`` returns :class:`bench.Figure` items. The latency target (p99 < 20 ms)
comes from issue 3; throughput figures have no target.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import tty

from bench import Figure


def _rate(name: str, per_call: int, fn: object, seconds: float) -> Figure:
    assert callable(fn)
    calls = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        calls += 1
    return Figure(f"drivers.{name}", round(calls * per_call / elapsed), "frames/s")


def _parser_figures(seconds: float) -> list[Figure]:
    from permits.readings import Channel, Unit
    from sensor_drivers.protocols import ChannelValue, ess, gasl, modbus_gt4, winsen

    values = [
        ChannelValue(Channel.O2, 20.9, Unit.VOL, decimals=1),
        ChannelValue(Channel.LEL, 0, Unit.LEL, decimals=0),
        ChannelValue(Channel.H2S, 1.5, Unit.PPM, decimals=1),
        ChannelValue(Channel.CO, 3, Unit.PPM, decimals=0),
    ]
    batch = 100
    gasl_bytes = b"".join(gasl.encode_line(i, i * 1000, values, 80, 0) for i in range(batch))
    winsen_bytes = winsen.encode_frame(Channel.CO, Unit.PPM, 35, 1000) * batch
    regs = modbus_gt4.register_image(values)
    ess_uuid, ess_bytes = ess.encode_characteristic(Channel.CO, 35.0)
    return [
        _rate("gasl_parse", batch, lambda: gasl.LineDecoder().feed(gasl_bytes), seconds),
        _rate("winsen_parse", batch, lambda: winsen.FrameDecoder().feed(winsen_bytes), seconds),
        _rate("modbus_gt4_decode", 1, lambda: modbus_gt4.decode_image(regs), seconds),
        _rate("ess_decode", 1, lambda: ess.decode_characteristic(ess_uuid, ess_bytes), seconds),
    ]


async def _pty_latency(samples: int) -> list[float]:
    from permits.readings import Channel, Unit
    from sensor_drivers import DetectorSession
    from sensor_drivers.protocols import ChannelValue, gasl

    master, slave = os.openpty()
    tty.setraw(master)
    latencies: list[float] = []
    try:
        session = DetectorSession.serial(os.ttyname(slave), "gasl")
        async with session:
            readings = session.readings()
            await asyncio.sleep(0.05)  # let pyserial open and flush before timing
            # Warm-up: the first line waits (up to info_wait_s) for an INFO reply this pty
            # never sends; steady-state latency is what the guardian sees.
            os.write(
                master, gasl.encode_line(0, 0, [ChannelValue(Channel.CO, 0.0, Unit.PPM)], 90, 0)
            )
            await anext(readings)
            for seq in range(1, samples + 1):
                line = gasl.encode_line(
                    seq, seq, [ChannelValue(Channel.CO, float(seq % 50), Unit.PPM)], 90, 0
                )
                os.write(master, line)
                written = time.perf_counter()  # the last byte is in the pty now
                await anext(readings)
                latencies.append((time.perf_counter() - written) * 1000)
                await asyncio.sleep(0.005)
    finally:
        os.close(master)
        os.close(slave)
    return latencies


def run(quick: bool) -> list[Figure]:
    figures = _parser_figures(0.2 if quick else 1.0)
    latencies = asyncio.run(_pty_latency(100 if quick else 1000))
    quantiles = statistics.quantiles(latencies, n=100)
    p50, p99 = statistics.median(latencies), quantiles[98]
    figures.append(Figure("drivers.pty_latency_p50", round(p50, 3), "ms"))
    figures.append(Figure("drivers.pty_latency_p99", round(p99, 3), "ms", "< 20", p99 < 20))
    return figures
