"""Atmosphere profiles: the acceptance rules of one standard, loaded from data.

Each profile is a TOML file in ``permits/data/profiles/`` (docs/rules.md, Profiles);
every rule carries its source. An enterprise may tighten a profile with an
override (:func:`apply_override`); a looser override is refused with a
:class:`~permits.errors.ProfileError` naming the field and both values.
"""

from __future__ import annotations

import copy
import json
import math
import tomllib
from collections.abc import Callable, Mapping
from datetime import timedelta
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from permits.errors import ProfileError
from permits.i18n import gettext as _

PROFILES_DIR = Path(__file__).parent / "data" / "profiles"
DEFAULT_PROFILE = "cn-gongmao"


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str


class OxygenRule(_Rule):
    """Acceptable oxygen, inclusive bounds in %VOL."""

    min_vol: float = Field(gt=0, lt=100)
    max_vol: float = Field(gt=0, lt=100)
    # Upper bound when the space is flagged oxygen-enriched (GB 30871 §6.4).
    max_vol_enriched: float = Field(gt=0, lt=100)

    @model_validator(mode="after")
    def _ordered(self) -> OxygenRule:
        if not self.min_vol < self.max_vol <= self.max_vol_enriched:
            raise ValueError("expected min_vol < max_vol <= max_vol_enriched")
        return self

    def max_for(self, oxygen_enriched: bool) -> float:
        return self.max_vol_enriched if oxygen_enriched else self.max_vol


class FlammableRule(_Rule):
    """Either %LEL against one limit, or %VOL against a limit chosen by the gas's LEL."""

    basis: Literal["lel", "vol_by_lel"]
    max_lel: float | None = Field(default=None, gt=0, le=100)
    lel_threshold_vol: float | None = Field(default=None, gt=0)
    max_vol_lel_at_or_above: float | None = Field(default=None, gt=0)
    max_vol_lel_below: float | None = Field(default=None, gt=0)
    # strict: acceptable only when value < limit; otherwise value <= limit.
    strict: bool

    @model_validator(mode="after")
    def _complete(self) -> FlammableRule:
        if self.basis == "lel" and self.max_lel is None:
            raise ValueError("basis 'lel' needs max_lel")
        if self.basis == "vol_by_lel" and None in (
            self.lel_threshold_vol,
            self.max_vol_lel_at_or_above,
            self.max_vol_lel_below,
        ):
            raise ValueError(
                "basis 'vol_by_lel' needs lel_threshold_vol, max_vol_lel_at_or_above "
                "and max_vol_lel_below"
            )
        return self

    def max_vol_for(self, lel_vol: float) -> float:
        """The %VOL limit for a gas whose LEL is ``lel_vol`` (basis ``vol_by_lel``)."""
        assert self.lel_threshold_vol is not None
        assert self.max_vol_lel_at_or_above is not None
        assert self.max_vol_lel_below is not None
        if lel_vol >= self.lel_threshold_vol:
            return self.max_vol_lel_at_or_above
        return self.max_vol_lel_below


class ToxicRule(_Rule):
    """``gbz``: MAC, or PC-TWA where no MAC (mg/m³); ``osha_pel``: the PEL (ppm)."""

    basis: Literal["gbz", "osha_pel"]
    strict: bool
    # An enterprise may require a fraction of the limit (for example 0.5).
    fraction_of_limit: float = Field(default=1.0, gt=0, le=1)


class DetectorRule(_Rule):
    bump_test_max_age_hours: float = Field(gt=0)


class MonitoringRule(_Rule):
    stale_after_s: float = Field(gt=0)
    stel_window_min: float = Field(gt=0)
    twa_hours: float = Field(gt=0)
    trend_window_min: float = Field(gt=0)
    trend_warning_min: float = Field(gt=0)

    @property
    def stale_after(self) -> timedelta:
        return timedelta(seconds=self.stale_after_s)

    @property
    def stel_window(self) -> timedelta:
        return timedelta(minutes=self.stel_window_min)

    @property
    def twa_period(self) -> timedelta:
        return timedelta(hours=self.twa_hours)


class _Minutes(_Rule):
    minutes: float = Field(ge=0)


class _Hours(_Rule):
    hours: float = Field(gt=0)


class _Retest(_Rule):
    continuous_required: bool
    minutes: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _complete(self) -> _Retest:
        if not self.continuous_required and self.minutes is None:
            raise ValueError("expected minutes unless continuous_required = true")
        return self


class _ProfileFile(BaseModel):
    """The TOML file as written; :class:`Profile` is what the rules read."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    title: str
    default: bool = False
    sources: dict[str, str]
    oxygen: OxygenRule
    flammable: FlammableRule
    toxic: ToxicRule
    test_max_age: _Minutes
    retest_interval: _Retest
    retest_after_interruption: _Minutes
    permit_validity: _Hours
    detector: DetectorRule
    monitoring: MonitoringRule


class Profile(BaseModel):
    """One atmosphere profile (docs/rules.md, Profiles).

    ``retest_interval`` None means continuous monitoring is required;
    ``retest_after_interruption`` zero means any interruption needs a re-test.
    ``rule_sources`` maps each rule name to its citation.
    """

    model_config = ConfigDict(frozen=True)

    name: str
    title: str
    oxygen: OxygenRule
    flammable: FlammableRule
    toxic: ToxicRule
    test_max_age: timedelta
    retest_interval: timedelta | None
    retest_after_interruption: timedelta
    permit_validity: timedelta
    bump_test_max_age: timedelta
    monitoring: MonitoringRule
    sources: dict[str, str]
    rule_sources: dict[str, str]
    # The file's own form, kept so that an override can be merged and re-checked.
    raw: dict[str, Any] = Field(repr=False)

    @property
    def continuous_monitoring_required(self) -> bool:
        return self.retest_interval is None

    def needs_retest_after(self, interruption: timedelta) -> bool:
        """Whether an interruption this long requires ventilating and re-testing."""
        if self.retest_after_interruption == timedelta(0):
            return interruption > timedelta(0)
        return interruption > self.retest_after_interruption


def _build(raw: Mapping[str, Any], origin: str) -> Profile:
    try:
        data = _ProfileFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(file)"
        raise ProfileError(
            _("profile {origin}: field {field}: {problem}").format(
                origin=origin, field=where, problem=first["msg"]
            )
        ) from exc
    rule_sources = {
        "oxygen": data.oxygen.source,
        "flammable": data.flammable.source,
        "toxic": data.toxic.source,
        "test_max_age": data.test_max_age.source,
        "retest_interval": data.retest_interval.source,
        "retest_after_interruption": data.retest_after_interruption.source,
        "permit_validity": data.permit_validity.source,
        "detector": data.detector.source,
        "monitoring": data.monitoring.source,
    }
    retest = data.retest_interval
    return Profile(
        name=data.name,
        title=data.title,
        oxygen=data.oxygen,
        flammable=data.flammable,
        toxic=data.toxic,
        test_max_age=timedelta(minutes=data.test_max_age.minutes),
        retest_interval=(
            None
            if retest.continuous_required or retest.minutes is None
            else timedelta(minutes=retest.minutes)
        ),
        retest_after_interruption=timedelta(minutes=data.retest_after_interruption.minutes),
        permit_validity=timedelta(hours=data.permit_validity.hours),
        bump_test_max_age=timedelta(hours=data.detector.bump_test_max_age_hours),
        monitoring=data.monitoring,
        sources=dict(data.sources),
        rule_sources=rule_sources,
        raw=copy.deepcopy(dict(raw)),
    )


def list_profiles() -> list[str]:
    return sorted(path.stem for path in PROFILES_DIR.glob("*.toml"))


@cache
def load_profile(name: str = DEFAULT_PROFILE) -> Profile:
    known = list_profiles()
    if name not in known:
        raise ProfileError(
            _("unknown profile {name!r}: expected one of {known}").format(
                name=name, known=", ".join(known)
            ),
            code="PROFILE_UNKNOWN",
        )
    path = PROFILES_DIR / f"{name}.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"profile {name}: cannot read {path}: {exc}") from exc
    profile = _build(raw, name)
    if profile.name != name:
        raise ProfileError(f"profile file {path.name} names itself {profile.name!r}")
    return profile


def profile_for(name: str, override: Mapping[str, Any] | None = None) -> Profile:
    """Profile ``name`` with the enterprise's ``override`` applied (None: as shipped).

    What a permit runs: its drafted snapshot carries both (``SpaceSnapshot.profile``
    and ``profile_override``), so the tablet and the server's replay judge with the
    same rules. A looser override raises :class:`ProfileError` (``OVERRIDE_LOOSER``).
    """
    if not override:
        return load_profile(name)
    return _with_override(name, json.dumps(override, sort_keys=True))


@cache
def _with_override(name: str, override_json: str) -> Profile:
    return apply_override(load_profile(name), json.loads(override_json))


# ---------------------------------------------------------------- overrides

# For each overridable field (path in the file's form): how to tell that the new
# value is at least as strict as the old one. Anything else may not be changed.
_Stricter = Callable[[Any, Any], bool]


def _not_higher(old: Any, new: Any) -> bool:
    return bool(new <= old)


def _not_lower(old: Any, new: Any) -> bool:
    return bool(new >= old)


def _strict_kept(old: Any, new: Any) -> bool:
    # strict comparison (<) is stricter than <=; going back to <= loosens.
    return bool(new or not old)


def _continuous_kept(old: Any, new: Any) -> bool:
    return bool(new or not old)


def _same(old: Any, new: Any) -> bool:
    return bool(old == new)


_OVERRIDABLE: dict[tuple[str, ...], _Stricter] = {
    ("title",): lambda old, new: True,
    ("oxygen", "min_vol"): _not_lower,
    ("oxygen", "max_vol"): _not_higher,
    ("oxygen", "max_vol_enriched"): _not_higher,
    ("flammable", "basis"): _same,
    ("flammable", "max_lel"): _not_higher,
    # A higher threshold puts more gases under the lower %VOL limit.
    ("flammable", "lel_threshold_vol"): _not_lower,
    ("flammable", "max_vol_lel_at_or_above"): _not_higher,
    ("flammable", "max_vol_lel_below"): _not_higher,
    ("flammable", "strict"): _strict_kept,
    ("toxic", "basis"): _same,
    ("toxic", "strict"): _strict_kept,
    ("toxic", "fraction_of_limit"): _not_higher,
    ("test_max_age", "minutes"): _not_higher,
    ("retest_interval", "continuous_required"): _continuous_kept,
    ("retest_interval", "minutes"): _not_higher,
    ("retest_after_interruption", "minutes"): _not_higher,
    ("permit_validity", "hours"): _not_higher,
    ("detector", "bump_test_max_age_hours"): _not_higher,
    ("monitoring", "stale_after_s"): _not_higher,
    ("monitoring", "stel_window_min"): _same,
    ("monitoring", "twa_hours"): _same,
    ("monitoring", "trend_window_min"): _same,
    # Warning earlier is stricter.
    ("monitoring", "trend_warning_min"): _not_lower,
}


def _flatten(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    flat: dict[tuple[str, ...], Any] = {}
    for key, value in data.items():
        path = (*prefix, str(key))
        if isinstance(value, Mapping):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if _is_number(value):
        return "a number"
    return "a string" if isinstance(value, str) else type(value).__name__


def apply_override(profile: Profile, override: Mapping[str, Any]) -> Profile:
    """``profile`` tightened by an enterprise ``override`` (same shape as the file).

    Only the fields in ``_OVERRIDABLE`` may be given; each must be at least as
    strict as the profile's value. ``name`` names the override (the result is
    called ``<profile>+<name>``); a ``source`` key per table is recorded.
    """
    label = str(override.get("name", "override"))
    body = {k: v for k, v in override.items() if k != "name"}
    merged = copy.deepcopy(profile.raw)
    for path, new in _flatten(body).items():
        field = ".".join(path)
        if path[-1] == "source" and len(path) == 2:
            merged.setdefault(path[0], {})[path[1]] = f"{new} (enterprise override {label})"
            continue
        rule = _OVERRIDABLE.get(path)
        if rule is None:
            raise ProfileError(
                _("override field {field} cannot be changed").format(field=field),
                code="OVERRIDE_FIELD",
            )
        old: Any = profile.raw
        for part in path:
            old = old.get(part) if isinstance(old, Mapping) else None
        if _is_number(new) and isinstance(new, float) and not math.isfinite(new):
            raise ProfileError(
                _("override field {field}: expected a finite number").format(field=field),
                code="OVERRIDE_INVALID",
            )
        if old is not None and _kind(old) != _kind(new):
            raise ProfileError(
                _("override field {field}: expected {kind}, got {new!r}").format(
                    field=field, kind=_kind(old), new=new
                ),
                code="OVERRIDE_INVALID",
            )
        if old is not None and not rule(old, new):
            raise ProfileError(
                _(
                    "override field {field} would loosen the profile: "
                    "{old!r} in {profile}, {new!r} in the override"
                ).format(field=field, old=old, new=new, profile=profile.name),
                code="OVERRIDE_LOOSER",
            )
        if (
            old is None
            and path == ("retest_interval", "minutes")
            and profile.retest_interval is None
        ):
            raise ProfileError(
                _(
                    "override field {field} would loosen the profile: "
                    "{old!r} in {profile}, {new!r} in the override"
                ).format(field=field, old="continuous", new=new, profile=profile.name),
                code="OVERRIDE_LOOSER",
            )
        target = merged
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = new
    merged["name"] = f"{profile.name}+{label}"
    result = _build(merged, merged["name"])
    # A partial override can still loosen through a combination (for example the
    # continuous flag dropped): re-check the derived values as a whole.
    _check_not_looser(profile, result)
    return result


def _check_not_looser(base: Profile, new: Profile) -> None:
    pairs: list[tuple[str, Any, Any, bool]] = [
        (
            "test_max_age",
            base.test_max_age,
            new.test_max_age,
            new.test_max_age <= base.test_max_age,
        ),
        (
            "retest_after_interruption",
            base.retest_after_interruption,
            new.retest_after_interruption,
            new.retest_after_interruption <= base.retest_after_interruption,
        ),
        (
            "permit_validity",
            base.permit_validity,
            new.permit_validity,
            new.permit_validity <= base.permit_validity,
        ),
        (
            "retest_interval",
            base.retest_interval,
            new.retest_interval,
            new.retest_interval is None
            or (base.retest_interval is not None and new.retest_interval <= base.retest_interval),
        ),
    ]
    for field, old, new_value, ok in pairs:
        if not ok:
            raise ProfileError(
                _(
                    "override field {field} would loosen the profile: "
                    "{old!r} in {profile}, {new!r} in the override"
                ).format(field=field, old=str(old), new=str(new_value), profile=base.name),
                code="OVERRIDE_LOOSER",
            )
