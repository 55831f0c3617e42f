"""What one simulated detector would say at scenario time ``t``: its channel values
(truth from the gas field, then noise and the faults on the timeline), its status
byte, battery, uptime and sequence number, and what its link is doing.

Transports ask :meth:`DetectorModel.output` and only turn the answer into bytes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from hil_sim.gasfield import GasField
from hil_sim.scenario import Detector, Fault, FaultKind
from permits.gases import gases
from permits.readings import STATUS_BITS, Channel, StatusFlag, Unit
from permits.units import convert, ppm_to_vol, vol_to_lel
from sensor_drivers.protocols import ChannelValue

# The device's own low-battery threshold and the charge at which it switches off.
LOW_BATTERY_PCT = 15
DEAD_BATTERY_PCT = 0.5


@dataclass(frozen=True)
class DeviceOutput:
    t: float
    values: tuple[ChannelValue, ...]
    status: int  # status byte (permits.readings.STATUS_BITS)
    battery: int
    uptime_ms: int
    seq: int
    online: bool  # False: the link is down (cable pulled, BLE lost, battery dead)
    silent: bool  # True: link up but the device sends nothing and answers nothing
    garbage: bytes = b""  # noise to put on the line before the frame
    corrupt: bool = False  # send the frame with a wrong checksum / CRC
    faults: frozenset[FaultKind] = field(default_factory=frozenset)

    @property
    def transmits(self) -> bool:
        return self.online and not self.silent


class DetectorModel:
    """One detector of a running scenario. Thread-safe: transports may call from any
    thread (the Modbus server runs on the simulator's loop, BLE on the client's)."""

    def __init__(
        self,
        spec: Detector,
        field: GasField,
        faults: list[Fault],
        *,
        start: datetime,
        seed: int,
        advance: Callable[[float], None],
    ) -> None:
        self.spec = spec
        self.point = spec.point
        self._field = field
        self._advance = advance  # brings the shared field to time t (the simulation's lock)
        self.faults = [f for f in faults if f.detector == spec.id]
        self._start = start
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._seq = -1
        self._boot_at = 0.0
        self._stuck: dict[tuple[int, Channel], float] = {}
        self._booted_for: set[int] = set()

    # --- helpers ---------------------------------------------------------------------

    def active_faults(self, t: float) -> list[Fault]:
        return [f for f in self.faults if f.active(t)]

    def move_to(self, point: str) -> None:
        """Lower or raise the probe to another sample point."""
        if point not in self._field.points:
            raise ValueError(f"point: expected one of {', '.join(self._field.points)}")
        self.point = point

    def true_value(self, channel: Channel, unit: Unit, t: float) -> float:
        """The gas field's value at the detector's point, in the channel's unit."""
        self._advance(t)
        return self._truth(channel, unit)

    def _truth(self, channel: Channel, unit: Unit, point: str | None = None) -> float:
        point = point or self.point
        if channel is Channel.O2:
            vol = self._field.o2_vol(point)
            return convert(vol, Unit.VOL, unit, gas="O2") if unit is not Unit.VOL else vol
        if channel is Channel.LEL:
            # A catalytic %LEL sensor answers to every flammable gas, each on its own LEL.
            total = 0.0
            for name, gas in gases().items():
                if gas.flammable and gas.lel_vol is not None:
                    total += vol_to_lel(ppm_to_vol(self._field.ppm(point, name)), gas.lel_vol)
            return total
        ppm = self._field.ppm(point, channel.value)
        return convert(ppm, Unit.PPM, unit, gas=channel.value)

    def uptime_ms(self, t: float) -> int:
        """The device's own clock at ``t`` (milliseconds since its last power-on)."""
        uptime_s = t - self._boot_at
        for f in self.active_faults(t):
            if f.kind is FaultKind.CLOCK_SKEW:
                uptime_s = uptime_s + f.offset_s + f.rate * (t - f.at_s)
        return max(0, int(uptime_s * 1000))

    def link_up(self, t: float) -> bool:
        """The device answers at all: no link drop, no silence, battery not flat."""
        kinds = {f.kind for f in self.active_faults(t)}
        if kinds & {FaultKind.LINK_DROP, FaultKind.SILENCE}:
            return False
        return self.battery(t) > DEAD_BATTERY_PCT

    def battery(self, t: float) -> float:
        level = self.spec.battery_pct
        for f in self.faults:
            if f.kind is FaultKind.BATTERY_DRAIN and t >= f.at_s:
                end = t if f.duration_s is None else min(t, f.at_s + f.duration_s)
                level -= f.rate * (end - f.at_s) / 3600.0
        return max(0.0, level)

    def device_date(self, t: float) -> datetime:
        return self._start + timedelta(seconds=t)

    # --- the output ------------------------------------------------------------------

    def output(self, t: float) -> DeviceOutput:
        self._advance(t)
        with self._lock:
            return self._output(t)

    def _output(self, t: float) -> DeviceOutput:
        active = self.active_faults(t)
        kinds = frozenset(f.kind for f in active)
        # A warm-up fault is a power cycle: uptime and sequence restart once.
        for i, f in enumerate(self.faults):
            if f.kind is FaultKind.WARMUP and f.active(t) and i not in self._booted_for:
                self._booted_for.add(i)
                self._boot_at = f.at_s
                self._seq = -1
        flags: set[StatusFlag] = set()
        values = []
        for ch in self.spec.channels:
            value = self._truth(ch.channel, ch.unit)
            for f in active:
                if f.channel not in (None, ch.channel):
                    continue
                if f.kind is FaultKind.DRIFT:
                    value += f.rate * (t - f.at_s) / 3600.0
            if self.spec.noise:
                value += float(self._rng.normal(0.0, self.spec.noise * ch.full_scale))
            for i, f in enumerate(self.faults):
                if f.kind is FaultKind.STUCK and f.active(t) and f.channel in (None, ch.channel):
                    value = self._stuck.setdefault((i, ch.channel), value)
            # Only gasl can carry a negative number; the binary protocols clamp at zero
            # as their firmware does. A drifting gasl sensor may read below zero.
            if value < 0 and self.spec.protocol != "gasl":
                value = 0.0
            channel_flags: frozenset[StatusFlag] = frozenset()
            if value > ch.full_scale:
                value = ch.full_scale
                channel_flags = frozenset({StatusFlag.OVERRANGE})
                flags.add(StatusFlag.OVERRANGE)
            values.append(
                ChannelValue(
                    ch.channel,
                    round(value, ch.decimals),
                    ch.unit,
                    channel_flags,
                    full_scale=ch.full_scale,
                    gas="CH4" if ch.channel is Channel.LEL else None,
                    decimals=ch.decimals,
                )
            )
        if FaultKind.SENSOR_FAULT in kinds:
            flags.add(StatusFlag.FAULT)
        if FaultKind.WARMUP in kinds:
            flags.add(StatusFlag.WARMUP)
        battery = self.battery(t)
        if battery < LOW_BATTERY_PCT:
            flags.add(StatusFlag.LOW_BATTERY)
        if self.spec.calibration_due < self.device_date(t).date():
            flags.add(StatusFlag.CALIBRATION_DUE)
        status = 0
        for flag in flags:
            status |= STATUS_BITS[flag]
        uptime_ms = self.uptime_ms(t)
        online = FaultKind.LINK_DROP not in kinds and battery > DEAD_BATTERY_PCT
        silent = FaultKind.SILENCE in kinds
        garbage = b""
        for f in active:
            if f.kind is FaultKind.GARBAGE:
                # Printable-free noise that never contains a frame start by accident.
                raw = self._rng.integers(0x80, 0xFE, size=f.garbage_bytes, dtype=np.uint8)
                garbage += raw.tobytes()
        if online and not silent:
            self._seq += 1
        return DeviceOutput(
            t=t,
            values=tuple(values),
            status=status,
            battery=round(battery),
            uptime_ms=uptime_ms,
            seq=max(0, self._seq),
            online=online,
            silent=silent,
            garbage=garbage,
            corrupt=FaultKind.CRC_ERROR in kinds,
            faults=kinds,
        )
