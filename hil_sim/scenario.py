"""Scenario files: a space, its gas sources, its ventilation, its detectors and a
fault timeline, in TOML, validated with pydantic.

Every error names the key that is wrong and what was expected, e.g.
``detectors[2].transport: expected one of pty, socket, ble``.
"""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hil_sim.errors import ScenarioError, SimErrorCode
from hil_sim.i18n import gettext as _
from permits.readings import Channel, Unit

SCENARIO_DIR = Path(__file__).parent / "scenarios"

Protocol = Literal["gasl", "modbus-gt4", "winsen-uart"]
Transport = Literal["pty", "socket", "ble"]
Stratification = Literal["auto", "sink", "rise", "mixed"]
# Gases the field can carry. N2 stands for nitrogen *in excess of air* (a purge).
FieldGas = Literal["H2S", "CO", "CO2", "CH4", "NH3", "H2", "C3H8", "SO2", "NO2", "Cl2", "N2"]


class FaultKind(StrEnum):
    LINK_DROP = "link_drop"  # transport gone: BLE disconnect, socket closed, no answers
    SILENCE = "silence"  # link up, device sends nothing
    GARBAGE = "garbage"  # noise bytes between frames
    CRC_ERROR = "crc_error"  # frames with a wrong checksum / CRC
    SENSOR_FAULT = "sensor_fault"  # device sets its fault flag
    WARMUP = "warmup"  # power cycle: uptime and seq restart, warm-up flag set
    DRIFT = "drift"  # reading walks away from the truth at `rate` units per hour
    STUCK = "stuck"  # reading frozen at the value it had when the fault began
    BATTERY_DRAIN = "battery_drain"  # battery falls at `rate` % per hour
    CLOCK_SKEW = "clock_skew"  # device clock jumps by `offset_s` and runs at (1 + `rate`)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SamplePoint(_Model):
    name: str = Field(min_length=1)
    height_m: float = Field(ge=0)
    # Share of the space's volume this zone holds; default: equal shares.
    volume_share: float | None = Field(default=None, gt=0, le=1)


class Space(_Model):
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    volume_m3: float = Field(gt=0)
    height_m: float = Field(gt=0)
    points: list[SamplePoint] = Field(min_length=1)
    # Channels the space's ledger entry requires at every sample point.
    required_channels: list[Channel] = Field(min_length=1)
    # Turbulent exchange between neighbouring zones, in exchanges of the smaller zone per hour.
    mixing_per_h: float = Field(default=2.0, ge=0)
    # How fast a gas heavier (lighter) than air settles down (rises), per hour per unit of
    # relative density difference. Calm air in a tank: strong; a stirred pit: weaker.
    stratification_per_h: float = Field(default=6.0, ge=0)

    @model_validator(mode="after")
    def _points(self) -> Space:
        names = [p.name for p in self.points]
        if len(set(names)) != len(names):
            raise ValueError("points: " + _("sample point names must be unique"))
        for p in self.points:
            if p.height_m > self.height_m:
                raise ValueError(
                    "points: " + _("{point} is above the space's height_m").format(point=p.name)
                )
        shares = [p.volume_share for p in self.points]
        if any(s is not None for s in shares):
            if any(s is None for s in shares):
                raise ValueError("points: " + _("give volume_share for every point or for none"))
            if abs(sum(s for s in shares if s is not None) - 1.0) > 1e-6:
                raise ValueError("points: " + _("volume_share must add up to 1"))
        return self


class Initial(_Model):
    gas: FieldGas
    point: str
    ppm: float = Field(ge=0, le=1_000_000)


class Source(_Model):
    gas: FieldGas
    # Pure gas released, litres per minute at 20 °C, 101.325 kPa.
    rate_l_per_min: float = Field(ge=0)
    start_s: float = Field(default=0, ge=0)
    end_s: float | None = Field(default=None, gt=0)
    # auto: from density relative to air (H2S, CO2 sink; CH4, H2 rise).
    stratification: Stratification = "auto"
    # Zone the gas is released into; default: bottom for sinking gas, top for rising.
    point: str | None = None


class VentilationStep(_Model):
    at_s: float = Field(ge=0)
    ach: float = Field(ge=0, description="air changes per hour from at_s on")


class DetectorChannel(_Model):
    channel: Channel
    unit: Unit
    decimals: int = Field(default=1, ge=0, le=3)
    full_scale: float = Field(default=100.0, gt=0)


class Detector(_Model):
    id: str = Field(min_length=1)
    serial: str = Field(min_length=1)
    model: str = "SIM"
    firmware: str = "1.0"
    protocol: Protocol
    transport: Transport
    point: str
    channels: list[DetectorChannel] = Field(min_length=1)
    calibration_due: date
    last_bump: datetime | None = None
    period_s: float = Field(default=1.0, gt=0)
    battery_pct: float = Field(default=90, ge=0, le=100)
    # Relative noise (standard deviation as a fraction of full scale); 0 = exact.
    noise: float = Field(default=0.0, ge=0, le=0.1)
    # Modbus only
    slave_id: int = Field(default=1, ge=1, le=247)
    vendor_map: Literal["gt4", "honeywell-xnx", "draeger-polytron8000"] = "gt4"
    baudrate: int = Field(default=9600, gt=0)
    # BLE only: latency of each notification and whether connecting fails at first.
    ble_latency_ms: float = Field(default=5.0, ge=0)
    ble_connect_failures: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _combination(self) -> Detector:
        if self.transport == "ble" and self.protocol != "gasl":
            raise ValueError("transport: " + _("ble carries only the gasl protocol"))
        if self.protocol == "winsen-uart" and len(self.channels) != 1:
            raise ValueError("channels: " + _("a winsen-uart module measures exactly one gas"))
        if self.protocol == "modbus-gt4" and self.vendor_map != "gt4" and len(self.channels) != 1:
            raise ValueError("channels: " + _("a vendor map carries exactly one channel"))
        if self.last_bump is not None and self.last_bump.tzinfo is None:
            raise ValueError("last_bump: " + _("expected a time with a UTC offset"))
        return self


class Fault(_Model):
    detector: str
    kind: FaultKind
    at_s: float = Field(ge=0)
    duration_s: float | None = Field(default=None, gt=0, description="None: until the end")
    channel: Channel | None = None  # drift / stuck: one channel, default all
    rate: float = 0.0  # drift: units per hour; battery_drain: % per hour; clock_skew: ratio
    offset_s: float = 0.0  # clock_skew: jump of the device clock
    garbage_bytes: int = Field(default=16, ge=1, le=1024)

    def active(self, t: float) -> bool:
        return t >= self.at_s and (self.duration_s is None or t < self.at_s + self.duration_s)


class Meta(_Model):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str
    title_zh: str
    start: datetime
    duration_s: float = Field(gt=0)
    seed: int = 0
    step_s: float = Field(default=1.0, gt=0, le=60)

    @model_validator(mode="after")
    def _aware(self) -> Meta:
        if self.start.tzinfo is None:
            raise ValueError("start: " + _("expected a time with a UTC offset"))
        return self


class Scenario(_Model):
    scenario: Meta
    space: Space
    initial: list[Initial] = []
    sources: list[Source] = []
    ventilation: list[VentilationStep] = []
    detectors: list[Detector] = Field(min_length=1)
    faults: list[Fault] = []

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        points = {p.name for p in self.space.points}
        problems = []
        for i, init in enumerate(self.initial):
            if init.point not in points:
                problems.append(f"initial[{i}].point: {_one_of(sorted(points))}")
        for i, src in enumerate(self.sources):
            if src.point is not None and src.point not in points:
                problems.append(f"sources[{i}].point: {_one_of(sorted(points))}")
            if src.end_s is not None and src.end_s <= src.start_s:
                problems.append(f"sources[{i}].end_s: " + _("expected a time after start_s"))
        ids = [d.id for d in self.detectors]
        for i, det in enumerate(self.detectors):
            if det.point not in points:
                problems.append(f"detectors[{i}].point: {_one_of(sorted(points))}")
            if ids.count(det.id) > 1:
                problems.append(f"detectors[{i}].id: " + _("{id} is used twice").format(id=det.id))
        times = [v.at_s for v in self.ventilation]
        if times != sorted(times):
            problems.append("ventilation: " + _("steps must be in time order"))
        for i, fault in enumerate(self.faults):
            if fault.detector not in ids:
                problems.append(f"faults[{i}].detector: {_one_of(ids)}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def start(self) -> datetime:
        return self.scenario.start.astimezone(UTC)

    def detector(self, detector_id: str) -> Detector:
        for det in self.detectors:
            if det.id == detector_id:
                return det
        raise KeyError(detector_id)


def _one_of(choices: list[str]) -> str:
    return _("expected one of {choices}").format(choices=", ".join(choices))


def _path_of(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("function-after", "function-before") or "[" in str(part):
            continue
        else:
            out += ("." if out else "") + str(part)
    return out


def _problem(err: Any) -> tuple[str, str]:
    path = _path_of(tuple(err["loc"]))
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "literal_error":
        expected = str(ctx.get("expected", "")).replace("'", "")
        expected = expected.replace(" or ", ", ")
        return path, _one_of(expected.split(", "))
    if kind == "enum":
        expected = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return path, _one_of(expected.split(", "))
    if kind == "extra_forbidden":
        return path, _("unknown key")
    if kind == "missing":
        return path, _("required key is missing")
    if kind == "value_error":
        # Our own validators put "key: message" in the text; keep them as separate problems.
        message = str(ctx.get("error", err["msg"]))
        return path, message
    return path, _("{problem} (got {value})").format(
        problem=err["msg"], value=repr(err.get("input"))
    )


def _split(path: str, message: str) -> list[tuple[str, str]]:
    out = []
    for part in message.split("; "):
        head, sep, tail = part.partition(": ")
        if sep and " " not in head:
            full = f"{path}.{head}" if path and not head.startswith("[") else path + head
            out.append((full if path else head, tail))
        else:
            out.append((path, part))
    return out


def parse_scenario(data: dict[str, Any], origin: str = "<scenario>") -> Scenario:
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems: list[tuple[str, str]] = []
        for err in exc.errors():
            path, message = _problem(err)
            problems.extend(
                _split(path, message) if err["type"] == "value_error" else [(path, message)]
            )
        text = "; ".join(f"{p}: {m}" if p else m for p, m in problems)
        raise ScenarioError(SimErrorCode.SCENARIO_INVALID, f"{origin}: {text}", problems) from None


def list_scenarios() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (``molasses-tank``) or any TOML file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = SCENARIO_DIR / f"{name_or_path}.toml"
    if not path.is_file():
        raise ScenarioError(
            SimErrorCode.SCENARIO_NOT_FOUND,
            f"{name_or_path} (shipped: {', '.join(list_scenarios())})",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(SimErrorCode.SCENARIO_SYNTAX, f"{path.name}: {exc}") from None
    return parse_scenario(data, path.name)
