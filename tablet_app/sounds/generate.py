"""Writes the alarm sounds (``python -m tablet_app.sounds.generate``): pure tones made
with numpy, so the app ships no third-party recording (see SOURCE.md).

Each file is one second, 16-bit mono at 44,100 Hz, and loops without a click (whole
cycles, short fades). The patterns differ in pitch and rhythm, so a guardian tells
them apart without looking (docs/tablet.md, The audible alarm).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 44_100  # the rate SDL opens the mixer at: no resampling, no overshoot
HERE = Path(__file__).resolve().parent

# (tone Hz or 0 for silence, seconds) per pattern; the evacuation alternates two
# high tones four times a second, like a site siren; a warning is two short beeps; a
# stale stream is one long low tone.
PATTERNS: dict[str, list[tuple[float, float]]] = {
    "evacuate": [(1000, 0.125), (1500, 0.125)] * 4,
    "warning": [(880, 0.12), (0, 0.08), (880, 0.12), (0, 0.68)],
    "stale": [(440, 0.5), (0, 0.5)],
}
LEVEL = {"evacuate": 0.9, "warning": 0.6, "stale": 0.6}
FADE_S = 0.005


def render(pattern: list[tuple[float, float]], level: float) -> np.ndarray:
    parts = []
    for hz, seconds in pattern:
        n = round(seconds * RATE)
        t = np.arange(n) / RATE
        tone = np.sin(2 * np.pi * hz * t) if hz else np.zeros(n)
        fade = min(int(FADE_S * RATE), n // 2)
        if hz and fade:
            ramp = np.linspace(0.0, 1.0, fade)
            tone[:fade] *= ramp
            tone[-fade:] *= ramp[::-1]
        parts.append(tone)
    samples = np.concatenate(parts) * level
    return (samples * 32767).astype("<i2")


def write(name: str, samples: np.ndarray) -> Path:
    path = HERE / f"{name}.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(samples.tobytes())
    return path


def main() -> None:
    for name, pattern in PATTERNS.items():
        print(write(name, render(pattern, LEVEL[name])))


if __name__ == "__main__":
    main()
