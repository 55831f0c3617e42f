"""The pre-entry atmosphere check (docs/rules.md, Trusting the detector and The pre-entry test).

``parse_test`` turns JSON-like input into an :class:`AtmosphereTest` or raises
:class:`~permits.errors.InvalidInput` naming the JSON path of the bad field.
``evaluate`` applies a :class:`~permits.profiles.Profile` and returns a
:class:`Verdict` listing every failing fact as one :class:`Reason`.

Missing, stale or untrusted data never reads as clean air: a missing point or
channel, a faulted sensor, an old or late sample, an expired calibration or a
missing bump test each fail the test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import ConfigDict, Field, ValidationError

from permits import units
from permits.atmosphere_codes import AtmosphereCode
from permits.errors import InvalidInput, Unmet
from permits.gases import Gas, get_gas, lel_table
from permits.i18n import gettext as _
from permits.plausible import Day, Instant, PlausibleTimes
from permits.profiles import Profile
from permits.readings import UNTRUSTED_FLAGS, Channel, StatusFlag, Unit

__all__ = [
    "AtmosphereTest",
    "Detector",
    "EntryLimit",
    "ReadingIn",
    "Reason",
    "Sample",
    "Space",
    "Verdict",
    "check_value",
    "entry_limits",
    "evaluate",
    "parse_test",
]

# Reason codes (docs/rules.md, The pre-entry test), with their texts in atmosphere_codes.
O2_LOW = AtmosphereCode.O2_LOW
O2_HIGH = AtmosphereCode.O2_HIGH
FLAMMABLE_HIGH = AtmosphereCode.FLAMMABLE_HIGH
TOXIC_HIGH = AtmosphereCode.TOXIC_HIGH
CHANNEL_MISSING = AtmosphereCode.CHANNEL_MISSING
SAMPLE_POINT_MISSING = AtmosphereCode.SAMPLE_POINT_MISSING
SENSOR_FAULT = AtmosphereCode.SENSOR_FAULT
CALIBRATION_EXPIRED = AtmosphereCode.CALIBRATION_EXPIRED
BUMP_TEST_OVERDUE = AtmosphereCode.BUMP_TEST_OVERDUE
TEST_TOO_OLD = AtmosphereCode.TEST_TOO_OLD
TEST_AFTER_ENTRY = AtmosphereCode.TEST_AFTER_ENTRY
# Warning only (docs/rules.md, Trusting the detector): never makes a test unacceptable.
LOW_BATTERY = AtmosphereCode.LOW_BATTERY

REASON_CODES = (
    O2_LOW,
    O2_HIGH,
    FLAMMABLE_HIGH,
    TOXIC_HIGH,
    CHANNEL_MISSING,
    SAMPLE_POINT_MISSING,
    SENSOR_FAULT,
    CALIBRATION_EXPIRED,
    BUMP_TEST_OVERDUE,
    TEST_TOO_OLD,
    TEST_AFTER_ENTRY,
)

# ------------------------------------------------------------------ input model

_Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
_Name = Annotated[str, Field(min_length=1, max_length=200)]


class _Strict(PlausibleTimes):
    # Unknown keys are refused: a misspelt "status" must not hide a sensor fault.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Space(_Strict):
    id: _Name
    required_channels: Annotated[list[Channel], Field(min_length=1)]
    sample_points: Annotated[list[_Name], Field(min_length=1)]
    oxygen_enriched: Annotated[bool, Field(strict=True)] = False


class Detector(_Strict):
    serial: _Name
    calibration_due: Day
    last_bump_test: Instant | None = None


class ReadingIn(_Strict):
    channel: Channel
    value: _Finite
    unit: Unit
    gas: _Name | None = None
    lel_vol: _Finite | None = None
    status: list[StatusFlag] = Field(default_factory=list)


class Sample(_Strict):
    point: _Name
    taken_at: Instant
    status: list[StatusFlag] = Field(default_factory=list)
    readings: list[ReadingIn]


class AtmosphereTest(_Strict):
    entry_at: Instant
    space: Space
    detector: Detector
    samples: list[Sample]

    @property
    def oldest_taken_at(self) -> datetime | None:
        return min((s.taken_at for s in self.samples), default=None)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _path(loc: Iterable[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


def _expected(error: Mapping[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "enum":
        return _("one of {choices}").format(choices=ctx.get("expected", ""))
    if kind == "missing":
        return _("a value (the field is required)")
    if kind == "extra_forbidden":
        return _("no such field (unknown key)")
    if kind in (
        "timezone_aware",
        "datetime_from_date_parsing",
        "datetime_parsing",
        "datetime_type",
    ):
        return _("an ISO 8601 date-time with a UTC offset, e.g. 2026-11-28T09:00:00+08:00")
    if kind in (
        "date_parsing",
        "date_type",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
    ):
        return _("a date YYYY-MM-DD")
    if kind == "finite_number":
        return _("a finite number")
    if kind in ("float_type", "float_parsing"):
        return _("a number")
    if kind in ("bool_type", "bool_parsing"):
        return _("true or false")
    if kind in ("list_type",):
        return _("a list")
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return _("an object")
    if kind in ("string_type", "string_too_short"):
        return _("a non-empty string")
    if kind == "too_short":
        return _("at least {n} item(s)").format(n=ctx.get("min_length", 1))
    return str(error.get("msg", kind))


def _invalid(loc: Iterable[int | str], expected: str, got: Any) -> InvalidInput:
    return InvalidInput(_path(loc), expected, got)


def parse_test(data: Mapping[str, Any]) -> AtmosphereTest:
    """Validate one pre-entry test; InvalidInput names the first bad field."""
    if not isinstance(data, Mapping):
        raise InvalidInput("(document)", _("a JSON object"), type(data).__name__)
    try:
        test = AtmosphereTest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        got = first.get("input")
        shown = got if isinstance(got, str | int | float | bool) or got is None else None
        raise _invalid(first["loc"], _expected(first), shown) from None
    _check_semantics(test)
    return test


def _gas_of(channel: Channel, gas: str | None) -> str | None:
    """The gas a reading measures: the channel itself, or the LEL channel's basis gas."""
    if channel is Channel.LEL:
        return gas
    return channel.value


def _check_semantics(test: AtmosphereTest) -> None:
    for i, sample in enumerate(test.samples):
        for j, reading in enumerate(sample.readings):
            base: list[int | str] = ["samples", i, "readings", j]
            channel = reading.channel
            if reading.value < 0:
                raise _invalid([*base, "value"], _("a concentration of 0 or more"), reading.value)
            if reading.lel_vol is not None and not 0 < reading.lel_vol <= 100:
                raise _invalid(
                    [*base, "lel_vol"], _("an LEL in %VOL above 0, at most 100"), reading.lel_vol
                )
            if channel is not Channel.LEL and reading.gas not in (None, channel.value):
                raise _invalid(
                    [*base, "gas"],
                    _("no gas, or {channel} (the channel's own gas)").format(channel=channel.value),
                    reading.gas,
                )
            gas_name = _gas_of(channel, reading.gas)
            gas = get_gas(gas_name) if gas_name is not None else None
            if channel is Channel.LEL and reading.gas is not None:
                if gas is None and reading.lel_vol is None:
                    raise _invalid(
                        [*base, "gas"],
                        _("a flammable gas of the LEL table ({gases}) or a lel_vol").format(
                            gases=", ".join(lel_table())
                        ),
                        reading.gas,
                    )
                if gas is not None and not gas.flammable:
                    raise _invalid(
                        [*base, "gas"],
                        _("a flammable gas of the LEL table ({gases})").format(
                            gases=", ".join(lel_table())
                        ),
                        reading.gas,
                    )
            allowed = _allowed_units(channel, gas)
            if reading.unit not in allowed:
                raise _invalid(
                    [*base, "unit"],
                    _("one of {units} for channel {channel}").format(
                        units=", ".join(u.value for u in allowed), channel=channel.value
                    ),
                    reading.unit.value,
                )
            if reading.unit is Unit.VOL and reading.value > 100:
                raise _invalid([*base, "value"], _("at most 100 %VOL"), reading.value)
            if reading.unit is Unit.PPM and reading.value > 1_000_000:
                raise _invalid([*base, "value"], _("at most 1000000 ppm"), reading.value)


def _allowed_units(channel: Channel, gas: Gas | None) -> tuple[Unit, ...]:
    if channel is Channel.O2:
        return (Unit.VOL, Unit.PPM)
    if channel is Channel.LEL:
        if gas is not None:
            return (Unit.LEL, Unit.VOL, Unit.PPM, Unit.MG_M3)
        return (Unit.LEL, Unit.VOL, Unit.PPM)
    assert gas is not None  # every other channel is a gas of the table
    if gas.flammable:
        return (Unit.VOL, Unit.LEL, Unit.PPM, Unit.MG_M3)
    return (Unit.VOL, Unit.PPM, Unit.MG_M3)


# ------------------------------------------------------------------ output model


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class Reason:
    """One failing fact. ``value`` and ``limit`` are in ``unit``."""

    code: str
    point: str | None = None
    channel: str | None = None
    value: float | None = None
    limit: float | None = None
    unit: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code}
        for key in ("point", "channel", "value", "limit", "unit"):
            item = getattr(self, key)
            if item is not None:
                out[key] = item
        return out

    def facts(self) -> dict[str, Any]:
        """Every field, with '-' for the absent ones, for message templates."""
        return {
            key: ("-" if getattr(self, key) is None else getattr(self, key))
            for key in ("point", "channel", "value", "limit", "unit")
        }

    def to_unmet(self) -> Unmet:
        return Unmet(self.code, self.facts())

    def message(self) -> str:
        return self.to_unmet().message()

    def remedy(self) -> str:
        return self.to_unmet().remedy()


@dataclass(frozen=True)
class Verdict:
    acceptable: bool
    profile: str
    reasons: tuple[Reason, ...] = ()
    # Warnings (low battery) never change ``acceptable``.
    warnings: tuple[Reason, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "acceptable": self.acceptable,
            "profile": self.profile,
            "reasons": [r.as_dict() for r in self.reasons],
        }
        if self.warnings:
            out["warnings"] = [w.as_dict() for w in self.warnings]
        return out

    def unmet(self) -> list[Unmet]:
        return [r.to_unmet() for r in self.reasons]


# ------------------------------------------------------------------ the rules


def _q(value: float) -> float:
    # Conversions multiply and divide by table figures; rounding away the last
    # bits keeps a value that sits exactly on a limit on the side the rule says.
    return round(value, 9)


def _fails(value: float, limit: float, strict: bool) -> bool:
    """strict: acceptable only when value < limit; otherwise when value <= limit."""
    return value >= limit if strict else value > limit


def _check_oxygen(
    value: float, unit: Unit, profile: Profile, oxygen_enriched: bool, point: str | None
) -> list[Reason]:
    vol = _q(value if unit is Unit.VOL else units.ppm_to_vol(value))
    rule = profile.oxygen
    if vol < rule.min_vol:
        return [
            Reason(O2_LOW, point, Channel.O2.value, _rounded(vol), rule.min_vol, Unit.VOL.value)
        ]
    upper = rule.max_for(oxygen_enriched)
    if vol > upper:
        return [Reason(O2_HIGH, point, Channel.O2.value, _rounded(vol), upper, Unit.VOL.value)]
    return []


def _check_flammable(
    channel: Channel,
    value: float,
    unit: Unit,
    gas: str | None,
    lel_vol: float | None,
    profile: Profile,
    point: str | None,
) -> list[Reason]:
    rule = profile.flammable
    known_lel = units.lel_of(gas, lel_vol)
    # An LEL channel with no gas basis: the reading must pass for every gas of the
    # LEL table, since we cannot tell which one the sensor sees (fail closed).
    candidates = [known_lel] if known_lel is not None else sorted(set(lel_table().values()))
    worst: tuple[float, Reason] | None = None
    for lel in candidates:
        if unit is Unit.LEL:
            pct_lel = value
            vol = units.lel_to_vol(value, lel)
        else:
            vol = units.ppm_to_vol(units.to_ppm(value, unit, gas=gas, lel_vol=lel_vol))
            pct_lel = units.vol_to_lel(vol, lel)
        if rule.basis == "lel":
            assert rule.max_lel is not None
            compared, limit, shown_unit = _q(pct_lel), rule.max_lel, Unit.LEL.value
        else:
            compared, limit, shown_unit = _q(vol), rule.max_vol_for(lel), Unit.VOL.value
        if _fails(compared, limit, rule.strict):
            ratio = compared / limit
            reason = Reason(
                FLAMMABLE_HIGH, point, channel.value, _rounded(compared), limit, shown_unit
            )
            if worst is None or ratio > worst[0]:
                worst = (ratio, reason)
    return [] if worst is None else [worst[1]]


def _check_toxic(
    channel: Channel,
    value: float,
    unit: Unit,
    gas: Gas,
    lel_vol: float | None,
    profile: Profile,
    point: str | None,
) -> list[Reason]:
    rule = profile.toxic
    ppm = units.to_ppm(value, unit, gas=gas.formula, lel_vol=lel_vol)
    if rule.basis == "gbz":
        base = gas.gbz_entry_limit_mg_m3
        shown_unit = Unit.MG_M3.value
        compared = _q(
            value if unit is Unit.MG_M3 else units.ppm_to_mg_m3(ppm, gas.molecular_weight)
        )
    else:
        base = gas.osha_pel_ppm
        shown_unit = Unit.PPM.value
        compared = _q(ppm)
    if base is None:  # refused when the gas table is loaded; kept for the type checker
        return [Reason(TOXIC_HIGH, point, channel.value, _rounded(compared), None, shown_unit)]
    limit = _q(base * rule.fraction_of_limit)
    if _fails(compared, limit, rule.strict):
        return [Reason(TOXIC_HIGH, point, channel.value, _rounded(compared), limit, shown_unit)]
    return []


def check_value(
    channel: Channel,
    value: float,
    unit: Unit,
    profile: Profile,
    *,
    gas: str | None = None,
    lel_vol: float | None = None,
    oxygen_enriched: bool = False,
    point: str | None = None,
) -> list[Reason]:
    """The entry limits for one trusted value: O2 range, flammable, toxic.

    Used for the pre-entry test and for every live reading during work. H2S, CO
    and NH3 are both toxic and flammable, so one value may give two reasons.
    """
    if channel is Channel.O2:
        return _check_oxygen(value, unit, profile, oxygen_enriched, point)
    reasons: list[Reason] = []
    gas_name = _gas_of(channel, gas)
    entry = get_gas(gas_name) if gas_name is not None else None
    if channel is Channel.LEL or (entry is not None and entry.flammable):
        reasons += _check_flammable(channel, value, unit, gas_name, lel_vol, profile, point)
    # The LEL channel is a combustible sensor, not a toxic-gas cell: only a
    # channel named after a toxic gas is read against that gas's limit.
    if channel is not Channel.LEL and entry is not None and entry.toxic:
        reasons += _check_toxic(channel, value, unit, entry, lel_vol, profile, point)
    return reasons


@dataclass(frozen=True)
class EntryLimit:
    """One entry limit expressed in a reading's own unit (for trends during work).

    ``falling`` marks a lower limit (oxygen deficiency).
    """

    code: str
    limit: float
    unit: str
    falling: bool = False


def entry_limits(
    channel: Channel,
    unit: Unit,
    profile: Profile,
    *,
    gas: str | None = None,
    lel_vol: float | None = None,
    oxygen_enriched: bool = False,
) -> list[EntryLimit]:
    """The limits :func:`check_value` applies to this channel, converted to ``unit``.

    Where the gas basis of an LEL channel is unknown, the lowest limit over the
    LEL table is given (the earliest warning).
    """
    if channel is Channel.O2:
        rule = profile.oxygen
        to_unit = (lambda x: x) if unit is Unit.VOL else units.vol_to_ppm
        return [
            EntryLimit(O2_LOW, to_unit(rule.min_vol), unit.value, falling=True),
            EntryLimit(O2_HIGH, to_unit(rule.max_for(oxygen_enriched)), unit.value),
        ]
    out: list[EntryLimit] = []
    gas_name = _gas_of(channel, gas)
    entry = get_gas(gas_name) if gas_name is not None else None
    if channel is Channel.LEL or (entry is not None and entry.flammable):
        rule_f = profile.flammable
        known_lel = units.lel_of(gas_name, lel_vol)
        candidates = [known_lel] if known_lel is not None else sorted(set(lel_table().values()))
        limits = []
        for lel in candidates:
            if rule_f.basis == "lel":
                assert rule_f.max_lel is not None
                limit, limit_unit = rule_f.max_lel, Unit.LEL
            else:
                limit, limit_unit = rule_f.max_vol_for(lel), Unit.VOL
            limits.append(units.convert(limit, limit_unit, unit, gas=gas_name, lel_vol=lel))
        out.append(EntryLimit(FLAMMABLE_HIGH, min(limits), unit.value))
    if channel is not Channel.LEL and entry is not None and entry.toxic:
        rule_t = profile.toxic
        if rule_t.basis == "gbz":
            base, base_unit = entry.gbz_entry_limit_mg_m3, Unit.MG_M3
        else:
            base, base_unit = entry.osha_pel_ppm, Unit.PPM
        if base is not None:
            limit = base * rule_t.fraction_of_limit
            out.append(
                EntryLimit(
                    TOXIC_HIGH, units.convert(limit, base_unit, unit, gas=entry.formula), unit.value
                )
            )
    return out


def evaluate(test: AtmosphereTest, profile: Profile) -> Verdict:
    """Every failing fact of ``test`` under ``profile`` (docs/rules.md)."""
    # A test built in code rather than by parse_test gets the same checks.
    _check_semantics(test)
    reasons: list[Reason] = []
    warnings: list[Reason] = []

    # Detector trust. The calibration date is compared with the entry's own local
    # date (its offset), not with the UTC date.
    detector = test.detector
    if detector.calibration_due < test.entry_at.date():
        reasons.append(Reason(CALIBRATION_EXPIRED))
    bump = detector.last_bump_test
    if bump is None:
        reasons.append(Reason(BUMP_TEST_OVERDUE, limit=_hours(profile.bump_test_max_age), unit="h"))
    else:
        since = test.entry_at - bump
        # A bump test after entry says nothing about the detector that took the test.
        if since > profile.bump_test_max_age or since.total_seconds() < 0:
            reasons.append(
                Reason(
                    BUMP_TEST_OVERDUE,
                    value=_rounded(since.total_seconds() / 3600),
                    limit=_hours(profile.bump_test_max_age),
                    unit="h",
                )
            )

    sampled = {s.point for s in test.samples}
    for point in dict.fromkeys(test.space.sample_points):
        if point not in sampled:
            reasons.append(Reason(SAMPLE_POINT_MISSING, point=point))

    required = list(dict.fromkeys(test.space.required_channels))
    # A required channel is missing at a point when no sample of that point has it
    # (a partial re-test of one gas next to a full sample is not a gap).
    present_at: dict[str, set[Channel]] = {}
    for sample in test.samples:
        present_at.setdefault(sample.point, set()).update(r.channel for r in sample.readings)
    # Every sample counts, duplicates for a point included: a second, cleaner
    # sample never hides a bad or old first one.
    for sample in test.samples:
        missing = [c for c in required if c not in present_at[sample.point]]
        reasons += _sample_reasons(sample, test, profile, missing, warnings)

    unique = tuple(dict.fromkeys(reasons))
    return Verdict(
        acceptable=not unique,
        profile=profile.name,
        reasons=unique,
        warnings=tuple(dict.fromkeys(warnings)),
    )


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _sample_reasons(
    sample: Sample,
    test: AtmosphereTest,
    profile: Profile,
    missing: list[Channel],
    warnings: list[Reason],
) -> list[Reason]:
    reasons: list[Reason] = []
    point = sample.point
    age = test.entry_at - sample.taken_at
    if age.total_seconds() < 0:
        reasons.append(
            # value: minutes after the entry time
            Reason(
                TEST_AFTER_ENTRY, point=point, value=_rounded(-age.total_seconds() / 60), unit="min"
            )
        )
    elif age > profile.test_max_age:
        reasons.append(
            Reason(
                TEST_TOO_OLD,
                point=point,
                value=_rounded(age.total_seconds() / 60),
                limit=profile.test_max_age.total_seconds() / 60,
                unit="min",
            )
        )

    for channel in missing:
        reasons.append(Reason(CHANNEL_MISSING, point=point, channel=channel.value))

    sample_flags = set(sample.status)
    if sample_flags & UNTRUSTED_FLAGS and not sample.readings:
        reasons.append(Reason(SENSOR_FAULT, point=point))
    for reading in sample.readings:
        flags = sample_flags | set(reading.status)
        if flags & UNTRUSTED_FLAGS:
            # No verdict for this channel, but the other channels still give theirs.
            reasons.append(Reason(SENSOR_FAULT, point=point, channel=reading.channel.value))
            continue
        if StatusFlag.LOW_BATTERY in flags:
            warnings.append(Reason(LOW_BATTERY, point=point, channel=reading.channel.value))
        reasons += check_value(
            reading.channel,
            reading.value,
            reading.unit,
            profile,
            gas=reading.gas,
            lel_vol=reading.lel_vol,
            oxygen_enriched=test.space.oxygen_enriched,
            point=point,
        )
    return reasons
