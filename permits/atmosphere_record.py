"""The atmosphere test as an event records it: the document ``cspermit atmosphere
check`` reads (entry_at, space, detector, samples), typed.

This is the record, not the judge. :func:`permits.atmosphere.parse_test` validates a
test strictly (known gases and units, aware datetimes) and the rules refuse what it
refuses with ``ATMOSPHERE_TEST_INVALID`` naming the field; so the record only fixes
the document's shape and keeps every value as it was written:

* scalars are strict (a number stays the number it was, text stays text: no
  coercion that would change a stored event's hash or hide a bad value from the
  judge); times and dates stay the ISO 8601 text the device wrote (a ``datetime``
  or ``date`` given by Python code becomes the text canonical JSON writes for it);
* keys the device left out stay out and an explicit ``null`` stays ``null``;
  unknown keys are kept, for the judge to name.

Its dump (:meth:`~pydantic.BaseModel.model_dump`, whatever the caller's
``exclude_defaults``) is exactly the keys and values it was given, so its canonical
JSON (:mod:`permits.canonical`) is byte for byte that of the dict events carried
before this model existed: every stored chain hashes the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainValidator,
    StrictBool,
    StrictStr,
    model_serializer,
)

from permits.canonical import canonical_datetime

if TYPE_CHECKING:
    from permits.events import DetectorIdentity, SpaceSnapshot

__all__ = [
    "AtmosphereRecord",
    "DetectorRecord",
    "ReadingRecord",
    "SampleRecord",
    "SpaceRecord",
]


def _number(value: Any) -> int | float:
    # An int stays an int and a float a float, as canonical JSON writes them; text
    # and bool are not numbers (no coercion that would hide a bad value from the judge).
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("a number")
    return int(value) if isinstance(value, int) else float(value)


def _iso(value: Any) -> Any:
    # A datetime or date from Python code is kept as canonical JSON writes it.
    if isinstance(value, datetime):
        return canonical_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


_Number = Annotated[int | float, PlainValidator(_number)]
_Iso = Annotated[StrictStr, BeforeValidator(_iso)]  # ISO 8601 text as written


class _Recorded(BaseModel):
    model_config = ConfigDict(frozen=True, extra="allow")

    @model_serializer(mode="plain")
    def _as_recorded(self) -> dict[str, Any]:
        # The keys given, no more: a default never appears, an explicit None stays.
        out = {
            name: getattr(self, name)
            for name in type(self).model_fields
            if name in self.model_fields_set
        }
        out.update(self.__pydantic_extra__ or {})
        return out


class ReadingRecord(_Recorded):
    channel: StrictStr
    value: _Number
    unit: StrictStr
    gas: StrictStr | None = None
    lel_vol: _Number | None = None
    status: tuple[StrictStr, ...] = ()


class SampleRecord(_Recorded):
    point: StrictStr
    taken_at: _Iso
    status: tuple[StrictStr, ...] = ()
    readings: tuple[ReadingRecord, ...]


class SpaceRecord(_Recorded):
    id: StrictStr
    required_channels: tuple[StrictStr, ...]
    sample_points: tuple[StrictStr, ...]
    oxygen_enriched: StrictBool = False

    @classmethod
    def of(cls, space: SpaceSnapshot) -> SpaceRecord:
        """The ``space`` object of a test for a drafted space snapshot."""
        return cls(
            id=space.space_id,
            required_channels=space.required_channels,
            sample_points=space.sample_points,
            oxygen_enriched=space.oxygen_enriched,
        )


class DetectorRecord(_Recorded):
    serial: StrictStr
    calibration_due: _Iso | None = None
    last_bump_test: _Iso | None = None

    @classmethod
    def of(cls, detector: DetectorIdentity) -> DetectorRecord:
        return cls(
            serial=detector.serial,
            calibration_due=detector.calibration_due,
            last_bump_test=detector.last_bump_test,
        )


class AtmosphereRecord(_Recorded):
    # The device's copies of the entry instant and the space: the rules judge a test
    # at its recording time against the drafted space (permits.state.test_input).
    entry_at: _Iso | None = None
    space: SpaceRecord | None = None
    detector: DetectorRecord
    samples: tuple[SampleRecord, ...]

    @classmethod
    def of(
        cls,
        *,
        entry_at: datetime,
        space: SpaceSnapshot,
        detector: DetectorIdentity,
        samples: Iterable[SampleRecord | Mapping[str, Any]],
    ) -> AtmosphereRecord:
        """The record of a test taken with ``detector`` in ``space`` for entry at
        ``entry_at`` (what the tablet and the demos record)."""
        return cls(
            entry_at=entry_at,
            space=SpaceRecord.of(space),
            detector=DetectorRecord.of(detector),
            samples=tuple(
                s if isinstance(s, SampleRecord) else SampleRecord.model_validate(s)
                for s in samples
            ),
        )
