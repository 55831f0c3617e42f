"""Sizes and colours for a guardian in the sun, wearing gloves. Kivy-free.

Colours are RGBA in 0..1. The four levels are the only colours a gas value or a
verdict may take; ``UNKNOWN`` (missing, stale, faulty, not yet tested) is grey
and never green, so the screen can never look safe without data behind it.
"""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    SAFE = "safe"
    WARN = "warn"
    ALARM = "alarm"
    UNKNOWN = "unknown"


# High contrast on a bright screen: dark text on saturated fills, white on dark.
LEVEL_COLOURS: dict[Level, tuple[float, float, float, float]] = {
    Level.SAFE: (0.05, 0.55, 0.20, 1.0),  # green, only with fresh, trusted, passing data
    Level.WARN: (0.95, 0.65, 0.00, 1.0),  # amber
    Level.ALARM: (0.85, 0.05, 0.05, 1.0),  # red
    Level.UNKNOWN: (0.45, 0.45, 0.45, 1.0),  # grey: no verdict
}
LEVEL_TEXT_COLOURS: dict[Level, tuple[float, float, float, float]] = {
    Level.SAFE: (1, 1, 1, 1),
    Level.WARN: (0, 0, 0, 1),
    Level.ALARM: (1, 1, 1, 1),
    Level.UNKNOWN: (1, 1, 1, 1),
}

BACKGROUND = (0.98, 0.98, 0.96, 1.0)
TEXT = (0.05, 0.05, 0.05, 1.0)
PRIMARY = (0.05, 0.25, 0.60, 1.0)
PRIMARY_TEXT = (1.0, 1.0, 1.0, 1.0)
SECONDARY = (0.82, 0.84, 0.88, 1.0)
DANGER = LEVEL_COLOURS[Level.ALARM]

# Touch targets in dp. Material's minimum is 48 dp; gloved fingers need more,
# and the actions that matter most (EVACUATE, sign-in) are bigger still.
TOUCH_MIN_DP = 56
PRIMARY_ACTION_DP = 80
EVACUATE_DP = 120
FONT_SP = 22
FONT_LARGE_SP = 30
FONT_GAS_SP = 44
SPACING_DP = 12

FONT_NAME = "CJK"
