"""Gas detectors in the enterprise's register: identity, channels, calibration, bump tests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from permits.readings import Channel

_Id = Annotated[str, Field(min_length=1)]


class BumpTest(BaseModel):
    """A functional check with test gas (冲击测试 / bump test)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: AwareDatetime
    passed: bool
    by: str | None = None
    channels: tuple[Channel, ...] = ()


class Detector(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    serial: _Id
    model: _Id
    vendor: str = ""
    protocol: _Id  # e.g. "gasl", "winsen-uart", "ess", "modbus-gt4" (docs/protocols.md)
    channels: Annotated[tuple[Channel, ...], Field(min_length=1)]
    # The date of the last calibration, kept in the register beside the due date; the
    # rules read the due date (docs/rules.md, Calibration).
    calibrated_on: date | None = None
    calibration_due: date
    bump_tests: tuple[BumpTest, ...] = ()

    @model_validator(mode="after")
    def _calibrated_before_due(self) -> Detector:
        if self.calibrated_on is not None and self.calibrated_on > self.calibration_due:
            raise ValueError("calibration_due is before calibrated_on")
        return self

    def calibration_valid(self, on_date: date) -> bool:
        return self.calibration_due >= on_date

    def last_passed_bump_test(self, before: datetime | None = None) -> datetime | None:
        """The last passed bump test (covering every channel when it lists any), at
        or before ``before``. A failed test is not a bump test."""
        times = [
            b.at
            for b in self.bump_tests
            if b.passed
            and (not b.channels or set(self.channels) <= set(b.channels))
            and (before is None or b.at <= before)
        ]
        return max(times, default=None)

    def for_atmosphere_test(self, entry_at: datetime) -> dict[str, Any]:
        """The ``detector`` object of an atmosphere test input (docs/rules.md)."""
        bump = self.last_passed_bump_test(before=entry_at)
        return {
            "serial": self.serial,
            "calibration_due": self.calibration_due.isoformat(),
            "last_bump_test": None if bump is None else bump.isoformat(),
        }
