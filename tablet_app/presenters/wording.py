"""What the guardian reads: one unit per gas, numbers at the sensor's resolution, names
instead of ids. Kivy-free.

The core states a limit in the unit of its rule (GBZ 2.1 limits in mg/m³, flammable
limits in %LEL or %VOL) and a reading in the detector's unit. On one screen a gas is
shown in one unit, the tile's (the unit the detector sends, else the channel's default
in ``tablet_app/data/display.toml``): every value and limit the screen shows for that
gas, in an alarm line, a refusal, a trend or a test result, is converted to it at the
core's molar volume (``permits.units``) and rounded to the channel's display
resolution. Only the text changes: the rules judged the recorded values.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from permits import units
from permits.errors import PermitError, Unmet
from permits.events import AlarmKind
from permits.readings import Channel, Reading, Unit
from tablet_app.i18n import N_, _

DATA = Path(__file__).resolve().parents[1] / "data" / "display.toml"

# The standard three sample points (docs/rules.md, The pre-entry test) in the
# guardian's words; a ledger's own point names are shown as the ledger writes them.
POINT_NAMES = {"top": N_("top"), "middle": N_("middle"), "bottom": N_("bottom")}

ALARM_KIND_TEXT = {
    AlarmKind.GAS: N_("{gas} alarm at {point}, {time}: not cleared"),
    AlarmKind.STEL: N_("{gas} short-term limit alarm at {point}, {time}: not cleared"),
    AlarmKind.STALE_STREAM: N_("Monitoring lost ({gas}) at {time}: not cleared"),
    AlarmKind.SENSOR_FAULT: N_("{gas} sensor fault at {time}: not cleared"),
}
# Facts that name a person in the core's unmet conditions.
PERSON_FACTS = ("person", "guardian", "entrant", "holder", "by", "owner")

GAS_UNITS = frozenset(u.value for u in Unit)

# A failed test's reasons named in a refusal (the core lists their codes).
REASON_SHORT = {
    "O2_LOW": N_("oxygen too low"),
    "O2_HIGH": N_("oxygen too high"),
    "FLAMMABLE_HIGH": N_("flammable gas too high"),
    "TOXIC_HIGH": N_("toxic gas too high"),
    "STEL_EXCEEDED": N_("above the short-term limit"),
    "STEL_TWA_EXCEEDED": N_("above the short-term limit"),
    "CHANNEL_MISSING": N_("a required gas was not measured"),
    "SAMPLE_POINT_MISSING": N_("a sample point was not tested"),
    "SENSOR_FAULT": N_("sensor fault"),
    "STREAM_STALE": N_("no live data"),
    "CALIBRATION_EXPIRED": N_("calibration out of date"),
    "BUMP_TEST_OVERDUE": N_("no bump test"),
    "TEST_TOO_OLD": N_("the test is too old"),
    "TEST_AFTER_ENTRY": N_("tested after the entry time"),
}


@dataclass(frozen=True)
class ChannelDisplay:
    unit: str
    resolution: dict[str, float]


@cache
def _table() -> tuple[dict[str, ChannelDisplay], float]:
    with DATA.open("rb") as f:
        raw = tomllib.load(f)
    table = {
        name: ChannelDisplay(
            str(entry["unit"]), {u: float(s) for u, s in entry["resolution"].items()}
        )
        for name, entry in raw["channels"].items()
    }
    return table, float(raw["fallback"]["resolution"])


def resolution(channel: str | None, unit: str | None) -> float:
    """The display step of ``channel`` in ``unit``."""
    table, fallback = _table()
    entry = table.get(channel or "")
    if entry is None or unit is None:
        return fallback
    return entry.resolution.get(unit, fallback)


def default_unit(channel: str) -> str | None:
    entry = _table()[0].get(channel)
    return entry.unit if entry else None


def decimals(step: float) -> int:
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def number(value: float, channel: str | None, unit: str | None) -> str:
    """``value`` rounded to the channel's step in ``unit``, with as many decimals as
    the step has (``0.2``, ``27``, ``20.9``); ``-0`` is shown as ``0``."""
    if not math.isfinite(value):
        return "--"
    step = resolution(channel, unit)
    places = decimals(step)
    rounded = round(round(value / step) * step, places)
    text = f"{rounded:.{places}f}"
    return f"{0:.{places}f}" if float(text) == 0 else text


def point_name(point: str | None) -> str:
    if point is None or point in ("", "-"):
        # a live reading before monitoring names no sample point: where the probe is
        return _("the probe's position")
    standard = POINT_NAMES.get(point)
    return _(standard) if standard else point


@dataclass(frozen=True)
class TileUnit:
    """The unit a gas is shown in on this screen, with what converting into it needs."""

    unit: str
    gas: str | None = None
    lel_vol: float | None = None


class Wording:
    """Renders values, limits, reasons and unmet conditions for one screen.

    ``latest`` gives a channel's latest reading (the live feed), so a gas is shown in
    the unit its tile shows; ``person_name`` turns a ledger id into a name.
    """

    def __init__(
        self,
        latest: Callable[[Channel], Reading | None] | None = None,
        person_name: Callable[[str], str] | None = None,
    ) -> None:
        self._latest = latest
        self._person_name = person_name

    def tile_unit(self, channel: str | None) -> TileUnit | None:
        if channel is None:
            return None
        reading = None
        if self._latest is not None:
            try:
                reading = self._latest(Channel(channel))
            except ValueError:
                reading = None
        if reading is not None:
            return TileUnit(reading.unit.value, reading.gas or _gas_of(channel), reading.lel_vol)
        unit = default_unit(channel)
        return TileUnit(unit, _gas_of(channel)) if unit else None

    def in_tile_unit(
        self, channel: str | None, value: float, unit: str | None
    ) -> tuple[float, str | None]:
        """``value`` converted to the tile's unit of ``channel`` (kept as it is if a
        fact the conversion needs is missing)."""
        target = self.tile_unit(channel)
        if unit not in GAS_UNITS or target is None or target.unit == unit:
            return value, unit
        try:
            converted = units.convert(
                value, Unit(unit), Unit(target.unit), gas=target.gas, lel_vol=target.lel_vol
            )
        except (PermitError, ValueError):
            return value, unit
        return converted, target.unit

    def value(self, channel: str | None, value: float, unit: str | None) -> str:
        """``"7.9 ppm"``: in the tile's unit, at the channel's resolution."""
        shown, shown_unit = self.in_tile_unit(channel, value, unit)
        text = number(shown, channel, shown_unit)
        return f"{text} {shown_unit}" if shown_unit else text

    def facts(self, facts: Mapping[str, Any]) -> dict[str, Any]:
        """The facts of a reason or unmet condition as the guardian reads them."""
        out = dict(facts)
        channel = out.get("channel") if isinstance(out.get("channel"), str) else None
        unit = out.get("unit") if isinstance(out.get("unit"), str) else None
        if unit in GAS_UNITS:
            shown_unit = unit
            for key in ("value", "limit"):
                item = out.get(key)
                if isinstance(item, int | float) and not isinstance(item, bool):
                    converted, shown_unit = self.in_tile_unit(channel, float(item), unit)
                    out[key] = number(converted, channel, shown_unit)
            out["unit"] = shown_unit
        elif unit in ("s", "h", "min"):
            for key in ("value", "limit"):  # times: whole seconds, tenths of an hour
                item = out.get(key)
                if isinstance(item, int | float) and not isinstance(item, bool):
                    out[key] = f"{float(item):.0f}" if unit == "s" else f"{float(item):g}"
        if isinstance(out.get("reasons"), str):
            codes = [c.strip() for c in out["reasons"].split(",") if c.strip()]
            out["reasons"] = _("; ").join(
                _(REASON_SHORT[c]) if c in REASON_SHORT else c for c in codes
            )
        if "point" in out:
            out["point"] = point_name(out["point"] if isinstance(out["point"], str) else None)
        if self._person_name is not None:
            for key in PERSON_FACTS:
                if isinstance(out.get(key), str) and out[key] != "-":
                    out[key] = self._person_name(out[key])
        return out

    def unmet(self, unmet: Unmet) -> Unmet:
        return Unmet(unmet.code, self.facts(unmet.facts))

    def reason(self, reason: Any) -> str:
        """A core ``Reason`` (or its dict) as one line in the tile's unit."""
        facts = reason.facts() if hasattr(reason, "facts") else dict(reason)
        code = reason.code if hasattr(reason, "code") else str(facts.pop("code"))
        return self.unmet(Unmet(code, facts)).message()

    def alarm_line(
        self, kind: AlarmKind, channel: str | None, point: str | None, at: datetime
    ) -> str:
        """An active alarm by gas, point and time (never its id)."""
        return _(ALARM_KIND_TEXT.get(kind, ALARM_KIND_TEXT[AlarmKind.GAS])).format(
            gas=channel or _("all gases"),
            point=point_name(point),
            time=f"{at:%H:%M:%S}",
        )

    def trend(self, channel: str, seconds: float, rising: bool) -> str:
        """``H2S rising, alarm in about 4 min`` (seconds below a minute)."""
        when = self.time_to_alarm(seconds)
        template = (
            N_("{channel} rising, alarm in about {when}")
            if rising
            else N_("{channel} falling, alarm in about {when}")
        )
        return _(template).format(channel=channel, when=when)

    @staticmethod
    def time_to_alarm(seconds: float) -> str:
        if seconds < 60:
            return _("{n} s").format(n=max(1, round(seconds)))
        return _("{n} min").format(n=round(seconds / 60))


def _gas_of(channel: str) -> str | None:
    # A toxic channel is named by its gas's formula; flammable %LEL channels convert
    # with the reading's own LEL (or methane's, the table's default for "LEL").
    return "CH4" if channel == "LEL" else channel
