"""The pre-entry atmosphere check's reason codes, each with its message and remedy
(English msgids, translated at display time: permits/locale/zh_CN/LC_MESSAGES/
atmosphere.po; docs/rules.md, "The pre-entry test")."""

from __future__ import annotations

from permits.messages import N_, ReasonCode


class AtmosphereCode(ReasonCode):
    O2_LOW = (
        "O2_LOW",
        N_("Oxygen too low at point {point}: {value} {unit}, the minimum is {limit} {unit}"),
        N_("Ventilate the space and re-test point {point}; do not enter"),
    )
    O2_HIGH = (
        "O2_HIGH",
        N_("Oxygen too high at point {point}: {value} {unit}, the maximum is {limit} {unit}"),
        N_("Stop any oxygen source, ventilate with air and re-test point {point}; do not enter"),
    )
    FLAMMABLE_HIGH = (
        "FLAMMABLE_HIGH",
        N_(
            "Flammable gas too high at point {point} ({channel}): {value} {unit}, "
            "the limit is {limit} {unit}"
        ),
        N_("Remove the source, ventilate and re-test point {point}; no ignition sources"),
    )
    TOXIC_HIGH = (
        "TOXIC_HIGH",
        N_(
            "Toxic gas too high at point {point} ({channel}): {value} {unit}, "
            "the limit is {limit} {unit}"
        ),
        N_("Isolate the source, ventilate and re-test point {point}; do not enter"),
    )
    CHANNEL_MISSING = (
        "CHANNEL_MISSING",
        N_("No {channel} reading at point {point}, which this space requires"),
        N_("Measure {channel} at point {point} with a detector that has this channel"),
    )
    SAMPLE_POINT_MISSING = (
        "SAMPLE_POINT_MISSING",
        N_("Sample point {point} was not tested"),
        N_("Test point {point} (top, middle and bottom are each required)"),
    )
    SENSOR_FAULT = (
        "SENSOR_FAULT",
        N_(
            "The detector gives no trusted {channel} value at point {point} "
            "(fault, warm-up or over-range)"
        ),
        N_("Wait for the warm-up to end or replace the detector, then re-test point {point}"),
    )
    CALIBRATION_EXPIRED = (
        "CALIBRATION_EXPIRED",
        N_("The detector's calibration is out of date"),
        N_("Use a detector with a valid calibration, or have this one calibrated"),
    )
    BUMP_TEST_OVERDUE = (
        "BUMP_TEST_OVERDUE",
        N_("The detector has no bump test within {limit} h before entry"),
        N_("Bump-test the detector with test gas, then re-test the atmosphere"),
    )
    TEST_TOO_OLD = (
        "TEST_TOO_OLD",
        N_("The test at point {point} is {value} min old, the maximum is {limit} min"),
        N_("Re-test point {point} just before entry"),
    )
    TEST_AFTER_ENTRY = (
        "TEST_AFTER_ENTRY",
        N_("The test at point {point} was taken after the entry time"),
        N_("Check the detector clock and the entry time; test before anyone enters"),
    )
    LOW_BATTERY = (
        "LOW_BATTERY",
        N_("The detector battery is low ({channel} at point {point})"),
        N_("Charge or replace the detector battery before it stops monitoring"),
    )
